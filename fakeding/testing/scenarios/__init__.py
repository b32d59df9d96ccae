"""Scenarios: conversations as YAML files, run through a robot and the fake platform in
virtual time, reported as a readable document that syrupy snapshots.

``robots`` is how a robot plugs in (an adapter, found by name); ``harness`` runs fake + robot
on one virtual-time loop; ``schema`` validates files; ``runner`` plays the steps; ``render``
writes the report; ``snapshot`` is the syrupy extension. This subpackage needs the
``scenarios`` extra; importing it without says which command installs it.
"""

from __future__ import annotations

from fakeding.core._extras import require

require("scenarios", "the fakeding scenario engine (fakeding.testing.scenarios)")
