"""The Meta element ``imRobots.Meta``: what every IM robot Type must offer.

A Type (DingTalk Stream today; Feishu or WeCom tomorrow) subclasses ``ImRobot`` and is built
from an instance folder by ``from_instance``. Lifecycle is the client manager's contract:
``start`` (a warning if already running), ``stop`` (returns within 5 s), ``is_running``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class ImRobot(ABC):
    @classmethod
    @abstractmethod
    def from_instance(
        cls, instance_dir: Path, *, env: Mapping[str, str] | None = None, **overrides: Any
    ) -> ImRobot:
        """Build the robot from an instance folder (``e.json`` + ``config.json``)."""

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def stop(self, timeout: float = 5.0) -> None: ...

    @property
    @abstractmethod
    def is_running(self) -> bool: ...
