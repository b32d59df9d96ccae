"""Loads a user's own agent from an import path, so the robot can answer with any code.

``load_custom("pkg.module:attr")`` (or ``"pkg.module.attr"``) accepts:

- an async generator function ``(question, *, chat_id, history)`` yielding str pieces;
- an async function ``(question, *, chat_id, history, on_chunk) -> str`` that streams
  itself (an async function without ``on_chunk`` returning str is streamed as one chunk);
- a plain function ``(question, *, chat_id, history) -> str``, streamed as one chunk. It
  runs on the event loop thread, so it must be quick: write slow or blocking work as async;
- an object with an async ``answer`` method (the Agent protocol), or a class of such
  objects, instantiated with no arguments.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, cast

from bot.agents.base import Agent, Chunk, OnChunk, Turn, chunk
from bot.errors import AgentError, ConfigError

ACCEPTED = (
    "accepted forms: an async generator function (question, *, chat_id, history) yielding "
    "str; an async function (question, *, chat_id, history, on_chunk) -> str; a function "
    "(question, *, chat_id, history) -> str; or an object or no-argument class with an "
    "async answer(question, *, chat_id, history, on_chunk) method"
)


PATH_FORMS = "expected 'package.module:attribute' or 'package.module.attribute'"


def _resolve(path: str) -> object:
    if ":" in path:
        module_name, _, attr_path = path.partition(":")
    else:
        module_name, _, attr_path = path.rpartition(".")
    if not module_name or not attr_path or ":" in attr_path:
        raise ConfigError(
            f"custom agent path {path!r} is not 'package.module:attribute' or "
            "'package.module.attribute'; write the module, then the function or class name"
        )
    try:
        target: object = importlib.import_module(module_name)
    except Exception as exc:  # a plug-in may fail to import in any way; report it as config
        raise ConfigError(
            f"custom agent {path!r}: could not import module {module_name!r} "
            f"({type(exc).__name__}: {exc}); {PATH_FORMS} naming an importable module"
        ) from None
    for attr in attr_path.split("."):
        try:
            target = getattr(target, attr)
        except AttributeError:
            which = f" ({attr!r} is missing)" if attr != attr_path else ""
            raise ConfigError(
                f"custom agent {path!r}: module {module_name!r} has no attribute "
                f"{attr_path!r}{which}; {PATH_FORMS} naming an existing attribute"
            ) from None
    return target


def _binds(function: Callable[..., object], *, streaming: bool) -> bool:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return False
    kwargs: dict[str, object] = {"chat_id": "", "history": []}
    if streaming:
        kwargs["on_chunk"] = None
    try:
        signature.bind("", **kwargs)
    except TypeError:
        return False
    return True


def _describe(target: object) -> str:
    """Type and parameters of a target, e.g. ``function with signature (text)``."""
    if inspect.isclass(target):
        return f"class {target.__qualname__} without an async answer method"
    if callable(target):
        try:
            signature = inspect.signature(target)
        except (TypeError, ValueError):
            return type(target).__name__
        bare = signature.replace(
            parameters=[p.replace(annotation=inspect.Parameter.empty) for p in signature.parameters.values()],
            return_annotation=inspect.Signature.empty,
        )
        return f"{type(target).__name__} with signature {bare}"
    return type(target).__name__


def _unsupported(path: str, target: object) -> ConfigError:
    return ConfigError(
        f"custom agent {path!r}: found {_describe(target)}, which is not supported; {ACCEPTED}"
    )


class _GeneratorAgent:
    def __init__(self, name: str, function: Callable[..., AsyncIterator[object]]) -> None:
        self.name = name
        self._function = function

    async def answer(self, question: str, *, chat_id: str, history: Sequence[Turn], on_chunk: OnChunk) -> str:
        parts: list[str] = []
        async for piece in self._function(question, chat_id=chat_id, history=history):
            if not isinstance(piece, str):
                raise AgentError(f"custom agent {self.name!r} yielded {type(piece).__name__}, expected str")
            if piece:
                parts.append(piece)
                await on_chunk(chunk(piece))
        return "".join(parts)


class _FunctionAgent:
    def __init__(self, name: str, function: Callable[..., object], *, streams: bool) -> None:
        self.name = name
        self._function = function
        self._streams = streams
        self._async = inspect.iscoroutinefunction(function)

    async def answer(self, question: str, *, chat_id: str, history: Sequence[Turn], on_chunk: OnChunk) -> str:
        streamed = 0

        async def counting(item: Chunk) -> None:
            nonlocal streamed
            streamed += 1
            await on_chunk(item)

        kwargs: dict[str, Any] = {"chat_id": chat_id, "history": history}
        if self._streams:
            kwargs["on_chunk"] = counting
        result = self._function(question, **kwargs)
        if self._async:
            result = await cast(Awaitable[object], result)
        if not isinstance(result, str):
            raise AgentError(f"custom agent {self.name!r} returned {type(result).__name__}, expected str")
        if not streamed and result:
            # Functions that do not stream (or ignore on_chunk) show their answer as one chunk.
            await on_chunk(chunk(result))
        return result


class _NamedAgent:
    """Gives a name to an agent object that has none."""

    def __init__(self, name: str, inner: Any) -> None:
        self.name = name
        self._inner = inner

    async def answer(self, question: str, *, chat_id: str, history: Sequence[Turn], on_chunk: OnChunk) -> str:
        result = await self._inner.answer(question, chat_id=chat_id, history=history, on_chunk=on_chunk)
        return cast(str, result)


def load_custom(path: str) -> Agent:
    """The agent named by ``path``; ConfigError says what was found and what is accepted."""
    target = _resolve(path)
    if inspect.isclass(target):
        if not inspect.iscoroutinefunction(getattr(target, "answer", None)):
            raise _unsupported(path, target)
        try:
            target = target()
        except Exception as exc:
            raise ConfigError(
                f"custom agent {path!r}: class could not be instantiated with no arguments "
                f"({type(exc).__name__}: {exc}); {ACCEPTED}"
            ) from None
    if inspect.isasyncgenfunction(target):
        if not _binds(target, streaming=False):
            raise _unsupported(path, target)
        return _GeneratorAgent(path, target)
    if inspect.iscoroutinefunction(target):
        if _binds(target, streaming=True):
            return _FunctionAgent(path, target, streams=True)
        if _binds(target, streaming=False):
            return _FunctionAgent(path, target, streams=False)
        raise _unsupported(path, target)
    if inspect.iscoroutinefunction(getattr(target, "answer", None)):
        if isinstance(getattr(target, "name", None), str):
            return cast(Agent, target)
        return _NamedAgent(path, target)
    if callable(target) and not inspect.ismodule(target):
        if not _binds(target, streaming=False):
            raise _unsupported(path, target)
        return _FunctionAgent(path, target, streams=False)
    raise _unsupported(path, target)
