"""Per-regime outcomes of a run, from its ledger records and events (schema 2).

Pure functions over plain dicts (no torch, no numerics, no theory): the report, ``compare``,
``report --json`` and the pytest plugin's terminal summary all read outcomes from here.

API (what the plugin calls; also importable as ``verify.outcomes``)::

    from verify.outcomes import outcomes, summary_lines, summary_json
    ledger = load_ledger(path)                       # verify.ledger
    for line in summary_lines(ledger): print(line)   # state banner + one line per regime
    json.dumps(summary_json(ledger, ledger=str(path)))
    regs = outcomes(ledger.records, ledger.events, ledger.state)   # list[RegimeOutcome]

Rules
-----
*Expected verdict*: a claim (role ``"claim"``) is expected ``consistent``, a control (role
``"control:<name>"``, a wrong twin) ``inconsistent``. A record *meets* its expectation when its
verdict status equals the expected one.

*Folding*: for a node (test) whose outcome event is ``failed`` or ``refuted`` with an integer
``final_attempt``, only its records with ``attempt == final_attempt`` count (the shrunk, minimal
counterexample); its other records are shrink or exploration steps, kept in the ledger and
shown as a count. Every record of any other node counts.

*Words* (per regime, over its counted records):

theorem / derived: ``failed`` if a claim was judged inconsistent or a control consistent, or a
    test failed without a judged record; else ``inconclusive`` if a record missed its
    expectation (an inconclusive verdict), nothing was judged, or the regime did not finish;
    else ``verified``.
conjecture: ``refuted`` if a claim was judged inconsistent (or a node says refuted); else
    ``inconclusive`` if a control was judged consistent (the check cannot tell the claim from
    its wrong twin), a record was inconclusive, nothing was judged or the regime did not
    finish; else ``confirmed``. A refuted conjecture is a finding, not a failure.

Order: regimes sorted by name; records within a regime by claim id, then role (the claim
before its controls, controls by name), then node id and attempt.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from verify.runstate import RunState, node_regimes

__all__ = [
    "CONJECTURE_WORDS",
    "THEOREM_WORDS",
    "NodeFold",
    "RegimeOutcome",
    "counted_indices",
    "describe_instance",
    "expected_verdict",
    "fold",
    "meets",
    "outcomes",
    "record_order",
    "run_passed",
    "summary_json",
    "summary_lines",
]

THEOREM_WORDS = ("verified", "failed", "inconclusive")
CONJECTURE_WORDS = ("confirmed", "refuted", "inconclusive")
SUMMARY_SCHEMA = "resnet-limits-summary/1"
_FOLDING = ("failed", "refuted")


def expected_verdict(role: str) -> str:
    """``"inconsistent"`` for a control (``"control:<name>"``), else ``"consistent"``."""
    return "inconsistent" if str(role).startswith("control") else "consistent"


def _status(rec: Mapping[str, Any]) -> str:
    return str((rec.get("verdict") or {}).get("status", "none"))


def meets(rec: Mapping[str, Any]) -> bool:
    """Whether the record's verdict is the expected one (claim consistent, control rejected)."""
    return _status(rec) == expected_verdict(str(rec.get("role", "claim")))


def _wrong_way(rec: Mapping[str, Any]) -> bool:
    """A claim judged inconsistent or a control judged consistent (not merely inconclusive)."""
    is_control = str(rec.get("role", "claim")).startswith("control")
    return _status(rec) == ("consistent" if is_control else "inconsistent")


def record_order(rec: Mapping[str, Any], index: int = 0) -> tuple:
    """The stable sort key: regime, claim id, role (claim first), node id, attempt, index."""
    role = str(rec.get("role", "claim"))
    attempt = rec.get("attempt")
    return (str(rec.get("regime", "")), str(rec.get("claim", "")), role != "claim", role,
            str(rec.get("node_id", "")), attempt if isinstance(attempt, int) else -1, index)


def describe_instance(rec: Mapping[str, Any]) -> str:
    """``"tanh, alpha=0.7, d=2, bias, seed=0"``: the instance of one record in one line."""
    inst = rec.get("instance") or {}
    values = inst.get("values") or {}
    parts = [str(inst.get("sigma", "-"))]
    parts += [f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
              for k, v in sorted(values.items())]
    parts.append(f"d={inst.get('width', '-')}")
    if inst.get("bias"):
        parts.append("bias")
    parts.append(f"seed={rec.get('seed', '-')}")
    return ", ".join(parts)


