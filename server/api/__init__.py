"""The client API: REST + WebSocket push, its schemas, and its OpenAPI document."""
