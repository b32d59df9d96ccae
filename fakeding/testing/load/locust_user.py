"""Locust drives a real-time load on a fake (``pip install 'fakeding[load]'``): each Locust user
is one DingTalk user who asks in a shared group or a 1:1 chat through the fake's control API,
waits for the answer in its conversation and thinks before asking again. Locust's own
distributed mode spreads the users over workers; at the end the master (or a local run) judges
the fake's records with the plan's thresholds, as ``fakeding load`` does, prints the report and
exits 0 (PASSED) or 1 (FAILED).

    locust -f "$(python -m fakeding.testing.load.locustfile)" --headless -u 20 -r 5 -t 2m \\
        -H http://127.0.0.1:8089 --fakeding-plan plan.yaml

The plan's ``load:`` section gives the mix (``groups``, ``group_count``), ``think``, ``words``,
``long_share``/``long_words`` and ``seed``; Locust gives the users, spawn rate and run time.
Importing this module registers the command-line options and the judge with Locust.
"""

from __future__ import annotations

import itertools
import random
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

from locust import HttpUser, events, task
from locust.runners import WorkerRunner

from fakeding.core.exceptions import FakedingError
from fakeding.testing.load.plan import LoadPlan, Workload, load_plan
from fakeding.testing.load.workload import WORDS

_serial = itertools.count(1)
_plans: dict[str, LoadPlan] = {}


def _options(parser: Any, **_: Any) -> None:
    parser.add_argument(
        "--fakeding-plan",
        default="",
        env_var="FAKEDING_LOAD_PLAN",
        help="the load plan (its load: mix and its thresholds); the master judges with it",
    )
    parser.add_argument(
        "--fakeding-settle",
        type=float,
        default=30.0,
        help="seconds the judge waits for answers still coming after the run (default 30)",
    )
    parser.add_argument(
        "--fakeding-answer-timeout",
        type=float,
        default=60.0,
        help="seconds a user waits for its answer before counting it a failure (default 60)",
    )


def plan_of(environment: Any) -> LoadPlan | None:
    path = str(getattr(environment.parsed_options, "fakeding_plan", "") or "")
    if not path:
        return None
    if path not in _plans:
        _plans[path] = load_plan(Path(path))
    return _plans[path]


DEFAULT = Workload(users=1, duration=1, rate=1.0)


class DingTalkUser(HttpUser):  # type: ignore[misc]
    """One DingTalk user asking a robot through the fake (``host`` is the fake's URL)."""

    abstract = False

    def on_start(self) -> None:
        plan = plan_of(self.environment)
        self.workload = plan.workload if plan is not None else DEFAULT
        index = getattr(self.environment.runner, "worker_index", 0)
        self.staff = f"w{index}u{next(_serial):03d}"
        self.rng = random.Random(f"{self.workload.seed}:{self.staff}")
        w = self.workload
        if self.rng.random() < w.groups:
            self.conversation = {
                "id": f"cidLoadGroup{self.rng.randrange(w.group_count) + 1}==",
                "type": "group",
                "title": "Load group",
            }
        else:
            self.conversation = {"id": f"cidLoadDm{self.staff}==", "type": "single"}
        self.asked = 0
        self.timeout = float(getattr(self.environment.parsed_options, "fakeding_answer_timeout", 60.0))

    def wait_time(self) -> float:
        return self.rng.uniform(*self.workload.think)

    def question(self) -> str:
        w = self.workload
        self.asked += 1
        size = w.long_words if self.rng.random() < w.long_share else self.rng.randint(*w.words)
        words = " ".join(self.rng.choice(WORDS) for _ in range(max(1, size - 1)))
        return f"q{self.staff}-{self.asked} {words}"

    @task
    def ask(self) -> None:
        body = {
            "conversation": self.conversation,
            "sender": {"staffId": self.staff, "nick": f"User {self.staff}"},
            "text": self.question(),
        }
        with self.client.post("/_fakeding/messages", json=body, name="ask", catch_response=True) as sent:
            if sent.status_code != 200 or not sent.json().get("delivered"):
                sent.failure(f"not delivered ({sent.status_code}): {sent.text[:200]}")
                return
            msg_id = str(sent.json()["msgId"])
        self.wait_for_answer(msg_id)

    def wait_for_answer(self, msg_id: str) -> None:
        """Locust's "first answer" figure: until a robot line follows the question in its
        conversation (in a group, anyone's answer after it: the verdict is the judge's)."""
        started = time.perf_counter()
        cid = urllib.parse.quote(str(self.conversation["id"]), safe="")
        error: Exception | None = None
        while True:
            lines = self.client.get(f"/_fakeding/conversations/{cid}", name="transcript").json()
            mine = next((i for i, line in enumerate(lines) if line.get("ref") == msg_id), None)
            if mine is not None and any(line.get("who") == "bot" for line in lines[mine + 1 :]):
                break
            if time.perf_counter() - started > self.timeout:
                error = TimeoutError(f"no answer to {msg_id} within {self.timeout:g} s")
                break
            time.sleep(0.2)
        self.environment.events.request.fire(
            request_type="DINGTALK",
            name="first answer",
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=error,
            context={},
        )


def _judge(environment: Any, **_: Any) -> None:
    """On the master (or a local run): the fake's records against the plan's thresholds."""
    if isinstance(environment.runner, WorkerRunner):
        return
    path = str(getattr(environment.parsed_options, "fakeding_plan", "") or "")
    if not path:
        return
    from fakeding.testing.load.command import run_plan

    host = str(environment.host or "")
    settle = float(getattr(environment.parsed_options, "fakeding_settle", 30.0))
    try:
        text, code = run_plan(Path(path), judge_url=host, settle=settle)
    except FakedingError as exc:
        print(f"fakeding load: {exc}", file=sys.stderr)
        environment.process_exit_code = 2
        return
    print(text, end="", flush=True)
    environment.process_exit_code = code


events.init_command_line_parser.add_listener(_options)  # type: ignore[no-untyped-call]
events.quitting.add_listener(_judge)  # type: ignore[no-untyped-call]
