"""The Stream side of the platform: frames (``protocol``), delivery rules (``engine``, sans-I/O)
and the aiohttp websocket pump (``ws``)."""
