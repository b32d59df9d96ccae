"""The templates the fake knows, by template id (pure: loading files is ``template_files``).

Templates loaded at start (``serve --templates``) are kept across resets; those added while
running (``add_template``, ``PUT /_fakeding/templates/{id}``, a scenario's ``templates:``) are
forgotten by a reset, so one test's templates never leak into the next.

Why: with no template registered the fake behaves as it always did (any ``cardTemplateId``
exists, any key is accepted); once a template is registered, a card of an unknown template is
refused as DingTalk refuses it, and cards of known templates are drawn and checked.
"""

from __future__ import annotations

from fakeding.core.templates.parse import Template


class TemplateRegistry:
    def __init__(self) -> None:
        self._templates: dict[str, Template] = {}
        self._kept: dict[str, Template] = {}

    def add(self, template: Template, *, keep: bool = False) -> Template:
        """Register (or replace) ``template`` under its id; ``keep``: it survives resets."""
        self._templates[template.id] = template
        if keep:
            self._kept[template.id] = template
        return template

    def reset(self) -> None:
        """Forget the templates added while running; keep those loaded at start."""
        self._templates = dict(self._kept)

    def all(self) -> list[Template]:
        return [self._templates[i] for i in sorted(self._templates)]

    def get(self, template_id: str) -> Template | None:
        return self._templates.get(template_id)

    @property
    def configured(self) -> bool:
        """True once any template is registered: unknown ids are refused from then on."""
        return bool(self._templates)

    def ids(self) -> list[str]:
        return sorted(self._templates)

    def __contains__(self, template_id: object) -> bool:
        return template_id in self._templates

    def __len__(self) -> int:
        return len(self._templates)
