"""``fakeding card render`` and ``fakeding card lint``: a card template and its data, checked
and drawn without a robot or a server, for card authors and CI.

Exit codes: 0 fine, 1 ``lint`` found errors (or warnings, with ``--strict``), 2 unusable input
(a missing file, an export or data file that is not what it should be).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from fakeding.core import template_files
from fakeding.core.exceptions import ConfigError
from fakeding.core.templates import Template, View, render
from fakeding.core.templates.markdown import markdown_quirks

_DECODED = ("boolean", "number", "object", "loopArray", "chart", "array")


def add_card_parser(sub: Any) -> None:
    card = sub.add_parser("card", help="draw or check a card template (card platform export)")
    card_sub = card.add_subparsers(dest="card_command", required=True)
    for name, text in (
        ("render", "print what a user sees of a card"),
        ("lint", "check data against a template, and its markdown"),
    ):
        cmd = card_sub.add_parser(name, help=text)
        cmd.add_argument(
            "template", type=Path, metavar="TEMPLATE.json", help="the card platform's export of the template"
        )
        cmd.add_argument(
            "--data",
            type=Path,
            metavar="DATA.json",
            required=name == "render",
            help='the card\'s cardParamMap (or {"cardParamMap": {...}})',
        )
        cmd.add_argument("--private", type=Path, metavar="USER.json", help="one user's private cardParamMap")
        cmd.add_argument(
            "--local",
            type=Path,
            metavar="LOCAL.json",
            help="local variables (what the user typed into inputs)",
        )
        if name == "lint":
            cmd.add_argument("--stream-key", metavar="KEY", help="the key the robot streams into")
            cmd.add_argument("--strict", action="store_true", help="warnings fail too (exit 1)")
        else:
            cmd.add_argument("--json", action="store_true", help="the view as JSON")


def run_card(args: argparse.Namespace) -> int:
    template = template_files.load_file(template_files.template_id_of(args.template), args.template)
    data = _param_map(args.data, "--data") if args.data else {}
    private = _param_map(args.private, "--private") if args.private else {}
    local = _json_object(args.local, "--local") if args.local else {}
    view = render(template, data, private, local)
    if args.card_command == "render":
        if args.json:
            print(
                json.dumps(
                    {"nodes": [n.to_dict() for n in view.nodes], "unknown": view.unknown},
                    ensure_ascii=False,
                    indent=1,
                )
            )
        else:
            for line in view.lines():
                print(line)
            for name in view.unknown:
                print(f"(not drawn: unknown {name})")
        return 0
    errors, warnings = lint(template, data, private, view, args.stream_key)
    for line in errors:
        print(f"error: {line}")
    for line in warnings:
        print(f"warning: {line}")
    if not errors and not warnings:
        print(f"{args.template}: ok ({len(template.variables)} variables)")
    return 1 if errors or (warnings and args.strict) else 0


def lint(
    template: Template, data: dict[str, Any], private: dict[str, Any], view: View, stream_key: str | None
) -> tuple[list[str], list[str]]:
    """(errors, warnings) of data, a streaming key and markdown against ``template``."""
    errors: list[str] = []
    warnings: list[str] = []
    declared = ", ".join(sorted(template.variables)) or "none"
    for where, values in (("cardParamMap", data), ("private data", private)):
        for key, value in values.items():
            var = template.variable(key)
            if var is None and key != "flowStatus":
                errors.append(
                    f"{where} key {key!r} is not a variable of template "
                    f"{template.id} (declared: {declared}); nothing shows it"
                )
                continue
            if var is not None and var.type in _DECODED and isinstance(value, str):
                problem = _typed(var.type, value)
                if problem:
                    errors.append(f"{where} key {key!r} ({var.type}): {problem}")
            if var is not None and var.type == "markdown" and isinstance(value, str):
                surface = "ai" if template.is_ai else "card"
                warnings += [f"{key}: {q}" for q in markdown_quirks(value, surface)]
    if stream_key is not None:
        var = template.variable(stream_key)
        markdown = ", ".join(template.markdown_variables()) or "none"
        if var is None:
            errors.append(
                f"streaming key {stream_key!r} is not a variable of template "
                f"{template.id} (its markdown variables: {markdown}); the card "
                "would stay blank"
            )
        elif var.type != "markdown":
            errors.append(
                f"streaming key {stream_key!r} is a {var.type} variable; stream "
                f"into a markdown one ({markdown})"
            )
    for name in view.unknown:
        warnings.append(f"the template uses {name}, which the fake does not draw")
    return errors, warnings


def _typed(kind: str, value: str) -> str:
    if kind == "boolean":
        return "" if value in ("true", "false") else f"expected 'true' or 'false', found {value!r}"
    try:
        decoded = json.loads(value)
    except ValueError:
        return f"expected JSON text, found {value[:40]!r}"
    if kind == "loopArray" and not isinstance(decoded, list):
        return f"expected a JSON array, found {type(decoded).__name__}"
    if kind == "number" and (isinstance(decoded, bool) or not isinstance(decoded, (int, float))):
        return f"expected a number, found {value[:40]!r}"
    return ""


def _json_object(path: Path, flag: str) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{flag} {path}: cannot read it ({exc.strerror})") from None
    except ValueError as exc:
        raise ConfigError(f"{flag} {path}: expected JSON, found {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{flag} {path}: expected a JSON object, found {type(raw).__name__}")
    return raw


def _param_map(path: Path, flag: str) -> dict[str, Any]:
    """A cardParamMap file; values that are not strings are sent as the robot must (JSON
    text; booleans as "true"/"false")."""
    raw = _json_object(path, flag)
    if isinstance(raw.get("cardParamMap"), dict):
        raw = raw["cardParamMap"]
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, str):
            out[key] = value
        else:
            out[key] = json.dumps(value, ensure_ascii=False)
    return out
