"""The aiohttp edges: the DingTalk HTTP routes, the control API, the live view, the Stream
websocket pump and the callbacks' HTTP client. They parse, call the core, and answer."""
