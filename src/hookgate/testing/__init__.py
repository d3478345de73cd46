"""An in-memory store that keeps the store contract, for tests.

``InMemoryStore`` keeps every Protocol of ``store.contract`` in dictionaries,
following the SQL store's rules; the same behaviour suites run on it, on
SQLite and on PostgreSQL, so it cannot drift from the real store.
``InMemoryDeliveryQueue`` is its delivery-queue part alone.

The delivery queue (``store.queue.SqlDeliveryQueue``,
``tests/integration/test_store_queue.py``, ``test_store_claim.py``):

- a delivery is due when it is pending, ``next_attempt_at <= now`` and
  ``lease_until < now``;
- a claim leases at most ``endpoint_cap`` deliveries per endpoint (counting
  leases still running), endpoints taking turns in id order, each endpoint's
  oldest first; deliveries to a disabled endpoint or of an expunged message
  are failed instead of returned;
- results for deliveries that do not exist are dropped, results for
  deliveries no longer pending log their attempt and change nothing else,
  and endpoints are disabled on a 410 or after failing for
  ``disable_after_ms`` (``core.endpoint_health``);
- leases are renewed and released only while the delivery is pending;
- an endpoint with a ``throttleRate`` (its own, else its application's, set
  with ``set_app_throttle``) gets only the deliveries it has send slots for
  within ``throttle_horizon_ms``, each job carrying its slot in
  ``not_before``; a result's ``pause_endpoint_until`` keeps claims off its
  endpoint until then (``store.throttle``).

Message accept (``store.accept_messages``, ``test_store_accept_messages.py``):
applications found by id, else uid, or created on send; idempotency keys
replayed, event ids conflicting within 24 h, per application; fan-out to the
enabled endpoints whose event-type and channel filters accept the message.

Inbound requests (``store.inbound_requests``, ``test_inbound_recorder.py``,
``test_store_inbound_search.py``): claims on the event id or dedupe key per
source for the request's window, repeats stored as duplicates of the holder,
the forwarded messages accepted as above; search, get and purges.

``accept_batch`` and ``record_batch`` are all or nothing, like the SQL
transactions: a failure puts every table back (``refuse_event_type`` makes a
batch fail as a database trigger would).

Seed it with ``add_application``, ``add_endpoint``, ``add_source``,
``add_message`` and ``add_delivery`` (or ``enqueue`` a ``Job``), change it the
way management would (``disable_endpoint``, ``delete_endpoint``,
``expunge_message``) and read its state from its tables (``deliveries``,
``attempts``, ``stored_messages``, ``requests``, ...).
"""

from hookgate.testing.queue import InMemoryDeliveryQueue, StoredDelivery, StoredMessage
from hookgate.testing.store import DedupeClaim, InMemoryStore

__all__ = [
    "DedupeClaim",
    "InMemoryDeliveryQueue",
    "InMemoryStore",
    "StoredDelivery",
    "StoredMessage",
]
