"""The platform core: DingTalk's state and rules, pure (no aiohttp, YAML, pytest, syrupy,
jsonschema or websockets; `lint-imports` holds it). Clock and randomness come in from the caller."""
