"""Web-framework adapters for ``Receiver``; each reads the *raw* body.

Import the one you need (``hookgate.receive.adapters.starlette``, ``.flask``,
``.django``); Flask and Django are imported lazily, only when a request runs.
"""
