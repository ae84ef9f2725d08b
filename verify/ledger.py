"""The run ledger: one JSON document per run, written so that no finished record is lost.

Layout on disk, for a final ledger ``runs/2025-01-01T12-00-00.json``:

``runs/2025-01-01T12-00-00.<worker>.partial.jsonl``
    One file per process (pytest-xdist worker id such as ``gw0``, or ``main``), written while
    the run goes on. Line 1 is the header ``{"type": "header", "schema_version": 2, ...}``; each
    further line is ``{"type": "record", "record": {...}}`` (schema: :mod:`verify.ledger_schema`)
    or ``{"type": "event", "event": {...}}`` (plan, outcome, finish: :mod:`verify.runstate`),
    appended with ``flush`` + ``fsync`` as it arrives. A crash or Ctrl-C leaves every completed
    line readable; at worst the last line is torn, and readers ignore a torn *last* line.
``runs/2025-01-01T12-00-00.json``
    Written by :func:`finalize_ledger` (or :meth:`LedgerWriter.finalize`): all partial files of
    the ledger are merged (workers in name order, records in arrival order), written to a
    temporary file in the same folder, fsynced and moved into place with ``os.replace`` (atomic
    on POSIX and Windows); the partials are removed only afterwards.

Final document::

    {"schema_version": 2, "created": ISO-8601 UTC, "finalized": ISO-8601 UTC,
     "recovered": bool, "commit": "<git HEAD>" | "unknown",
     "versions": {"python": ..., "numpy": ..., ...},
     "machine": {"platform": ..., "machine": ..., "cpu_count": ..., "device": ...},
     "profile": "ci", "state": RunState.to_dict(), "events": [...], "records": [...]}

The state is never taken on trust: :func:`load_ledger` recomputes it from the events
(:func:`verify.runstate.run_state`), so finalizing (or recovering) a run that did not finish
gives an *incomplete* ledger. Corrupt content raises :class:`LedgerError` naming the file, the
line (partials) or record index (final files) and the field.

With pytest-xdist each worker appends to its own partial file; only the controller finalizes,
after the workers are done (finalizing while another process still appends would miss its
later records). Values are made JSON-safe on the way in: numpy scalars and arrays become Python
numbers and lists, tuples become lists, objects with ``to_dict()`` are converted, and
non-finite floats become ``None`` (strict JSON has no NaN or Infinity).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from verify.ledger_schema import RecordError, make_record, validate_record
from verify.provenance import collect_versions, git_commit, jsonable, machine_info, worker_id
from verify.runstate import EventError, RunState, run_state, validate_event

__all__ = [
    "SCHEMA_VERSION",
    "Ledger",
    "LedgerError",
    "LedgerWriter",
    "collect_versions",
    "ensure_writable",
    "finalize_ledger",
    "git_commit",
    "iter_records",
    "jsonable",
    "load_ledger",
    "machine_info",
    "make_record",
    "partial_paths",
    "worker_id",
]

SCHEMA_VERSION = 2
_PARTIAL_SUFFIX = ".partial.jsonl"


class LedgerError(Exception):
    """A ledger file that cannot be read or written: missing, not JSON, torn header, other
    schema, a corrupt record or event (file, line or index, field), an unwritable folder."""


def _utc_now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def partial_paths(path: str | os.PathLike[str]) -> list[Path]:
    """The partial files (all workers) belonging to the final ledger ``path``, sorted."""
    final = Path(path)
    pattern = f"{final.stem}.*{_PARTIAL_SUFFIX}"
    stem_re = re.compile(re.escape(final.stem) + r"\.[A-Za-z0-9_-]+" + re.escape(_PARTIAL_SUFFIX))
    if not final.parent.is_dir():
        return []
    return sorted(p for p in final.parent.glob(pattern) if stem_re.fullmatch(p.name))


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


@dataclass(frozen=True)
class Ledger:
    """A loaded ledger: header facts, records, events and the run's computed state.

    ``finalized`` is None when read from partial files; ``sources`` names the files read.
    ``state.complete`` is true only when the run finished and every planned test reported.
    """

    schema_version: int
    created: str
    commit: str
    versions: Mapping[str, str]
    machine: Mapping[str, Any]
    profile: str
    records: tuple[dict[str, Any], ...]
    events: tuple[dict[str, Any], ...]
    state: RunState
    finalized: str | None = None
    recovered: bool = False
    sources: tuple[str, ...] = field(default=())

    @property
    def complete(self) -> bool:
        """The run finished and every planned test has an outcome (see :class:`RunState`)."""
        return self.state.complete

    @property
    def is_final(self) -> bool:
        """Read from a final ``.json`` file (not from partials)."""
        return self.finalized is not None

    def to_dict(self) -> dict[str, Any]:
        """The final-ledger document."""
        return {
            "schema_version": self.schema_version,
            "created": self.created,
            "finalized": self.finalized,
            "recovered": self.recovered,
            "commit": self.commit,
            "versions": dict(self.versions),
            "machine": dict(self.machine),
            "profile": self.profile,
            "state": self.state.to_dict(),
            "events": list(self.events),
            "records": list(self.records),
        }


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
        self.partial_path = self.path.with_name(f"{self.path.stem}.{wid}{_PARTIAL_SUFFIX}")
        ensure_writable(self.path)
        self.header = {
            "type": "header",
            "schema_version": SCHEMA_VERSION,
            "created": _utc_now(),
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
        line = json.dumps(obj, allow_nan=False, separators=(",", ":"))
        self._fh.write(line + "\n")
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


def _check_schema(doc: Mapping[str, Any], path: Path) -> None:
    version = doc.get("schema_version")
    if version != SCHEMA_VERSION:
        raise LedgerError(
            f"ledger {path} has schema_version={version!r}; this resnet-limits reads "
            f"{SCHEMA_VERSION}: re-run `resnet-limits verify` (or read it with the version "
            "that wrote it)"
        )


def _checked_record(obj: Any, path: Path, where: str) -> dict[str, Any]:
    try:
        return validate_record(obj)
    except RecordError as exc:
        raise LedgerError(f"corrupt ledger {path}: {where}: {exc}; the file was not written "
                          "by this resnet-limits or was edited") from None


def _checked_event(obj: Any, path: Path, where: str) -> dict[str, Any]:
    try:
        return validate_event(obj, "event")
    except EventError as exc:
        raise LedgerError(f"corrupt ledger {path}: {where}: {exc}") from None


def _read_partial(
    path: Path,
) -> tuple[dict[str, Any] | None, list[dict[str, Any]], list[dict[str, Any]]]:
    """Header, records and events of one partial file; a torn last line is ignored.

    A file without a single complete line (the writer died while writing its header) gives
    ``(None, [], [])``.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LedgerError(f"cannot read partial ledger {path}: {exc}") from None
    # A complete file ends with "\n", leaving a final empty string; anything else is torn
    # (a last line without newline is a torn write: ignored by design).
    complete_lines = text.split("\n")[:-1]
    tail_empty = text.endswith("\n")
    parsed: list[tuple[int, Any]] = []
    for number, line in enumerate(complete_lines, start=1):
        try:
            parsed.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            if number == len(complete_lines) and tail_empty:
                break  # torn last line whose newline made it to disk: ignore
            raise LedgerError(
                f"corrupt line {number} in partial ledger {path}: {exc.msg} (not JSON)"
            ) from None
    if not parsed:
        return None, [], []
    header = parsed[0][1]
    if not isinstance(header, dict) or header.get("type") != "header":
        raise LedgerError(f"partial ledger {path} has no complete header line")
    _check_schema(header, path)
    records, events = [], []
    for number, obj in parsed[1:]:
        kind = obj.get("type") if isinstance(obj, dict) else None
        if kind == "record" and "record" in obj:
            records.append(_checked_record(obj["record"], path, f"line {number} (record "
                                           f"{len(records) + 1})"))
        elif kind == "event" and "event" in obj:
            events.append(_checked_event(obj["event"], path, f"line {number}"))
        else:
            raise LedgerError(f"corrupt line {number} in partial ledger {path}: neither a "
                              "record nor an event line (field 'type')")
    return header, records, events


