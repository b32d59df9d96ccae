"""The serve memory benchmark, small: a real ``fakeding serve`` subprocess answers every request."""

from __future__ import annotations

from bench import fake_memory


def test_fake_memory_bench_drives_serve_and_reports_its_rss() -> None:
    r = fake_memory.run(requests=500, tickets=100, time_limit=60.0, concurrency=4)
    assert r["complete"] and (r["requests"], r["tickets"]) == (500, 100)
    assert sum(r["statuses"].values()) == 600 and 500 not in r["statuses"]
    assert 0 < r["rss_before_mib"] <= r["rss_after_tickets_mib"] + 50
    lines = fake_memory.report(r)
    assert "| after the tickets |" in lines[-1]
