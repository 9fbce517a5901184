"""The REST API: the operator's commands over HTTP, served by the daemon (an ASGI app)."""
