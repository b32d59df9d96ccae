"""The short soak: our soak plan (bench/plans/soak.yaml) scaled down, through ``fakeding load``
in virtual time: random faults lose, double, strand and cross nothing, and break no rule of
the protocol."""

from __future__ import annotations

from pathlib import Path

from bench.soak import PLAN, main
from fakeding.testing.load.command import run
from fakeding.testing.load.plan import load_plan


def short_plan(tmp_path: Path) -> Path:
    text = PLAN.read_text(encoding="utf-8")
    for big, small in [
        ("users: 200", "users: 30"),
        ("duration: 150", "duration: 40"),
        ("rate: 13.4", "rate: 3.75"),
    ]:
        assert big in text
        text = text.replace(big, small)
    path = tmp_path / "soak.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_short_soak_loses_nothing_doubles_nothing_strands_nothing(tmp_path: Path) -> None:
    verdict = run(load_plan(short_plan(tmp_path)))
    f = verdict.figures
    assert verdict.ok, verdict.failed
    faults = f["faults"]
    assert faults["drop_connection"] > 0 and faults["api"] > 0 and faults["frame"] > 0
    assert faults["zombie"] == 1 and faults["expire_token"] == 2
    # drops came back as reconnects (two drops close together cost one reconnect)
    assert f["reconnects"] >= faults["drop_connection"] // 2 and f["reconnects"] > 0
    assert f["redeliveries"] > 0 and f["rate_403"] > 0  # late acks came again; 403s were answered
    assert f["questions"] > 100 and f["answers"] == f["questions"]
    assert f["lost"] == f["doubled"] == f["unfinished"] == f["cross_talk"] == f["violations"] == 0


def test_dev_py_soak_runs_the_plan_and_says_passed(tmp_path: Path, capsys: object) -> None:
    assert main(["--plan", str(short_plan(tmp_path)), "--json", str(tmp_path / "soak.json")]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "faults injected: " in out and out.rstrip().endswith(
        "soak: PASSED (zero lost, doubled, unfinished, crossed)"
    )
    assert (tmp_path / "soak.json").is_file()


def test_the_bench_report_reads_the_soak_plans_figures(tmp_path: Path) -> None:
    from bench.soak import run as soak_figures

    figures = soak_figures(short_plan(tmp_path))
    assert figures["messages_sent"] == figures["answers_delivered"] > 100
    assert figures["lost"] == figures["duplicates"] == figures["unfinished_cards"] == 0
    assert figures["faults"]["zombie"] == 1
