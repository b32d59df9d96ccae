"""``fakeding.testing`` names what a user's own test imports, without loading it early."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_running_fake_is_importable_from_the_testing_package() -> None:
    from fakeding.testing import running_fake
    from fakeding.testing.scenarios import harness

    assert running_fake is harness.running_fake


def test_importing_the_testing_package_loads_no_scenario_engine() -> None:
    code = "import sys, fakeding.testing; print('fakeding.testing.scenarios.harness' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_an_unknown_name_is_an_attribute_error_naming_it() -> None:
    import fakeding.testing

    with pytest.raises(AttributeError, match="'no_such_helper'"):
        fakeding.testing.no_such_helper  # noqa: B018
