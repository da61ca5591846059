"""The state file of a manifest run (``<manifest>.state.json``): task id -> record of its status
(``submitted``, ``done``, ``failed`` with the error line and whether a retry can succeed), attempts
and times.  Written atomically after every change, only by the process that runs the manifest
(it holds the state file's lock, :func:`rsastats.io.output_lock`)."""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

from rsastats.exceptions import ConfigMismatchError
from rsastats.io import atomic_path

__all__ = ["ManifestState", "now_iso"]

_FORMAT = 1


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


class ManifestState:
    """The state file: task id -> record.  Only the process that runs the manifest writes it."""

    def __init__(self, path: Path, manifest: Path):
        self.path = path
        self.manifest = manifest
        self.records: dict[str, dict[str, Any]] = {}
        if path.exists():
            try:
                stored = json.loads(path.read_text(encoding="utf-8"))
                if stored.get("format") != _FORMAT or not isinstance(stored.get("tasks"), dict):
                    raise ValueError("unknown format")
                self.records = stored["tasks"]
            except (OSError, ValueError, AttributeError):
                raise ConfigMismatchError("the manifest's state file is damaged; delete it (finished outputs are "
                                          "then refused unless --overwrite)", path=path) from None

    def get(self, task_id: str) -> dict[str, Any] | None:
        return self.records.get(task_id)

    def update(self, task: Any, **values: Any) -> dict[str, Any]:
        record = self.records.setdefault(task.task_id, {"task": task.index + 1, "out": task.out,
                                                         "model": task.config.model,
                                                         "precision": task.config.precision, "attempts": 0})
        record.update(values)
        return record

    def save(self) -> None:
        payload = {"format": _FORMAT, "manifest": str(self.manifest), "updated": now_iso(), "tasks": self.records}
        with atomic_path(self.path) as tmp:
            tmp.write_text(json.dumps(payload, indent=1, sort_keys=True), encoding="utf-8")
