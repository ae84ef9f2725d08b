"""Writing a run ledger: :class:`LedgerWriter` appends this process's partial file (one
fsynced JSON line per record or event) and :func:`finalize_ledger` merges every worker's
partials into the final JSON atomically (the layout and the guarantees are in
:mod:`verify.ledger`, which reads them back). :func:`ensure_writable` checks the folder
before any test runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from verify.ledger import (
    PARTIAL_SUFFIX,
    SCHEMA_VERSION,
    Ledger,
    LedgerError,
    merge_partials,
    partial_paths,
    utc_now,
)
from verify.ledger_schema import validate_record
from verify.provenance import collect_versions, git_commit, jsonable, machine_info, worker_id
from verify.runstate import run_state, validate_event

__all__ = ["LedgerWriter", "atomic_write_text", "ensure_writable", "finalize_ledger", "json_line"]


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def ensure_writable(path: str | os.PathLike[str]) -> Path:
    """Make sure the ledger ``path`` (a ``.json`` file) can be written: create its folder and
    write and remove a probe file there. Returns the folder; raises :class:`LedgerError` with
    the path and the fix. Call it before any test runs."""
    final = Path(path)
    if final.suffix != ".json":
        raise LedgerError(f"ledger path {final} must end in .json (the final ledger); pass e.g. "
                          "reports/runs/run.json")
    if final.is_dir():
        raise LedgerError(f"ledger path {final} is a folder; pass a file path ending in .json")
    folder = final.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-probe.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise LedgerError(
            f"ledger folder {folder} is not writable ({exc.strerror or exc}); fix: pass a "
            "writable --ledger path or fix the folder's permissions"
        ) from None
    return folder


class LedgerWriter:
    """Append-only writer of this process's partial ledger file.

    >>> w = LedgerWriter("runs/run.json", profile="ci")       # doctest: +SKIP
    >>> w.event("plan", node_ids=[...], regimes=["R5"])       # doctest: +SKIP
    >>> w.append(make_record(regime="R5", quantity="strong", ...))  # doctest: +SKIP
    >>> w.event("finish", state="complete", reason="", exitstatus=0)  # doctest: +SKIP
    >>> w.finalize()                                           # doctest: +SKIP

    Each :meth:`append` and :meth:`event` writes one JSON line and fsyncs it before returning;
    both validate first (a wrong record raises :class:`~verify.ledger_schema.RecordError`, a
    ValueError, and writes nothing). Usable as a context manager, which closes (not finalizes)
    the partial file on exit.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        profile: str,
        device: str = "cpu",
        worker: str | None = None,
        commit: str | None = None,
    ) -> None:
        self.path = Path(path)
        if self.path.suffix != ".json":
            raise ValueError(f"path={os.fspath(path)!r} must end in .json (the final ledger)")
        wid = worker if worker is not None else worker_id()
        if not re.fullmatch(r"[A-Za-z0-9_-]+", wid):
            raise ValueError(f"worker={wid!r} must match [A-Za-z0-9_-]+ (e.g. 'gw0')")
        self.worker = wid
        self.partial_path = self.path.with_name(f"{self.path.stem}.{wid}{PARTIAL_SUFFIX}")
        ensure_writable(self.path)
        self.header = {
            "type": "header",
            "schema_version": SCHEMA_VERSION,
            "created": utc_now(),
            # the code's commit (the package's checkout), wherever the ledger is written
            "commit": commit if commit is not None else git_commit(Path(__file__).parent),
            "versions": collect_versions(),
            "machine": machine_info(device),
            "profile": profile,
            "worker": wid,
        }
        self.n_records = 0
        self.n_events = 0
        self._fh = open(self.partial_path, "a", encoding="utf-8")
        if self._fh.tell() == 0:
            self._write_line(self.header)
        _fsync_dir(self.path.parent)

    def _write_line(self, obj: Mapping[str, Any]) -> None:
        self._fh.write(json_line(obj))
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def _check_open(self) -> None:
        if self._fh.closed:
            raise LedgerError(f"ledger writer for {self.partial_path} is closed; open a new one")

    def append(self, record: Mapping[str, Any]) -> None:
        """Validate and write one record durably (one JSON line, flush, fsync)."""
        self._check_open()
        if not isinstance(record, Mapping):
            raise TypeError(f"record={record!r} must be a mapping (use make_record)")
        data = jsonable(record)
        data.setdefault("worker", self.worker)
        validate_record(data)
        self._write_line({"type": "record", "record": data})
        self.n_records += 1

    def event(self, kind: str, **fields: Any) -> None:
        """Validate and write one event durably: ``plan`` (node_ids, regimes), ``outcome``
        (node_id, outcome, final_attempt, message) or ``finish`` (state, reason, exitstatus);
        see :mod:`verify.runstate`."""
        self._check_open()
        data = jsonable({"kind": kind, **fields})
        validate_event(data, f"event {kind!r}")
        self._write_line({"type": "event", "event": data})
        self.n_events += 1

    def close(self) -> None:
        """Close the partial file (its lines stay readable by :func:`load_ledger`)."""
        if not self._fh.closed:
            self._fh.close()

    def finalize(self) -> Path:
        """Close and merge *all* workers' partial files into the final JSON (see module doc)."""
        self.close()
        return finalize_ledger(self.path)

    def __enter__(self) -> LedgerWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def atomic_write_text(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` atomically and durably: a temporary file in the same
    folder, fsync, ``os.replace``, fsync of the folder; the temporary file is removed on any
    failure, so ``path`` holds either its old content or ``text``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def json_line(obj: Mapping[str, Any]) -> str:
    """One strict-JSON line (no NaN), as the ledger files write them."""
    return json.dumps(obj, allow_nan=False, separators=(",", ":")) + "\n"


def finalize_ledger(path: str | os.PathLike[str], *, recovered: bool = False,
                    select: Callable[[Ledger], list[dict[str, Any]]] | None = None) -> Path:
    """Merge every partial file of ``path`` into the final JSON ledger, then remove them.

    Events are kept and the state is computed from them, so a run without a finish event
    (killed) or with an ``interrupted``/``crashed`` one stays incomplete. ``recovered=True``
    marks a ledger merged after the fact (``resnet-limits runs recover``). ``select`` picks
    the records the final file keeps from the merged ledger (default: all); a sweep drops the
    records of attempts that never got their outcome event (:mod:`verify.sweep_ledger`).

    Write order: temporary file, fsync, ``os.replace``, fsync of the folder, and only then the
    partials are deleted, so a crash at any point leaves either the partials or the final file
    (or both). Call it once, after every writer has closed (the xdist controller does it).
    """
    final = Path(path)
    paths = partial_paths(final)
    ledger = merge_partials(paths, final)
    if select is not None:
        kept = list(select(ledger))
        ledger = replace(ledger, records=tuple(kept), state=run_state(ledger.events, kept))
    doc = ledger.to_dict()
    doc["finalized"] = utc_now()
    doc["recovered"] = bool(recovered)
    atomic_write_text(final, json_line(doc))
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    return final
