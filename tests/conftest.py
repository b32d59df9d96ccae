from __future__ import annotations

import logging

# The SDK logs every frame at INFO; keep test output readable.
logging.getLogger("dingtalk_stream").setLevel(logging.WARNING)
