"""The platform's HTTP APIs: gateway, OpenAPI, session webhooks and file downloads."""