@dataclass(frozen=True)
class NodeFold:
    """One test (node id): its outcome event and which of its records count."""

    node_id: str
    outcome: str | None  # None: no outcome event (the run stopped before the test ended)
    final_attempt: int | None
    message: str
    counted: tuple[int, ...]  # indices into the records
    folded: tuple[int, ...]  # shrink / exploration steps


def fold(records: Sequence[Mapping[str, Any]],
         events: Sequence[Mapping[str, Any]] = ()) -> dict[str, NodeFold]:
    """Per node id: the counted records and the folded shrink steps (see the module doc)."""
    last: dict[str, Mapping[str, Any]] = {}
    for ev in events:
        if ev.get("kind") == "outcome":
            last[str(ev.get("node_id"))] = ev
    by_node: dict[str, list[int]] = {}
    for i, rec in enumerate(records):
        by_node.setdefault(str(rec.get("node_id", "")), []).append(i)
    for node in last:
        by_node.setdefault(node, [])
    out = {}
    for node, indices in by_node.items():
        ev = last.get(node)
        outcome = str(ev["outcome"]) if ev else None
        final = ev.get("final_attempt") if ev else None
        if outcome in _FOLDING and isinstance(final, int):
            counted = tuple(i for i in indices if records[i].get("attempt") == final)
        else:
            counted = tuple(indices)
        folded = tuple(i for i in indices if i not in set(counted))
        out[node] = NodeFold(node, outcome, final if isinstance(final, int) else None,
                             str(ev.get("message", "")) if ev else "", counted, folded)
    return out


def counted_indices(records: Sequence[Mapping[str, Any]],
                    events: Sequence[Mapping[str, Any]] = ()) -> tuple[list[int], list[int]]:
    """(counted, folded) record indices over the whole run, each in stable order."""
    nodes = fold(records, events).values()
    key = lambda i: record_order(records[i], i)  # noqa: E731
    return (sorted((i for n in nodes for i in n.counted), key=key),
            sorted((i for n in nodes for i in n.folded), key=key))


@dataclass(frozen=True)
class RegimeOutcome:
    """The outcome of one regime: its word, tallies, folded steps and counterexamples."""

    regime: str
    status: str  # "theorem" | "derived" | "conjecture" | "" (no records)
    word: str
    why: str
    claims: Mapping[str, int]  # verdict status -> number of counted claim records
    controls: Mapping[str, int]  # verdict status -> number of counted control records
    counted: tuple[int, ...]  # record indices, stable order
    shrink_steps: int
    counterexamples: tuple[int, ...]  # counted records that missed, of failed/refuted nodes
    nodes: tuple[NodeFold, ...] = field(default=())
    complete: bool = True

    @property
    def verdict(self) -> str:
        """Alias of :attr:`word`."""
        return self.word

    @property
    def is_conjecture(self) -> bool:
        return self.status == "conjecture"

    @property
    def expected_word(self) -> str:
        """The word of a good outcome: ``confirmed`` for a conjecture, else ``verified``."""
        return "confirmed" if self.is_conjecture else "verified"

    @property
    def flagged(self) -> bool:
        """Whether the summaries mark this regime: its word is not the expected one, unless
        every test was skipped on purpose (``skipped``: a claim checked only in heavier
        profiles, its reason in :attr:`why`)."""
        return self.word not in (self.expected_word, "skipped")

    @property
    def n_examples(self) -> int:
        return len(self.counted)

    def describe(self) -> str:
        """e.g. ``"claims 10/10 consistent; controls 9/10 rejected (1 consistent);
        + 12 shrink steps"``."""
        parts = []
        for label, tally, good, verb in (("claims", self.claims, "consistent", "consistent"),
                                         ("controls", self.controls, "inconsistent",
                                          "rejected")):
            n = sum(tally.values())
            if n:
                other = ", ".join(f"{v} {k}" for k, v in sorted(tally.items()) if k != good)
                parts.append(f"{label} {tally.get(good, 0)}/{n} {verb}"
                             + (f" ({other})" if other else ""))
        text = "; ".join(parts) or (self.why if self.word == "skipped" else
                                    "no judged examples")
        if self.shrink_steps:
            text += f"; + {self.shrink_steps} shrink step{'s' * (self.shrink_steps != 1)}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"regime": self.regime, "status": self.status, "outcome": self.word,
                "expected": self.expected_word, "why": self.why, "complete": self.complete,
                "claims": dict(sorted(self.claims.items())),
                "controls": dict(sorted(self.controls.items())),
                "examples": self.n_examples, "shrink_steps": self.shrink_steps,
                "counterexamples": len(self.counterexamples)}


