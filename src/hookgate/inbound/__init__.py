"""Receiving webhooks through the server: source configuration
(``config``), client addresses (``network``) and the accept path of
``/in/{source}`` (``accept``)."""
