"""The robot's version: the repository's one version (``fakeding/_version.py``), repeated here
because the robot installs on its own; a test fails when the two differ."""

__version__ = "0.2.0.dev0"
