"""Scenarios: conversations as YAML files, run through the real robot and the fake platform in
virtual time, reported as a readable document that syrupy snapshots.

``harness`` runs fake + robot + agent on one virtual-time loop; ``schema`` validates files;
``runner`` plays the steps; ``render`` writes the report; ``snapshot`` is the syrupy extension.
This subpackage needs the ``scenarios`` extra; importing it without says which command installs it.
"""

from __future__ import annotations

from .._extras import require

require("scenarios", "the fakeding scenario engine (fakeding.scenarios)")
