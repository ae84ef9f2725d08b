"""The state of a run, computed from its ledger events (schema 2): complete or incomplete, why,
and what did not run.

Pure functions over plain dicts: no numerics, no theory, no file access (the ledger and the
renderers both call :func:`run_state`).

Events (see ``verify/ledger.py``)::

    {"kind": "plan", "node_ids": [...], "regimes": [...]}           once, by the controller
                                      (optional "node_regimes": {node_id: regime})
    {"kind": "outcome", "node_id", "outcome", "final_attempt", "message"}   per claim test
    {"kind": "finish", "state": "complete" | "interrupted" | "crashed", "reason", "exitstatus"}

A run is **complete** exactly when its last finish event says ``complete`` *and* every planned
node id has an outcome event. Otherwise it is incomplete with one reason:

``killed``       no finish event (SIGKILL, power loss, or the run is still going);
``interrupted``  the finish event says so (Ctrl-C);
``crashed``      the finish event says so (an internal error);
``unplanned``    a finish event but no plan event (the run never reached collection);
``missing``      the finish event says complete, yet planned tests have no outcome (a worker
                 process died without reporting).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "EVENT_KINDS",
    "FINISH_STATES",
    "NODE_OUTCOMES",
    "REASONS",
    "RunState",
    "run_state",
    "validate_event",
]

EVENT_KINDS = ("plan", "outcome", "finish")
NODE_OUTCOMES = ("passed", "failed", "skipped", "confirmed", "refuted")
FINISH_STATES = ("complete", "interrupted", "crashed")
REASONS = ("killed", "interrupted", "crashed", "unplanned", "missing")


class EventError(ValueError):
    """An event that does not follow schema 2 (the message names the field)."""


def _need(event: Mapping[str, Any], key: str, types: type | tuple[type, ...], what: str) -> Any:
    if key not in event:
        raise EventError(f"{what} has no field {key!r}")
    value = event[key]
    if not isinstance(value, types) or (isinstance(value, bool) and types is int):
        raise EventError(f"{what} field {key!r}={value!r} has type {type(value).__name__}, "
                         f"expected {getattr(types, '__name__', types)}")
    return value


def validate_event(event: Any, what: str = "event") -> dict[str, Any]:
    """Check one event against schema 2; returns it, or raises :class:`EventError` naming the
    field."""
    if not isinstance(event, Mapping):
        raise EventError(f"{what} is a {type(event).__name__}, not an object")
    kind = _need(event, "kind", str, what)
    if kind == "plan":
        for key in ("node_ids", "regimes"):
            items = _need(event, key, list, what)
            if not all(isinstance(i, str) for i in items):
                raise EventError(f"{what} field {key!r} must be a list of strings")
        mapping = event.get("node_regimes")
        if mapping is not None and not (isinstance(mapping, Mapping) and all(
                isinstance(k, str) and isinstance(v, str) for k, v in mapping.items())):
            raise EventError(f"{what} field 'node_regimes' must map node ids to regime names")
    elif kind == "outcome":
        _need(event, "node_id", str, what)
        outcome = _need(event, "outcome", str, what)
        if outcome not in NODE_OUTCOMES:
            raise EventError(f"{what} field 'outcome'={outcome!r} is not one of {NODE_OUTCOMES}")
        final = event.get("final_attempt")
        if final is not None and (not isinstance(final, int) or isinstance(final, bool)):
            raise EventError(f"{what} field 'final_attempt'={final!r} must be an int or null")
    elif kind == "finish":
        state = _need(event, "state", str, what)
        if state not in FINISH_STATES:
            raise EventError(f"{what} field 'state'={state!r} is not one of {FINISH_STATES}")
    else:
        raise EventError(f"{what} field 'kind'={kind!r} is not one of {EVENT_KINDS}")
    return dict(event)


@dataclass(frozen=True)
class RunState:
    """Whether a run finished, and if not, why and what did not run (sorted tuples)."""

    complete: bool
    reason: str = ""  # "" when complete, else one of REASONS
    detail: str = ""
    exitstatus: int | None = None
    planned_nodes: int = 0
    missing_nodes: tuple[str, ...] = ()
    missing_regimes: tuple[str, ...] = field(default=())

    @property
    def word(self) -> str:
        """``"complete"`` or ``"incomplete (<reason>)"``."""
        return "complete" if self.complete else f"incomplete ({self.reason})"

    def headline(self) -> str:
        """One line for the top of a report or summary."""
        if self.complete:
            return f"complete: every planned test ({self.planned_nodes}) reported an outcome"
        what = []
        if self.missing_regimes:
            what.append("regimes not (fully) run: " + ", ".join(self.missing_regimes))
        if self.missing_nodes:
            what.append(f"{len(self.missing_nodes)} of {self.planned_nodes} planned tests "
                        "without outcome")
        return f"INCOMPLETE ({self.reason}): {self.detail}" + (
            "; " + "; ".join(what) if what else "")

    def to_dict(self) -> dict[str, Any]:
        return {"complete": self.complete, "state": "complete" if self.complete else
                "incomplete", "reason": self.reason, "detail": self.detail,
                "exitstatus": self.exitstatus, "planned_nodes": self.planned_nodes,
                "missing_nodes": list(self.missing_nodes),
                "missing_regimes": list(self.missing_regimes)}


def node_regimes(events: Iterable[Mapping[str, Any]],
                 records: Iterable[Mapping[str, Any]] = ()) -> dict[str, str]:
    """node id -> regime, from the plan's optional ``node_regimes`` and from the records."""
    out: dict[str, str] = {}
    for rec in records:
        node, regime = rec.get("node_id"), rec.get("regime")
        if isinstance(node, str) and node and isinstance(regime, str):
            out.setdefault(node, regime)
    for ev in events:
        if ev.get("kind") == "plan":
            out.update(ev.get("node_regimes") or {})
    return out


