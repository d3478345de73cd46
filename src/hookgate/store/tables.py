"""The schema, as SQLAlchemy Core tables shared by SQLite and PostgreSQL.

Conventions: ids are prefixed, time-sortable strings (``core.ids``); every
timestamp is an integer of milliseconds since the Unix epoch (``*_at`` columns),
which compares the same way on both databases; payloads are raw bytes.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# Named constraints, so that later migrations can alter them on both databases.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(64)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", ID, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

applications = Table(
    "applications",
    metadata,
    Column("id", ID, primary_key=True),
    Column("uid", String(256), nullable=True, unique=True),
    Column("name", Text, nullable=False),
    Column("throttle_rate", Integer, nullable=True),
    Column("metadata", JSON, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

event_types = Table(
    "event_types",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("description", Text, nullable=False),
    Column("archived", Boolean, nullable=False, default=False),
    Column("deprecated", Boolean, nullable=False, default=False),
    Column("schemas", JSON, nullable=True),
    Column("feature_flag", String(256), nullable=True),
    Column("group_name", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

endpoints = Table(
    "endpoints",
    metadata,
    Column("id", ID, primary_key=True),
    Column("app_id", ID, ForeignKey("applications.id", ondelete="CASCADE"), nullable=False),
    Column("uid", String(256), nullable=True),
    Column("url", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("throttle_rate", Integer, nullable=True),
    Column("disabled", Boolean, nullable=False),
    Column("event_types", JSON, nullable=True),
    Column("channels", JSON, nullable=True),
    Column("metadata", JSON, nullable=False),
    Column("headers", JSON, nullable=False),
    # [{"sealed": <"whsec_..." sealed with the operator's key>, "expires_at":
    # ms | null}, ...], newest first (``store.rows.sealed_secrets``).
    Column("secrets", JSON, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # Start of the first failed attempt since the last successful one; NULL
    # while the last attempt succeeded. Drives the automatic disabling
    # (``core.endpoint_health``).
    Column("failing_since", BigInteger, nullable=True),
    UniqueConstraint("app_id", "uid", name="uq_endpoints_app_uid"),
    Index("ix_endpoints_app", "app_id", "id"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", ID, primary_key=True),
    Column("app_id", ID, ForeignKey("applications.id", ondelete="CASCADE"), nullable=False),
    Column("event_type", String(256), nullable=False),
    Column("event_id", String(256), nullable=True),
    Column("channels", JSON, nullable=True),
    Column("tags", JSON, nullable=True),
    # The exact bytes we sign and send; NULL once expunged.
    Column("payload", LargeBinary, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    # Forwarded inbound requests only: the [[name, value], ...] headers to send.
    Column("headers", JSON, nullable=True),
    # When the payload is due to be expunged (``payloadRetentionPeriod``);
    # NULL once it is (see ``store.retention``).
    Column("payload_expires_at", BigInteger, nullable=True),
    Index("ix_messages_app", "app_id", "id"),
    Index("ix_messages_payload_expires", "payload_expires_at"),
)

# eventId uniqueness (per application, for a day) lives in its own table so
# that the check is one primary-key probe and holds across API processes.
message_event_ids = Table(
    "message_event_ids",
    metadata,
    Column("app_id", ID, primary_key=True),
    Column("event_id", String(256), primary_key=True),
    Column("msg_id", ID, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", Text, primary_key=True),
    Column("status_code", Integer, nullable=False),
    # Stored response body; NULL for message creation, which replays the message.
    Column("body", LargeBinary, nullable=True),
    Column("msg_id", ID, nullable=True),
    Column("created_at", BigInteger, nullable=False),
)

# One row per (message, endpoint): the unit the dispatcher claims and retries.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", ID, primary_key=True),
    Column("msg_id", ID, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("app_id", ID, nullable=False),
    Column("endpoint_id", ID, ForeignKey("endpoints.id", ondelete="CASCADE"), nullable=False),
    # MessageStatus: 0 success, 1 pending, 2 fail. "Sending" is pending + leased.
    Column("status", SmallInteger, nullable=False),
    Column("attempt_count", Integer, nullable=False, default=0),
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("lease_until", BigInteger, nullable=False, default=0),
    Column("trigger_type", SmallInteger, nullable=False, default=0),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # Claiming hops endpoint by endpoint along this index (see store.claim).
    Index("ix_deliveries_pending", "status", "endpoint_id", "next_attempt_at"),
    Index("ix_deliveries_leased", "status", "lease_until"),
    Index("ix_deliveries_endpoint", "endpoint_id", "id"),
    Index("ix_deliveries_msg", "msg_id"),
)

# The shared send budget of throttled endpoints (``core.throttle``): when the
# next send slot is free, and until when an endpoint is paused. Rows exist
# only for endpoints that have been throttled or paused; claims read them and
# advance ``next_send_at`` (serialised, see store.claim).
endpoint_throttles = Table(
    "endpoint_throttles",
    metadata,
    Column(
        "endpoint_id",
        ID,
        ForeignKey("endpoints.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("next_send_at", BigInteger, nullable=False),
    # Claims skip the endpoint until then (epoch ms): it asked to slow down or
    # kept failing (see delivery.dispatcher). NULL: never paused.
    Column("paused_until", BigInteger, nullable=True),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("msg_id", ID, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("endpoint_id", ID, ForeignKey("endpoints.id", ondelete="CASCADE"), nullable=False),
    Column("app_id", ID, nullable=False),
    Column("delivery_id", ID, nullable=False),
    Column("url", Text, nullable=False),
    Column("status", SmallInteger, nullable=False),
    Column("response_status_code", Integer, nullable=False),
    # Response body, truncated to the configured cap; NULL once expunged.
    Column("response", LargeBinary, nullable=True),
    # The response's headers as received (``core.outcome.header_block``);
    # NULL once expunged, and for attempts made before migration 0012.
    Column("response_headers", LargeBinary, nullable=True),
    Column("response_duration_ms", Integer, nullable=False),
    Column("trigger_type", SmallInteger, nullable=False),
    Column("error_kind", String(64), nullable=True),
    Column("error_message", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_attempts_msg", "msg_id", "id"),
    Index("ix_attempts_endpoint", "endpoint_id", "id"),
)

# -- receiving webhooks --------------------------------------------------------

# A source is one inbound URL (``/in/{token}``; its id and uid work too) with
# its verification scheme. ``type`` is the Svix Ingest source type as the
# client sent it ("github", "clerk", "generic-webhook", ...); ``scheme`` the
# name of the ``core.verify.PRESETS`` scheme it resolves to, or "none" (no
# verification); ``config`` the normalized options (see inbound.config),
# with the secrets sealed (``store.sources.sealed_config``).
sources = Table(
    "sources",
    metadata,
    Column("id", ID, primary_key=True),
    Column("uid", String(256), nullable=True, unique=True),
    Column("name", Text, nullable=False),
    Column("type", String(64), nullable=False),
    Column("scheme", String(64), nullable=False),
    Column("config", JSON, nullable=False),
    Column("metadata", JSON, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # The internal application whose endpoints are the source's destinations
    # (created with the first destination).
    Column("app_id", ID, nullable=True),
    # The unguessable part of the ingest URL (``/in/{token}``) is a
    # credential: it is found by its SHA-256 digest and kept only sealed with
    # the operator's key (the API shows the ingest URL). After a rotation the
    # previous token (its digest) keeps working until
    # ``previous_token_expires_at``. Uniqueness is a unique index (not a
    # constraint) so that migrations can add and drop these columns on SQLite
    # without rebuilding the table (see 0004 and 0008).
    Column("token_hash", String(64), nullable=False),
    Column("sealed_token", Text, nullable=False),
    Column("previous_token_hash", String(64), nullable=True),
    Column("previous_token_expires_at", BigInteger, nullable=True),
    Index("ix_sources_token_hash", "token_hash", unique=True),
    Index("ix_sources_previous_token_hash", "previous_token_hash"),
)

# Every request received for a known source, accepted or not, byte for byte.
inbound_requests = Table(
    "inbound_requests",
    metadata,
    Column("id", ID, primary_key=True),
    Column("source_id", ID, ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    Column("received_at", BigInteger, nullable=False),
    Column("method", String(16), nullable=False),
    Column("path", Text, nullable=False),
    Column("query", Text, nullable=False),
    # [[name, value], ...] in the order received.
    Column("headers", JSON, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("source_ip", String(64), nullable=True),
    Column("verified", Boolean, nullable=False),
    # Why the request was refused (or marked a duplicate); NULL if accepted.
    Column("rejection", Text, nullable=True),
    Column("event_id", String(256), nullable=True),
    Column("event_type", String(256), nullable=True),
    # accepted | rejected | duplicate (``inbound_requests.RequestStatus``).
    Column("status", String(16), nullable=False, server_default="accepted"),
    # The message that forwarded the request when it was stored; NULL if
    # none did (refused, duplicate, no destinations, or stored before 0011).
    Column("message_id", ID, nullable=True),
    # The request listing: newest first, by time, by event id; retention.
    Index("ix_inbound_requests_source", "source_id", "id"),
    Index("ix_inbound_requests_source_received", "source_id", "received_at"),
    Index("ix_inbound_requests_source_event", "source_id", "event_id", "id"),
    Index("ix_inbound_requests_received", "received_at"),
    Index("ix_inbound_requests_source_status", "source_id", "status", "id"),
)

# The verified event ids seen per source, for the dedupe window: one
# primary-key probe per request, valid across API processes. An entry blocks
# repeats of its event id until ``expires_at`` (``created_at`` plus the
# source's window when it was written), then may be taken over or purged.
# ``request_id`` names the request that claimed the event id; it is no
# foreign key: purging old requests leaves the entry (and the dedupe) intact.
inbound_dedupe = Table(
    "inbound_dedupe",
    metadata,
    Column("source_id", ID, primary_key=True),
    Column("event_id", String(256), primary_key=True),
    Column("request_id", ID, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index("ix_inbound_dedupe_expires", "expires_at"),
)

#: Consumer-portal access tokens (``POST /api/v1/auth/app-portal-access``),
#: stored as SHA-256 hashes; each is scoped to one application.
portal_tokens = Table(
    "portal_tokens",
    metadata,
    Column("id", ID, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("app_id", ID, ForeignKey("applications.id", ondelete="CASCADE"), nullable=False),
    # The SDK's ``sessionId``: ``expire-all`` may expire only these.
    Column("session_id", Text, nullable=True),
    # Capability names (``core.portal.Capability``) granted.
    Column("capabilities", JSON, nullable=False),
    Column("read_only", Boolean, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index("ix_portal_tokens_app", "app_id"),
)

#: Browser sessions of the dashboard (an operator logged in with an API
#: token) and of the consumer portal (a portal token exchanged for a cookie).
#: The cookie holds a secret whose SHA-256 is ``secret_hash``.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("secret_hash", String(64), nullable=False, unique=True),
    # Operator sessions: the SHA-256 of the API token logged in with; the
    # session lasts only while that token is still valid.
    Column("token_hash", String(64), nullable=True),
    # Portal sessions: the portal token exchanged; the session lasts only
    # while it is valid (``expire-all`` and logout end both).
    Column(
        "portal_token_id",
        ID,
        ForeignKey("portal_tokens.id", ondelete="CASCADE"),
        nullable=True,
    ),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index("ix_web_sessions_portal_token", "portal_token_id"),
)

#: Server-kept offsets of polling-endpoint consumers (``store.poller``): the
#: position (a message-id boundary) each named consumer of a polling
#: endpoint has read up to.
poller_consumers = Table(
    "poller_consumers",
    metadata,
    Column(
        "endpoint_id",
        ID,
        ForeignKey("endpoints.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("consumer_id", String(256), primary_key=True),
    Column("position", ID, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

#: What a ``hookgate listen`` client's local server answered to a forwarded
#: request (``store.request_stream``): one row per request, the latest report.
local_responses = Table(
    "local_responses",
    metadata,
    Column(
        "request_id",
        ID,
        ForeignKey("inbound_requests.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("status", Integer, nullable=True),
    Column("headers", JSON, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("latency_ms", Integer, nullable=False),
    Column("error", Text, nullable=True),
    Column("forwarded_to", Text, nullable=False),
    Column("reported_at", BigInteger, nullable=False),
)
