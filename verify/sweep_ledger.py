"""A schema-2 ledger as the store of a sweep (:mod:`verify.sweep`): resumable, fsynced.

Each task is one *node* of the ledger: its records carry ``node_id`` = the task id and an
``attempt`` number, and once all of them are written an ``outcome`` event (``passed`` when
every record met its expectation, else ``failed``) names the attempt that counts
(``final_attempt``). A task is finished exactly when it has an outcome event; its records are
those of that attempt. So a sweep killed between a task's records and its outcome loses only
that task: it is computed again under the next attempt number, and the stray records are
never counted (:func:`finished_tasks`) and left out of the final ledger.

Every session appends to its own partial file ``<stem>.sweep-NNNNNN.partial.jsonl`` (a killed
session's torn last line is never appended to); the events of a session are a ``plan`` (every
task id of this sweep), one outcome per task and a ``finish`` (``complete``, or
``interrupted`` / ``crashed`` with the reason), after which the ledger is finalized into
``<stem>.json`` (:func:`verify.ledger_writer.finalize_ledger`), as ``resnet-limits verify`` does.
Resuming from a final ledger first turns it back into one partial file: written atomically,
then the older partials (already inside the final file) and only then the final file are
removed, so a crash at any step leaves exactly one readable copy of every finished task.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from verify.ledger import Ledger, LedgerError, load_ledger, partial_paths
from verify.ledger_writer import (
    LedgerWriter,
    atomic_write_text,
    ensure_writable,
    finalize_ledger,
    json_line,
)
from verify.record import Record
from verify.sweep import Task

__all__ = ["LedgerStore", "finished_tasks"]

_SESSION = re.compile(r"sweep-(\d{6})")


def finished_tasks(ledger: Ledger) -> tuple[dict[str, list[dict[str, Any]]], dict[str, int]]:
    """(task id -> the records of its final attempt, task id -> the highest attempt seen) of a
    sweep ledger; a task without an outcome event is not finished."""
    final: dict[str, int] = {}
    for event in ledger.events:
        if event.get("kind") == "outcome" and isinstance(event.get("final_attempt"), int):
            final[str(event["node_id"])] = int(event["final_attempt"])
    records: dict[str, list[dict[str, Any]]] = {node: [] for node in final}
    attempts: dict[str, int] = {}
    for rec in ledger.records:
        node, attempt = str(rec.get("node_id", "")), int(rec.get("attempt", 0))
        attempts[node] = max(attempts.get(node, -1), attempt)
        if final.get(node) == attempt:
            records[node].append(rec)
    return records, attempts


def _counted(ledger: Ledger) -> list[dict[str, Any]]:
    """The records of finished tasks' final attempts, in ledger order (what a final sweep
    ledger keeps)."""
    done, _ = finished_tasks(ledger)
    keep = {id(r) for recs in done.values() for r in recs}
    return [r for r in ledger.records if id(r) in keep]


def _session(path: Path) -> int:
    worker = path.name[: -len(".partial.jsonl")].rsplit(".", 1)[-1]
    match = _SESSION.fullmatch(worker)
    return int(match.group(1)) if match else 0


class LedgerStore:
    """The sweep store for tasks whose result is a list of :class:`~verify.record.Record`.

    ``path``: the final ledger (``.json``); ``profile``: the budget's name, which a resumed
    ledger must share; ``regime_of``: the regime a task belongs to (for the plan, so that an
    unfinished regime is named), default none.
    """

    def __init__(self, path: str | os.PathLike[str], *, profile: str,
                 regime_of: Callable[[Task], str] | None = None) -> None:
        self.path = Path(path)
        self.profile = profile
        self.regime_of = regime_of
        self.resumed = 0
        self._writer: LedgerWriter | None = None
        self._attempts: dict[str, int] = {}

    def start(self, tasks: Sequence[Task]) -> dict[str, list[Record]]:
        """Read what an earlier session of this ledger finished, open this session's partial
        file and write the plan; return the finished tasks' records by task id."""
        ensure_writable(self.path)
        previous = self._previous()
        session = max((_session(p) for p in partial_paths(self.path)), default=0) + 1
        done: dict[str, list[dict[str, Any]]] = {}
        if previous is not None:
            done, self._attempts = finished_tasks(previous)
        self._writer = LedgerWriter(self.path, profile=self.profile,
                                    worker=f"sweep-{session:06d}")
        regimes = {t.id: self.regime_of(t) for t in tasks} if self.regime_of else {}
        self._writer.event("plan", node_ids=[t.id for t in tasks],
                           regimes=sorted(set(regimes.values())), node_regimes=regimes)
        wanted = {t.id for t in tasks}
        out = {tid: [Record.from_json(r) for r in recs] for tid, recs in done.items()
               if tid in wanted}
        self.resumed = len(out)
        return out

    def _previous(self) -> Ledger | None:
        """The earlier sessions' ledger (None for a new one), a final file turned back into a
        partial first; refuses a ledger of another profile or not written by a sweep."""
        if self.path.exists():
            ledger = load_ledger(self.path)
            self._check(ledger)
            self._reopen(ledger)
            return load_ledger(self.path)
        if not partial_paths(self.path):
            return None
        ledger = load_ledger(self.path)
        self._check(ledger)
        return ledger

    def _check(self, ledger: Ledger) -> None:
        others = sorted({str(r.get("worker")) for r in ledger.records
                         if not _SESSION.fullmatch(str(r.get("worker")))})
        if others:
            raise LedgerError(f"ledger {self.path} was not written by a sweep (records of "
                              f"workers {others[:3]}, e.g. from resnet-limits verify); pass a "
                              "new --ledger path")
        if ledger.profile and ledger.profile != self.profile:
            raise LedgerError(f"ledger {self.path} holds profile {ledger.profile!r}, this "
                              f"sweep runs {self.profile!r}: resume it with --profile "
                              f"{ledger.profile}, or pass a new --ledger path")

    def _reopen(self, ledger: Ledger) -> None:
        """Turn the final ledger back into one partial file (see the module doc)."""
        kept = _counted(ledger)
        session = max((_session(p) for p in partial_paths(self.path)), default=0) + 1
        target = self.path.with_name(f"{self.path.stem}.sweep-{session:06d}.partial.jsonl")
        header = {"type": "header", "schema_version": ledger.schema_version,
                  "created": ledger.created, "commit": ledger.commit,
                  "versions": dict(ledger.versions), "machine": dict(ledger.machine),
                  "profile": ledger.profile, "worker": f"sweep-{session:06d}"}
        lines = [header, *({"type": "record", "record": r} for r in kept),
                 *({"type": "event", "event": e} for e in ledger.events)]
        atomic_write_text(target, "".join(json_line(line) for line in lines))
        for old in partial_paths(self.path):
            if old != target:
                old.unlink(missing_ok=True)
        self.path.unlink()

    def put(self, task: Task, result: Sequence[Record]) -> None:
        """Append the task's records (fsynced, one line each), then its outcome event."""
        if self._writer is None:
            raise LedgerError(f"ledger store {self.path} is not started; call start(tasks)")
        if not isinstance(result, Sequence) or not all(isinstance(r, Record) for r in result):
            raise TypeError(f"task {task.label()} returned {type(result).__name__}; a task "
                            "stored in a ledger returns a list of verify.record.Record")
        from verify.plugin import replay_command

        attempt = self._attempts.get(task.id, -1) + 1
        self._attempts[task.id] = attempt
        for record in result:
            data = record.to_json()
            data.update(node_id=task.id, attempt=attempt, replay=replay_command(data))
            self._writer.append(data)
        met = all(r.met for r in result)
        self._writer.event("outcome", node_id=task.id, outcome="passed" if met else "failed",
                           final_attempt=attempt, message="" if met else "a record missed "
                           "its expected verdict")

    def finish(self, state: str, reason: str) -> None:
        """Write the finish event and finalize the ledger (all sessions merged)."""
        if self._writer is None:
            return
        self._writer.event("finish", state=state, reason=reason,
                           exitstatus=0 if state == "complete" else 1)
        self._writer.close()
        self._writer = None
        finalize_ledger(self.path, select=_counted)
