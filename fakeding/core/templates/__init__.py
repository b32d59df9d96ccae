"""Card templates as DingTalk draws them: parse a card-platform export, render what one user
sees, and the callback each button sends. Pure: no I/O (callers read files).

* ``parse`` reads an export into a ``Template``;
* ``expressions`` evaluates the layout's ``@name{...}`` expressions;
* ``render`` turns a template and data into a ``View`` for one user.
"""

from __future__ import annotations

from fakeding.core.templates.errors import TemplateError
from fakeding.core.templates.expressions import Action
from fakeding.core.templates.parse import AI_STATUS_NAMES, Template, Variable, parse_export
from fakeding.core.templates.render import Node, View, decode, render

__all__ = [
    "AI_STATUS_NAMES",
    "Action",
    "Node",
    "Template",
    "TemplateError",
    "Variable",
    "View",
    "decode",
    "parse_export",
    "render",
]
