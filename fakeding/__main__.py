"""``python -m fakeding``: the ``fakeding`` command, for an environment whose scripts folder is
not on PATH (a venv not activated, ``pipx run``, Windows)."""

import sys

from fakeding.cli import main

sys.exit(main())
