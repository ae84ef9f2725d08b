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
    Written by :func:`verify.ledger_writer.finalize_ledger` (or
    :meth:`~verify.ledger_writer.LedgerWriter.finalize`): all partial files of
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

import datetime as _dt
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verify.ledger_schema import RecordError, make_record, validate_record
from verify.provenance import collect_versions, git_commit, jsonable, machine_info, worker_id
from verify.runstate import EventError, RunState, run_state, validate_event

__all__ = [
    "PARTIAL_SUFFIX",
    "SCHEMA_VERSION",
    "Ledger",
    "LedgerError",
    "collect_versions",
    "git_commit",
    "iter_records",
    "jsonable",
    "load_ledger",
    "machine_info",
    "make_record",
    "merge_partials",
    "partial_paths",
    "utc_now",
    "worker_id",
]

SCHEMA_VERSION = 2
PARTIAL_SUFFIX = ".partial.jsonl"


class LedgerError(Exception):
    """A ledger file that cannot be read or written: missing, not JSON, torn header, other
    schema, a corrupt record or event (file, line or index, field), an unwritable folder."""


def utc_now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def partial_paths(path: str | os.PathLike[str]) -> list[Path]:
    """The partial files (all workers) belonging to the final ledger ``path``, sorted."""
    final = Path(path)
    pattern = f"{final.stem}.*{PARTIAL_SUFFIX}"
    stem_re = re.compile(re.escape(final.stem) + r"\.[A-Za-z0-9_-]+" + re.escape(PARTIAL_SUFFIX))
    if not final.parent.is_dir():
        return []
    return sorted(p for p in final.parent.glob(pattern) if stem_re.fullmatch(p.name))


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


def merge_partials(paths: list[Path], sources_for: Path) -> Ledger:
    """The ledger of these partial files (workers in name order, records in arrival order);
    ``sources_for`` names the ledger in errors."""
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
    if p.name.endswith(PARTIAL_SUFFIX):
        if not p.is_file():
            raise LedgerError(f"no partial ledger at {p}")
        return merge_partials([p], p)
    if not p.exists():
        return merge_partials(partial_paths(p), p)
    return _load_final(p)


def iter_records(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Iterate over the records of a final or partial ledger (see :func:`load_ledger`)."""
    yield from load_ledger(path).records