def _merge_partials(paths: list[Path], sources_for: Path) -> Ledger:
    if not paths:
        raise LedgerError(f"no ledger at {sources_for} and no partial files beside it")
    headers, records, events, used = [], [], [], []
    for p in paths:
        header, recs, evs = _read_partial(p)
        if header is None:
            continue
        headers.append(header)
        records.extend(recs)
        events.extend(evs)
        used.append(p)
    if not headers:
        raise LedgerError(f"partial ledger(s) {[str(p) for p in paths]} hold no complete header")
    first = min(headers, key=lambda h: str(h.get("created", "")))
    profile = ",".join(sorted({str(h.get("profile")) for h in headers}))
    return Ledger(
        schema_version=SCHEMA_VERSION,
        created=str(first.get("created", "")),
        commit=str(first.get("commit", "unknown")),
        versions=dict(first.get("versions", {})),
        machine=dict(first.get("machine", {})),
        profile=profile,
        records=tuple(records),
        events=tuple(events),
        state=run_state(events, records),
        sources=tuple(str(p) for p in used),
    )


def _load_final(p: Path) -> Ledger:
    try:
        with open(p, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, UnicodeDecodeError) as exc:
        raise LedgerError(f"cannot read ledger {p}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise LedgerError(
            f"ledger {p} is not valid JSON ({exc.msg} at line {exc.lineno}); a torn final file "
            "should not happen (it is written by os.replace): check the path"
        ) from None
    if not isinstance(doc, dict):
        raise LedgerError(f"ledger {p} holds a {type(doc).__name__}, not a ledger object")
    _check_schema(doc, p)
    raw_records, raw_events = doc.get("records"), doc.get("events")
    if not isinstance(raw_records, list):
        raise LedgerError(f"ledger {p} has no 'records' list")
    if not isinstance(raw_events, list):
        raise LedgerError(f"ledger {p} has no 'events' list")
    records = [_checked_record(r, p, f"record {i}") for i, r in enumerate(raw_records, 1)]
    events = [_checked_event(e, p, f"event {i}") for i, e in enumerate(raw_events, 1)]
    state = run_state(events, records)
    stored = doc.get("state")
    if state.complete and isinstance(stored, Mapping) and stored.get("complete") is False:
        # Never upgrade: a file that says incomplete stays incomplete.
        state = RunState(False, str(stored.get("reason") or "missing"),
                         str(stored.get("detail") or "the ledger says the run is incomplete"),
                         state.exitstatus, state.planned_nodes)
    return Ledger(
        schema_version=SCHEMA_VERSION,
        created=str(doc.get("created", "")),
        commit=str(doc.get("commit", "unknown")),
        versions=dict(doc.get("versions", {})),
        machine=dict(doc.get("machine", {})),
        profile=str(doc.get("profile", "")),
        records=tuple(records),
        events=tuple(events),
        state=state,
        finalized=str(doc.get("finalized") or "unknown"),
        recovered=bool(doc.get("recovered", False)),
        sources=(str(p),),
    )


