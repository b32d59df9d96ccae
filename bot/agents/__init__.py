"""Agents answer the users' questions; ``build_agent`` makes one from the robot's settings.

Accepted specs (a name, or a dict with ``"name"`` and options):

- ``"faq"`` — answers from ``faq.md`` in ``base_dir``; options ``faq`` (file, relative to
  ``base_dir``), ``delay``, ``words_per_chunk``, ``min_score``.
- ``"openai"`` — an OpenAI-compatible API; options ``base_url`` and ``model`` (required),
  ``api_key`` or ``api_key_env`` (the environment variable holding the key, default
  ``OPENAI_API_KEY``; with neither set the request has no key), ``system_prompt``,
  ``timeout``, ``temperature`` and ``faq`` (a FAQ file, or true for ``faq.md``, used as
  grounding).
- ``"scripted"`` — plays ``turns`` (see ``bot.agents.scripted``), for tests and scenarios.
- anything with a dot or colon — a custom agent's import path (see ``bot.agents.custom``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bot.agents.base import Agent, Chunk, OnChunk, Turn, chunk
from bot.agents.custom import load_custom
from bot.agents.faq import FaqAgent
from bot.agents.openai_compat import OpenAICompatAgent
from bot.agents.scripted import ScriptedAgent
from bot.errors import ConfigError

__all__ = [
    "AGENT_NAMES",
    "Agent",
    "Chunk",
    "FaqAgent",
    "OnChunk",
    "OpenAICompatAgent",
    "ScriptedAgent",
    "Turn",
    "build_agent",
    "chunk",
    "load_custom",
]

AGENT_NAMES = ("faq", "openai", "scripted")
DEFAULT_FAQ = "faq.md"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"

_OPTIONS = {
    "faq": {"faq", "delay", "words_per_chunk", "min_score"},
    "openai": {
        "base_url",
        "model",
        "api_key",
        "api_key_env",
        "system_prompt",
        "timeout",
        "temperature",
        "faq",
    },
    "scripted": {"turns"},
}


def _typed(name: str, options: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = options[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        wanted = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ConfigError(
            f"agent {name!r}: option {key!r} must be {wanted}, found {type(value).__name__} {value!r}"
        )
    return value


def _faq(options: Mapping[str, Any], name: str, base_dir: Path, locale: str) -> FaqAgent:
    file = options.get("faq", DEFAULT_FAQ)
    if file is True:
        file = DEFAULT_FAQ
    if not isinstance(file, str) or not file:
        raise ConfigError(f"agent {name!r}: option 'faq' must be a file name, found {file!r}")
    kwargs: dict[str, Any] = {}
    if name == "faq":
        for key, kind in (
            ("delay", (int, float)),
            ("words_per_chunk", int),
            ("min_score", (int, float)),
        ):
            if key in options:
                kwargs[key] = _typed(name, options, key, kind)
    return FaqAgent(base_dir / file, locale=locale, **kwargs)


def _openai(
    options: Mapping[str, Any], base_dir: Path, locale: str, env: Mapping[str, str]
) -> OpenAICompatAgent:
    for field in ("base_url", "model"):
        if not options.get(field):
            raise ConfigError(
                f"agent 'openai': option {field!r} is missing; set it, e.g. "
                + ("base_url: https://api.openai.com/v1" if field == "base_url" else "model: gpt-4o-mini")
            )
    if "api_key" in options:
        api_key: str | None = _typed("openai", options, "api_key", str)
    else:
        variable = options.get("api_key_env", DEFAULT_KEY_ENV)
        api_key = env.get(variable) or None
        if api_key is None and "api_key_env" in options:
            raise ConfigError(
                f"agent 'openai': environment variable {variable!r} (from api_key_env) is not "
                "set or empty; export the API key in it"
            )
    kwargs: dict[str, Any] = {}
    for key, kind in (
        ("system_prompt", str),
        ("timeout", (int, float)),
        ("temperature", (int, float)),
    ):
        if key in options:
            kwargs[key] = _typed("openai", options, key, kind)
    faq = _faq(options, "openai", base_dir, locale) if options.get("faq") else None
    return OpenAICompatAgent(
        base_url=_typed("openai", options, "base_url", str),
        model=_typed("openai", options, "model", str),
        api_key=api_key,
        faq=faq,
        **kwargs,
    )


def build_agent(
    spec: str | Mapping[str, Any],
    *,
    base_dir: Path,
    locale: str = "en",
    env: Mapping[str, str] | None = None,
) -> Agent:
    """The agent described by ``spec`` (see the module docstring)."""
    options: Mapping[str, Any] = {"name": spec} if isinstance(spec, str) else spec
    if not isinstance(options, Mapping):
        raise ConfigError(f"agent spec must be a name or a mapping with 'name', found {type(spec).__name__}")
    name = options.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"agent spec needs a 'name' string, found {name!r}")
    rest = {k: v for k, v in options.items() if k != "name"}
    if "." in name or ":" in name:
        if rest:
            raise ConfigError(f"custom agent {name!r} takes no options, found {', '.join(sorted(rest))}")
        return load_custom(name)
    if name not in _OPTIONS:
        raise ConfigError(
            f"unknown agent {name!r}: expected one of {', '.join(AGENT_NAMES)}, or a custom "
            "agent's import path like 'package.module:function'"
        )
    unknown = sorted(set(rest) - _OPTIONS[name])
    if unknown:
        raise ConfigError(
            f"agent {name!r}: unknown option(s) {', '.join(unknown)}; expected "
            f"{', '.join(sorted(_OPTIONS[name]))}"
        )
    builders: dict[str, Callable[[], Agent]] = {
        "faq": lambda: _faq(rest, "faq", base_dir, locale),
        "openai": lambda: _openai(rest, base_dir, locale, os.environ if env is None else env),
        "scripted": lambda: ScriptedAgent(rest.get("turns", [])),
    }
    try:
        return builders[name]()
    except ValueError as exc:
        raise ConfigError(f"agent {name!r}: {exc}") from None
