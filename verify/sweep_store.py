"""A sweep store for results that are not ledger records (regime-map rows, tables, ...).

:class:`JsonLinesStore` keeps one JSON line per finished task in one file::

    {"type": "header", "format": "resnet-limits-sweep", "version": 1}
    {"type": "result", "task": "<Task.id>", "label": "<Task.label()>", "result": ...}

Each line is flushed and fsynced before the sweep yields the task, so a crash loses at most
the task being written; a torn *last* line (the process died while writing it) is ignored and
that task is computed again. Results go through :func:`verify.provenance.jsonable` (numpy
arrays become lists, non-finite floats ``null``), after ``encode`` where given; ``decode``
turns the stored JSON back into what the caller wants. A resumed file is appended to.
Nothing read from the file is ever executed: it is parsed as JSON only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from verify.provenance import jsonable
from verify.sweep import Task

__all__ = ["JsonLinesStore", "StoreError"]

_HEADER = {"type": "header", "format": "resnet-limits-sweep", "version": 1}


class StoreError(ValueError):
    """A store file that is not one: another format, a corrupt line before the last."""


class JsonLinesStore:
    """Results of a sweep, one fsynced JSON line per task, in ``path`` (``.jsonl``)."""

    def __init__(self, path: str | os.PathLike[str], *,
                 encode: Callable[[Any], Any] | None = None,
                 decode: Callable[[Any], Any] | None = None) -> None:
        self.path = Path(path)
        if self.path.suffix != ".jsonl":
            raise StoreError(f"store path {self.path} must end in .jsonl, e.g. map-rows.jsonl")
        self.encode, self.decode = encode, decode
        self.resumed = 0
        self._fh: Any = None

    def _read(self) -> dict[str, Any]:
        data = self.path.read_bytes()
        cut = data.rfind(b"\n") + 1  # after the last newline: a torn line (or nothing)
        if cut < len(data):
            with open(self.path, "r+b") as fh:  # drop the torn line before appending
                fh.truncate(cut)
        out: dict[str, Any] = {}
        for number, line in enumerate(data[:cut].decode("utf-8").splitlines(), start=1):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise StoreError(f"corrupt line {number} in sweep store {self.path}: "
                                 f"{exc.msg}; move the file away to start afresh") from None
            if number == 1:
                if obj != _HEADER:
                    raise StoreError(f"{self.path} is not a sweep store (its first line is "
                                     "not the header); pass another path")
                continue
            if not (isinstance(obj, dict) and obj.get("type") == "result"
                    and isinstance(obj.get("task"), str) and "result" in obj):
                raise StoreError(f"line {number} of sweep store {self.path} is not a result "
                                 "line (fields type, task, result)")
            out[obj["task"]] = obj["result"]
        return out

    def _write(self, obj: Any) -> None:
        self._fh.write(json.dumps(obj, allow_nan=False, separators=(",", ":")) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def start(self, tasks: Sequence[Task]) -> dict[str, Any]:
        """Read the finished results (by task id) and open the file for appending."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        stored = self._read() if self.path.exists() and self.path.stat().st_size else {}
        wanted = {t.id for t in tasks}
        done = {k: (self.decode(v) if self.decode else v) for k, v in stored.items()
                if k in wanted}
        self.resumed = len(done)
        self._fh = open(self.path, "a", encoding="utf-8")
        if self._fh.tell() == 0:
            self._write(_HEADER)
        return done

    def put(self, task: Task, result: Any) -> None:
        """Append one result line (flush + fsync)."""
        if self._fh is None:
            raise StoreError(f"sweep store {self.path} is not started; call start(tasks)")
        self._write({"type": "result", "task": task.id, "label": task.label(),
                     "result": jsonable(self.encode(result) if self.encode else result)})

    def finish(self, state: str, reason: str) -> None:
        """Close the file (its lines are the record; ``state`` needs no line of its own)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
