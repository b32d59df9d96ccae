"""The card platform's attribute expressions (``@triple{@data{data.cardData.x},'a','b'}``).

Why: every attribute of a template's ``widgetInfo`` is either literal text or such an
expression, and the client evaluates them against the card's data to decide what a user sees
and what a tap sends. This module parses and evaluates them, purely: ``evaluate`` is handed the
data (``Scope``) and notes functions it does not know in ``Scope.unknown`` instead of failing,
so an unfamiliar template still draws (with a visible ``[unknown @name]``).

Values are Python's: ``str``, ``int``/``float``, ``bool``, ``None``, ``dict``, ``list`` and
``Action`` (what ``@dtSendOutData`` and friends produce for a tap).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fakeding.core.templates.errors import TemplateError


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Literal:
    value: Any


Node = Call | Literal


@dataclass(frozen=True)
class Action:
    """What a tap does: ``kind`` is the function's name (``dtSendOutData``, ``dxEventHandler``,
    ``dtOpenLink`` ...), ``value`` its evaluated argument (the callback payload, a handler id)."""

    kind: str
    value: Any


@dataclass(frozen=True)
class Unknown:
    """The value of a function this interpreter does not know."""

    name: str

    def __str__(self) -> str:
        return f"[unknown @{self.name}]"


@dataclass
class Scope:
    """What an expression reads: the render context, the current loop item, and where unknown
    functions are noted."""

    context: dict[str, Any]
    item: Any = None
    index: int = 0
    unknown: set[str] = field(default_factory=set)

    def looping(self, item: Any, index: int) -> Scope:
        return Scope(self.context, item, index, self.unknown)


_CALL_START = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)\{")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, expected: str) -> TemplateError:
        found = self.text[self.pos : self.pos + 20] or "the end"
        return TemplateError(
            f"expression {self.text[:80]!r}: expected {expected} at character {self.pos}, found {found!r}"
        )

    def call(self) -> Call:
        m = _CALL_START.match(self.text, self.pos)
        if m is None:
            raise self.fail("@name{")
        self.pos = m.end()
        args: list[Node] = []
        self.skip_space()
        if self.peek() == "}":
            self.pos += 1
            return Call(m.group(1), ())
        while True:
            args.append(self.arg())
            self.skip_space()
            ch = self.peek()
            self.pos += 1
            if ch == "}":
                return Call(m.group(1), tuple(args))
            if ch != ",":
                self.pos -= 1
                raise self.fail("',' or '}'")

    def arg(self) -> Node:
        self.skip_space()
        ch = self.peek()
        if ch == "@" and _CALL_START.match(self.text, self.pos):
            return self.call()
        if ch == "'":
            end = self.text.find("'", self.pos + 1)
            if end < 0:
                raise self.fail("a closing quote")
            value = self.text[self.pos + 1 : end]
            self.pos = end + 1
            return Literal(value)
        start = self.pos
        depth = 0
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c == "{":
                depth += 1
            elif c == "}":
                if depth == 0:
                    break
                depth -= 1
            elif c == "," and depth == 0:
                break
            self.pos += 1
        word = self.text[start : self.pos].strip()
        return Literal(None if word == "null" else word)

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""


def parse(text: str) -> list[Node]:
    """An attribute's parts: literal text and calls, in order (``a,b`` handlers are two calls
    with a literal ``,`` between them)."""
    parts: list[Node] = []
    pos = 0
    for m in _CALL_START.finditer(text):
        if m.start() < pos:
            continue
        if m.start() > pos:
            parts.append(Literal(text[pos : m.start()]))
        parser = _Parser(text)
        parser.pos = m.start()
        parts.append(parser.call())
        pos = parser.pos
    if pos < len(text):
        parts.append(Literal(text[pos:]))
    return parts


def evaluate_text(text: str, scope: Scope) -> Any:
    """An attribute's value: one call's value as is; several parts joined as text."""
    parts = parse(text)
    if len(parts) == 1:
        return evaluate(parts[0], scope)
    values = [evaluate(p, scope) for p in parts]
    return "".join(to_str(v) for v in values)


def actions(text: str, scope: Scope) -> list[Action]:
    """Every action an ``onTap`` holds (handlers may be listed with commas)."""
    found: list[Action] = []
    for part in parse(text):
        if isinstance(part, Call):
            value = evaluate(part, scope)
            if isinstance(value, Action):
                found.append(value)
    return found


def evaluate(node: Node, scope: Scope) -> Any:
    if isinstance(node, Literal):
        return node.value
    fn = FUNCTIONS.get(node.name)
    if fn is None:
        scope.unknown.add(node.name)
        return Unknown(node.name)
    return fn(scope, node.args)


# the layout elements the renderer draws (``@dtWidgetAvailable`` answers from this list)
KNOWN_ELEMENTS = frozenset(
    {
        "LinearLayout",
        "ListLayout",
        "FastTextView",
        "DDRichTextView",
        "ImageView",
        "View",
        "DDIconView",
        "DDLoadingView",
        "DDEventView",
        "DDAnimationView",
        "DDCSSStyleView",
        "DDChartView",
    }
)


# -- conversions ------------------------------------------------------------------------------
def truthy(value: Any) -> bool:
    """The client's truth: cardParamMap values are strings, so "false" and "" are false."""
    if isinstance(value, str):
        return value.strip() not in ("", "false", "null", "0")
    if isinstance(value, Unknown):
        return False
    return bool(value)


def to_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def to_number(value: Any, integer: bool = False) -> int | float:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return int(value) if integer else value
    try:
        number = float(str(value).strip())
    except ValueError:
        return 0
    if integer or number.is_integer():
        return int(number)
    return number


