"""Card-platform exports read from disk into the template registry (the I/O edge of
``fakeding.core.templates``): ``serve --templates DIR``, ``add_template(id, path)`` and a
scenario's ``templates:`` key all come through here."""

from __future__ import annotations

from pathlib import Path

from fakeding.core.templates import Template, TemplateError, parse_export


def load_file(template_id: str, path: str | Path) -> Template:
    """The export at ``path``, registered as ``template_id``; a ``TemplateError`` naming the
    file (and the JSON path inside it) when it cannot be used."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise TemplateError(
            f"{file}: expected a card-platform export (JSON) for template "
            f"{template_id!r}, found no readable file ({exc.strerror})"
        ) from None
    return parse_export(raw, template_id=template_id, source=str(file))


def template_id_of(path: Path) -> str:
    """``DIR/<templateId>.json`` -> ``<templateId>`` (ids such as ``abc.schema`` keep their
    dots)."""
    return path.name[: -len(".json")] if path.name.endswith(".json") else path.name


def load_dir(directory: str | Path) -> list[Template]:
    """Every ``DIR/<templateId>.json``, in name order."""
    folder = Path(directory)
    if not folder.is_dir():
        raise TemplateError(
            f"{folder}: expected a folder of card-platform exports "
            f"(<templateId>.json), found "
            f"{'a file' if folder.exists() else 'nothing'}"
        )
    files = sorted(folder.glob("*.json"))
    if not files:
        raise TemplateError(f"{folder}: expected <templateId>.json card-platform exports in it, found none")
    return [load_file(template_id_of(f), f) for f in files]