def load_ledger(path: str | os.PathLike[str]) -> Ledger:
    """Read a final ledger (``*.json``) or partial ledger(s).

    * ``*.partial.jsonl``: that one partial file (complete lines, torn last line ignored).
    * ``*.json`` that exists: the final document.
    * ``*.json`` that does not exist: all its partial files merged (an interrupted, killed or
      still-running run).

    Raises :class:`LedgerError` with a one-line message naming the file for missing or
    unreadable files, a torn header, a corrupt line before the last, a record or event that
    does not follow schema 2 (with its line or index and field), or a ``schema_version``
    other than :data:`SCHEMA_VERSION`.
    """
    p = Path(path)
    if p.name.endswith(_PARTIAL_SUFFIX):
        if not p.is_file():
            raise LedgerError(f"no partial ledger at {p}")
        return _merge_partials([p], p)
    if not p.exists():
        return _merge_partials(partial_paths(p), p)
    return _load_final(p)


def _atomic_write_json(path: Path, doc: Mapping[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, allow_nan=False, separators=(",", ":"))
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


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
    ledger = _merge_partials(paths, final)
    if select is not None:
        kept = list(select(ledger))
        ledger = replace(ledger, records=tuple(kept), state=run_state(ledger.events, kept))
    doc = ledger.to_dict()
    doc["finalized"] = _utc_now()
    doc["recovered"] = bool(recovered)
    _atomic_write_json(final, doc)
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    return final


def iter_records(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Iterate over the records of a final or partial ledger (see :func:`load_ledger`)."""
    yield from load_ledger(path).records
