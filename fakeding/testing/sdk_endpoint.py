"""Point the official Python SDK (``dingtalk_stream``) at a fake, before or after its import.

The SDK reads ``DINGTALK_OPENAPI_ENDPOINT`` once, at import, into module constants
(``dingtalk_stream.utils.DINGTALK_OPENAPI_ENDPOINT``, copies of it in the modules that did
``from .utils import ...``, and ``DingTalkStreamClient.OPEN_CONNECTION_API``). Setting the
variable covers an SDK imported later; rebinding those constants covers one imported already
(a test module importing ``dingtalk_stream`` at its top is collected before any fixture
runs). ``undo()`` puts everything back as it was.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

ENV = "DINGTALK_OPENAPI_ENDPOINT"
_GATEWAY = "/v1.0/gateway/connections/open"


@dataclass
class EndpointPatch:
    previous_env: str | None
    rebound: list[tuple[Any, str, Any]] = field(default_factory=list)  # (owner, attr, old value)

    def undo(self, *, sdk: bool = True) -> None:
        """Put the variable back; with ``sdk`` the SDK's constants too. A test session passes
        ``sdk=False``: an SDK client a test left running on a daemon thread then keeps failing
        against the stopped fake on loopback instead of reaching the real DingTalk."""
        if sdk:
            for owner, attr, old in reversed(self.rebound):
                setattr(owner, attr, old)
        self.rebound.clear()
        if self.previous_env is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = self.previous_env


def point_sdk_at(endpoint: str) -> EndpointPatch:
    """Make every SDK OpenAPI call (gateway, token, cards, files) go to ``endpoint``."""
    patch = EndpointPatch(os.environ.get(ENV))
    os.environ[ENV] = endpoint
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "dingtalk_stream" or name.startswith("dingtalk_stream.")):
            continue
        if isinstance(getattr(module, ENV, None), str):
            patch.rebound.append((module, ENV, getattr(module, ENV)))
            setattr(module, ENV, endpoint)
        client = getattr(module, "DingTalkStreamClient", None)
        if client is not None and isinstance(getattr(client, "OPEN_CONNECTION_API", None), str):
            patch.rebound.append((client, "OPEN_CONNECTION_API", client.OPEN_CONNECTION_API))
            client.OPEN_CONNECTION_API = endpoint + _GATEWAY
    return patch
