"""TLS tests need the ``tls`` extra; without it they fail saying how to install it."""

from __future__ import annotations

from pathlib import Path

import pytest

try:
    import cryptography  # noqa: F401
except ImportError:  # pragma: no cover - the message is the point
    pytest.fail(
        "TLS mode needs the tls extra (cryptography): run `python3 dev.py test` or "
        "`.venv/bin/pip install -e '.[tls]'`",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def ca_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One CA for the session's fakes, made by the first ``serve --tls`` and reused after."""
    return tmp_path_factory.mktemp("fakeding-ca")
