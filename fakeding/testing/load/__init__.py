"""``fakeding load PLAN.yaml``: a workload of many users against any robot, judged by oracles
that hold for any robot (nothing lost, doubled or unfinished, no cross-talk, per-user order,
fairness, 403s, calls per answer against the monthly quota). The plan compiles to a scenario
(handler robots in virtual time, robot processes in real time) and the verdict is computed
from the fake's records. A run driven from outside (Locust: ``locust_user``, ``locustfile``)
is judged from a running fake's records the same way (``remote``). Plans are YAML and run as
scenarios: this subpackage needs the ``scenarios`` extra and says so when imported without it."""

from fakeding.core._extras import require

require("scenarios", "fakeding load (plans are YAML, run as scenarios)")

from fakeding.testing.load.command import run_plan  # noqa: E402 (after the extra's check)

__all__ = ["run_plan"]