def run_state(events: Sequence[Mapping[str, Any]],
              records: Sequence[Mapping[str, Any]] = ()) -> RunState:
    """The :class:`RunState` of a run from its (validated) events and records."""
    plans = [e for e in events if e.get("kind") == "plan"]
    finishes = [e for e in events if e.get("kind") == "finish"]
    done = {e["node_id"] for e in events if e.get("kind") == "outcome"}
    planned = sorted({n for p in plans for n in p.get("node_ids", ())})
    planned_regimes = sorted({r for p in plans for r in p.get("regimes", ())})
    missing = tuple(n for n in planned if n not in done)
    owner = node_regimes(events, records)
    ran = {r.get("regime") for r in records} | {owner[n] for n in done if n in owner}
    lacking = {owner[n] for n in missing if n in owner}
    missing_regimes = tuple(sorted(lacking | {r for r in planned_regimes if r not in ran}))
    finish = finishes[-1] if finishes else None
    exitstatus = finish.get("exitstatus") if finish else None
    exitstatus = exitstatus if isinstance(exitstatus, int) else None
    common = dict(exitstatus=exitstatus, planned_nodes=len(planned), missing_nodes=missing,
                  missing_regimes=missing_regimes)
    if finish is None:
        return RunState(False, "killed", "no finish event: the run was killed (or is still "
                        "running)", **common)
    if finish["state"] != "complete":
        why = str(finish.get("reason") or "").strip()
        return RunState(False, finish["state"], why or f"the run was {finish['state']}",
                        **common)
    if not plans:
        return RunState(False, "unplanned", "no plan event: the run ended before its tests "
                        "were collected", **common)
    if missing:
        return RunState(False, "missing", f"finished, but {len(missing)} planned test(s) "
                        "reported no outcome (a worker process died?)", **common)
    return RunState(True, **{**common, "missing_regimes": ()})