def _word(status: str, recs: list[Mapping[str, Any]], nodes: list[NodeFold],
          complete: bool) -> tuple[str, str]:
    claims = [r for r in recs if not str(r.get("role", "claim")).startswith("control")]
    controls = [r for r in recs if str(r.get("role", "claim")).startswith("control")]
    failed_nodes = [n for n in nodes if n.outcome in _FOLDING]
    if status == "conjecture":
        if any(_status(r) == "inconsistent" for r in claims):
            return "refuted", "a claim was judged inconsistent"
        if any(n.outcome == "refuted" for n in failed_nodes):
            return "refuted", "a test reported the conjecture refuted"
        if any(_status(r) == "consistent" for r in controls):
            return "inconclusive", "a control (wrong twin) was judged consistent: the check " \
                                   "cannot tell the claim from it"
    else:
        if any(_wrong_way(r) for r in recs):
            return "failed", "a claim was judged inconsistent or a control consistent"
        if any(not meets(r) for r in recs):
            return "inconclusive", "some verdicts were inconclusive"
        if failed_nodes:
            return "failed", f"a test failed: {failed_nodes[0].message or 'no message'}"
    if any(not meets(r) for r in recs):
        return "inconclusive", "some verdicts were inconclusive"
    if not complete:
        return "inconclusive", "the run did not finish this regime"
    if not recs and nodes and all(n.outcome == "skipped" for n in nodes):
        return "skipped", nodes[0].message or "every test was skipped (no reason given)"
    if not recs:
        return "inconclusive", "nothing was judged (skipped or not run)"
    return ("confirmed" if status == "conjecture" else "verified"), "every example met its " \
                                                                     "expectation"


def outcomes(records: Sequence[Mapping[str, Any]],
             events: Sequence[Mapping[str, Any]] = (),
             state: RunState | None = None) -> list[RegimeOutcome]:
    """One :class:`RegimeOutcome` per regime (sorted by name), including planned regimes
    without records. ``state`` (from the ledger) marks regimes that did not finish."""
    nodes = fold(records, events)
    owner = node_regimes(events, records)
    names = {str(r.get("regime", "")) for r in records}
    for ev in events:
        if ev.get("kind") == "plan":
            names.update(ev.get("regimes", ()))
    unfinished = set(state.missing_regimes) if state is not None else set()
    if state is not None:
        unfinished |= {owner[n] for n in state.missing_nodes if n in owner}
    counted_all = {i for n in nodes.values() for i in n.counted}
    folded_all = {i for n in nodes.values() for i in n.folded}
    out = []
    for name in sorted(names):
        here = [i for i, r in enumerate(records) if str(r.get("regime", "")) == name]
        mine = sorted((n for n in nodes.values() if owner.get(n.node_id) == name
                       or any(str(records[i].get("regime", "")) == name
                              for i in n.counted + n.folded)), key=lambda n: n.node_id)
        counted = sorted((i for i in here if i in counted_all),
                         key=lambda i: record_order(records[i], i))
        recs = [records[i] for i in counted]
        statuses = {str(records[i].get("status", "")) for i in here}
        status = "conjecture" if "conjecture" in statuses else (
            "theorem" if "theorem" in statuses else next(iter(sorted(statuses)), ""))
        complete = name not in unfinished
        word, why = _word(status, recs, mine, complete)
        failing = {n.node_id for n in mine if n.outcome in _FOLDING}
        counter = tuple(i for i in counted if records[i].get("node_id") in failing
                        and not meets(records[i]))
        if word in ("failed", "refuted") and not counter:
            counter = tuple(i for i in counted if _wrong_way(records[i]))
        is_control = [str(r.get("role", "claim")).startswith("control") for r in recs]
        out.append(RegimeOutcome(
            regime=name, status=status, word=word, why=why,
            claims=dict(Counter(_status(r) for r, c in zip(recs, is_control, strict=True)
                                if not c)),
            controls=dict(Counter(_status(r) for r, c in zip(recs, is_control, strict=True)
                                  if c)),
            counted=tuple(counted), shrink_steps=sum(i in folded_all for i in here),
            counterexamples=counter, nodes=tuple(mine), complete=complete))
    return out


