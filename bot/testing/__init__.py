"""This robot under the fakeding scenario engine: the pieces of ``bot.scenario_adapter``.

``scripted`` turns a scenario's ``answer:`` blocks into an agent; ``session`` builds and runs
the robot beside a fake (and ``open_harness`` for the robot's own tests and benchmarks);
``report`` reads the robot's ``bot.*`` records and cards for the scenario report.
"""
