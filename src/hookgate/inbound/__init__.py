"""Receiving webhooks through the server: ``handle_request.handle`` owns the
order of checks on ``/in/{source}``; ``checks`` (before the body is read),
``request`` (the request as received and stored), ``config`` (source
configuration), ``network`` (client addresses), ``recorder`` (group-committed
storage with the forward) and ``forward``. Verification and the verdict are
``core.verify.decide``, shared with the ``hookgate.receive`` toolkit."""