def run_passed(regimes: Sequence[RegimeOutcome], state: RunState | None = None) -> bool:
    """True when no regime failed and the run is complete (refuted conjectures are findings,
    not failures; an inconclusive regime does not fail the run either)."""
    return (state is None or state.complete) and not any(o.word == "failed" for o in regimes)


def _resolve(run: Any, state: RunState | None,
             records: Sequence[Mapping[str, Any]]) -> tuple[list[RegimeOutcome],
                                                            RunState | None,
                                                            Sequence[Mapping[str, Any]]]:
    """Accept a loaded ledger (anything with ``records``, ``events``, ``state``) or a list of
    outcomes."""
    if hasattr(run, "records") and hasattr(run, "events"):
        st = getattr(run, "state", None)
        return outcomes(run.records, run.events, st), st, run.records
    return list(run), state, records


def _counterexample(rec: Mapping[str, Any]) -> dict[str, Any]:
    return {"claim": rec.get("claim"), "role": rec.get("role"),
            "verdict": (rec.get("verdict") or {}).get("status"),
            "instance": rec.get("instance"), "seed": rec.get("seed"),
            "describe": describe_instance(rec), "replay": rec.get("replay", "")}


def summary_lines(run: Any, state: RunState | None = None,
                  records: Sequence[Mapping[str, Any]] = ()) -> list[str]:
    """The terminal summary of ``run`` (a loaded ledger, or outcomes with ``state`` and
    ``records``): ``INCOMPLETE ...`` first when the run did not finish, then one line per
    regime with its word (``<--`` where it is not the expected one), and under each failed or
    refuted regime its minimal counterexample and replay command."""
    regimes, state, records = _resolve(run, state, records)
    lines = [state.headline()] if state is not None and not state.complete else []
    width = max([len(o.regime) for o in regimes] + [6])
    for o in regimes:
        mark = "  <--" if o.flagged else ""
        lines.append(f"{o.regime:<{width}}  {o.word:<12}  {o.describe()}{mark}")
        for i in o.counterexamples[:1] if records else ():
            rec = records[i]
            lines.append(f"{'':<{width}}  counterexample ({rec.get('claim')}, "
                         f"{rec.get('role')}): {describe_instance(rec)}")
            if rec.get("replay"):
                lines.append(f"{'':<{width}}  replay: {rec['replay']}")
    return lines


def summary_json(run: Any, state: RunState | None = None,
                 records: Sequence[Mapping[str, Any]] = (), **extra: Any) -> dict[str, Any]:
    """The machine-readable summary of ``run`` (a loaded ledger, or outcomes with ``state``
    and ``records``): state, per-regime outcome words and tallies (with the minimal
    counterexamples when records are known), totals. ``extra`` keys are added at the top."""
    regimes, state, records = _resolve(run, state, records)
    words = Counter(o.word for o in regimes)
    rows = []
    for o in regimes:
        row = o.to_dict()
        if records:
            row["counterexample_records"] = [_counterexample(records[i])
                                             for i in o.counterexamples]
        rows.append(row)
    return {
        "schema": SUMMARY_SCHEMA,
        **extra,
        "state": state.to_dict() if state is not None else None,
        "complete": bool(state.complete) if state is not None else None,
        "passed": run_passed(regimes, state),
        "totals": {w: words.get(w, 0) for w in (*THEOREM_WORDS, "confirmed", "refuted",
                                                 "skipped")},
        "examples": sum(o.n_examples for o in regimes),
        "shrink_steps": sum(o.shrink_steps for o in regimes),
        "regimes": rows,
    }
