"""The one version of this repository's two distributions (the kit and the robot): both
pyproject files read it, ``fakeding --version`` prints it, and a test holds the changelog to it."""

__version__ = "0.2.0.dev0"
