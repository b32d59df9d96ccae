"""syrupy extension: one readable Markdown document per scenario (``__snapshots__/*.md``)."""

from __future__ import annotations

from typing import Any

from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode


class ScenarioSnapshotExtension(SingleFileSnapshotExtension):  # type: ignore[misc]
    _write_mode = WriteMode.TEXT
    file_extension = "md"

    def serialize(self, data: Any, **kwargs: Any) -> str:
        if not isinstance(data, str):
            raise TypeError(f"a scenario snapshot is the rendered report (str), found {type(data).__name__}")
        return data
