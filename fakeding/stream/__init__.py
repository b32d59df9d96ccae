"""The Stream side of the platform: frames (pure, ``protocol``) and the websocket pump (``server``)."""
