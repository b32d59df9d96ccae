"""The locustfile for ``locust -f``: DingTalk users asking a robot through a fake, judged by
the plan's thresholds at the end (see ``fakeding.testing.load.locust_user``). ``python -m
fakeding.testing.load.locustfile`` prints this file's path, so an installed kit needs no copy:

    locust -f "$(python -m fakeding.testing.load.locustfile)" --headless -u 20 -r 5 -t 2m \\
        -H http://127.0.0.1:8089 --fakeding-plan plan.yaml

A project's own locustfile may import ``DingTalkUser`` instead and subclass it.
"""

from __future__ import annotations

if __name__ == "__main__":
    print(__file__)
else:
    from fakeding.testing.load.locust_user import DingTalkUser

    __all__ = ["DingTalkUser"]
