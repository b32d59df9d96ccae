"""docs/PARITY.md is generated from the code and matches what the fake serves."""

from __future__ import annotations

from aiohttp import web

from fakeding import parity
from fakeding.core.stream import protocol
from fakeding.server import FakeDing


def _served_routes() -> set[tuple[str, str]]:
    app = web.Application()
    FakeDing().openapi.add_routes(app)
    return {
        (r.method, str(r.resource.canonical))
        for r in app.router.routes()
        if r.resource is not None and r.method != "HEAD"
    }


def test_the_ledger_file_is_up_to_date() -> None:
    assert parity.main(["--check"]) == 0, "run: python -m fakeding.parity"
    assert parity.DOC.read_text(encoding="utf-8") == parity.render()


def test_every_served_route_has_a_row_and_every_implemented_row_a_route() -> None:
    served = _served_routes()
    rows = {r.method_path for r in parity.ROWS if r.kind == "route" and r.implemented}
    assert served - rows == set(), "routes without a row in fakeding/parity.py"
    assert rows - served == set(), "rows marked implemented that the fake does not serve"
    unimplemented = {r.method_path for r in parity.ROWS if r.kind == "route" and not r.implemented}
    assert unimplemented & served == set(), "served routes marked as not implemented"


def test_every_pushed_topic_has_a_row_and_every_implemented_topic_is_pushed() -> None:
    pushed = {
        f"CALLBACK {value}"
        for name, value in vars(protocol).items()
        if name.startswith("TOPIC_") and isinstance(value, str)
    }
    rows = {
        r.what for r in parity.ROWS if r.kind == "topic" and r.implemented and r.what.startswith("CALLBACK ")
    }
    assert pushed == rows
    assert all(r.used_by for r in parity.ROWS)
    assert all(r.tested for r in parity.ROWS if r.implemented)


def test_rows_are_unique_and_rendered() -> None:
    whats = [r.what for r in parity.ROWS]
    assert len(whats) == len(set(whats))
    text = parity.render()
    for row in parity.ROWS:
        assert f"| `{row.what}` |" in text


def test_the_settings_reference_explains_every_setting() -> None:
    """Each setting has its one-line meaning in the code (the emulator's form shows it) and the
    generated settings page (docs/reference/settings.md, kept fresh by tests/test_docs.py) lists
    it with that meaning: the one place users read what a setting does."""
    from fakeding.core.control_settings import knobs

    page = (parity.DOC.parent / "reference" / "settings.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(): line for line in page.splitlines() if line.startswith("| `")}
    assert [k.name for k in knobs().values() if not k.help] == [], "settings without a meaning"
    missing = [name for name in knobs() if f"`{name}`" not in rows]
    assert missing == [], "settings missing from docs/reference/settings.md: run docs/generate.py"
    unexplained = [k.name for k in knobs().values() if k.help.replace("|", "\\|") not in rows[f"`{k.name}`"]]
    assert unexplained == [], unexplained