def read_path(root: Any, path: str) -> Any:
    value = root
    for part in path.split("."):
        if part == "":
            continue
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


# -- functions --------------------------------------------------------------------------------
Fn = Callable[[Scope, tuple[Node, ...]], Any]


def _values(scope: Scope, args: tuple[Node, ...]) -> list[Any]:
    return [evaluate(a, scope) for a in args]


def _arg(scope: Scope, args: tuple[Node, ...], i: int) -> Any:
    return evaluate(args[i], scope) if i < len(args) else None


def _triple(scope: Scope, args: tuple[Node, ...]) -> Any:  # lazy, as a conditional must be
    return _arg(scope, args, 1) if truthy(_arg(scope, args, 0)) else _arg(scope, args, 2)


def _equal(scope: Scope, args: tuple[Node, ...]) -> bool:
    a, b = _arg(scope, args, 0), _arg(scope, args, 1)
    return a == b or to_str(a) == to_str(b)


def _compare(op: Callable[[float, float], bool]) -> Fn:
    def fn(scope: Scope, args: tuple[Node, ...]) -> bool:
        return op(to_number(_arg(scope, args, 0)), to_number(_arg(scope, args, 1)))

    return fn


def _arith(op: Callable[[float, float], float]) -> Fn:
    def fn(scope: Scope, args: tuple[Node, ...]) -> Any:
        values = [to_number(v) for v in _values(scope, args)]
        if not values:
            return 0
        result = values[0]
        for v in values[1:]:
            result = op(result, v)
        return int(result) if isinstance(result, float) and result.is_integer() else result

    return fn


def _div(a: float, b: float) -> float:
    return a / b if b else 0


def _len(scope: Scope, args: tuple[Node, ...]) -> int:
    value = _arg(scope, args, 0)
    if isinstance(value, (str, list, dict)):
        return len(value)
    return 0 if value is None else len(to_str(value))


def _substr(scope: Scope, args: tuple[Node, ...]) -> str:
    text = to_str(_arg(scope, args, 0))
    start = max(0, int(to_number(_arg(scope, args, 1), True)))
    if len(args) > 2:
        return text[start : start + max(0, int(to_number(_arg(scope, args, 2), True)))]
    return text[start:]


def _data(scope: Scope, args: tuple[Node, ...]) -> Any:
    return read_path(scope.context, to_str(_arg(scope, args, 0)))


def _subdata(scope: Scope, args: tuple[Node, ...]) -> Any:
    if not args:
        return scope.item
    return read_path(scope.item, to_str(_arg(scope, args, 0)))


def _map_append(scope: Scope, args: tuple[Node, ...]) -> dict[str, Any]:
    base = _arg(scope, args, 0)
    out: dict[str, Any] = dict(base) if isinstance(base, dict) else {}
    values = _values(scope, args[1:])
    for key, value in zip(values[::2], values[1::2], strict=False):
        out[to_str(key)] = value
    return out


def _array_append(scope: Scope, args: tuple[Node, ...]) -> list[Any]:
    base = _arg(scope, args, 0)
    out: list[Any] = list(base) if isinstance(base, list) else []
    return out + _values(scope, args[1:])


def _action(kind: str) -> Fn:
    def fn(scope: Scope, args: tuple[Node, ...]) -> Action:
        values = _values(scope, args)
        return Action(kind, values[0] if len(values) == 1 else values)

    return fn


def _conditional_handler(scope: Scope, args: tuple[Node, ...]) -> Any:
    return _triple(scope, args)


def _confirm(scope: Scope, args: tuple[Node, ...]) -> Action:
    return Action("dtConfirm", _arg(scope, args, 0))


FUNCTIONS: dict[str, Fn] = {
    "data": _data,
    "triple": _triple,
    "equal": _equal,
    "not": lambda s, a: not truthy(_arg(s, a, 0)),
    "and": lambda s, a: all(truthy(evaluate(x, s)) for x in a),
    "or": lambda s, a: any(truthy(evaluate(x, s)) for x in a),
    "greater": _compare(lambda x, y: x > y),
    "less": _compare(lambda x, y: x < y),
    "len": _len,
    "toStr": lambda s, a: to_str(_arg(s, a, 0)),
    "toLong": lambda s, a: to_number(_arg(s, a, 0), True),
    "toDouble": lambda s, a: float(to_number(_arg(s, a, 0))),
    "concat": lambda s, a: "".join(to_str(v) for v in _values(s, a)),
    "substr": _substr,
    "add": _arith(lambda x, y: x + y),
    "sub": _arith(lambda x, y: x - y),
    "mul": _arith(lambda x, y: x * y),
    "div": _arith(_div),
    "floor": lambda s, a: math.floor(to_number(_arg(s, a, 0))),
    "dtDarkModeAdapter": lambda s, a: _arg(s, a, 0),  # the light theme
    "dtWidgetAvailable": lambda s, a: to_str(_arg(s, a, 0)) in KNOWN_ELEMENTS,
    "subdata": _subdata,
    "subdataIndex": lambda s, a: s.index,
    "dtArrayIterator": _subdata,
    "linearGradient": lambda s, a: "linear-gradient(" + ",".join(to_str(v) for v in _values(s, a)) + ")",
    "dtMapAppend": _map_append,
    "dtArrayAppend": _array_append,
    "dtSendOutData": _action("dtSendOutData"),
    "dxEventHandler": _action("dxEventHandler"),
    "dtOpenLink": _action("dtOpenLink"),
    "dtCopyRichText": _action("dtCopyRichText"),
    "dtToast": _action("dtToast"),
    "dtUtStat": _action("dtUtStat"),
    "dtConfirm": _confirm,
    "dtConditionalHandler": _conditional_handler,
    "dtGetEventChainData": lambda s, a: None,
}
