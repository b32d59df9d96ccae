"""Name a ``wait_until`` predicate for its timeout message: its source when it is a lambda
written on one line, else its qualified name."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

_LAMBDA = re.compile(r"lambda[^:]*:")


def describe_predicate(predicate: Callable[..., Any]) -> str:
    name = getattr(predicate, "__qualname__", None) or type(predicate).__name__
    if name.endswith("<lambda>"):
        try:
            line = inspect.getsource(predicate).strip()
        except (OSError, TypeError):
            return "a lambda (source unavailable)"
        match = _LAMBDA.search(line)
        if match is not None:
            return _balanced(line[match.start() :])
        return line
    return f"{name}()"


def _balanced(text: str) -> str:
    """``lambda: f(x)`` cut where the call enclosing it closes (``wait_until(lambda: x, ...)``
    gives ``lambda: x``)."""
    depth = 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                return text[:i].strip()
            depth -= 1
        elif ch == "," and depth == 0:
            return text[:i].strip()
    return text.strip()
