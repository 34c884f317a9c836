"""The ASGI edge: the GraphQL app with its error codes, health probes, and websocket admission."""
