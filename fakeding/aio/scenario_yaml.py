"""A session's scenario (``fakeding.core.export``, a dict) written as a YAML file's text: the
emulator's "Save as scenario" and ``fakeding record`` save it. YAML stays at the edge, so the
core needs no PyYAML."""

from __future__ import annotations

from typing import Any

from fakeding.core.exceptions import ConfigError


def to_yaml(scenario: dict[str, Any]) -> str:
    try:
        import yaml
    except ImportError:
        raise ConfigError("saving a scenario needs PyYAML: pip install 'fakeding[scenarios]'") from None
    return yaml.safe_dump(scenario, allow_unicode=True, sort_keys=False, width=100)
