"""Schema 2 of a ledger record: its fields, their types, and a builder.

One record is one judged claim or control on one instance (see ``/work/briefs/schema2.md``,
mirrored here)::

    claim "R5/strong"  regime "R5"  quantity "strong"  role "claim" | "control:<name>"
    expected "consistent" | "inconsistent"
    status "theorem" | "derived" | "empirical" | "conjecture"
    instance {"sigma": str, "width": int, "bias": bool, "values": {name: float}}
    seed int  profile str
    prediction {"kind": "rate" | "growth" | "law" | "exact" | "monotone" | "decay", "exponent",
                "bound", "text"}
    table {"over", "at", "column", "mean", "se", "n", "overflow"} | null; a trained claim's
          also "curve" {"step": [int], "loss": [[per depth]]} and "history" {"step": [int],
          "mean": [[per depth]]} (means over seeds, never per-sample values); a large-time
          claim's ("over": "horizon") also "bound" (mean certified bound per T), per problem
          "grad_norm" and "converged", "method", the turnpike's "screen", "screened_out",
          "profiles" {T: [mean log E(t)]}, "predicted_slope" and "slope"
    fit RateFit.to_dict() | null   verdict Verdict.to_dict()
    derivation {"kind", "claimed_kind", "agrees", "reason"} | {} | null
    node_id str  replay str  attempt int  worker str

:func:`validate_record` checks presence and types (and that ``expected`` follows from
``role``: a claim is expected consistent, a control inconsistent); it raises
:class:`RecordError` naming the field. Nothing here interprets text: strings stay data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["RecordError", "expected_for", "make_record", "validate_record"]

_STATUSES = ("theorem", "derived", "empirical", "conjecture")  # theory.regime.STATUSES
_VERDICTS = ("consistent", "inconsistent", "inconclusive")
_NUMBER = (int, float)


class RecordError(ValueError):
    """A record that does not follow schema 2; ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"field {field!r}: {message}")
        self.field = field


def expected_for(role: str) -> str:
    """``"inconsistent"`` for a control (``"control:<name>"``), ``"consistent"`` for a claim."""
    return "inconsistent" if role.startswith("control") else "consistent"


def _type_name(types: Any) -> str:
    if isinstance(types, tuple):
        return " or ".join("null" if t is type(None) else t.__name__ for t in types)
    return types.__name__


def _get(rec: Mapping[str, Any], key: str, types: Any, prefix: str = "") -> Any:
    name = prefix + key
    if key not in rec:
        raise RecordError(name, "missing")
    value = rec[key]
    wanted = types if isinstance(types, tuple) else (types,)
    if isinstance(value, bool) and bool not in wanted:
        ok = False
    else:
        ok = isinstance(value, wanted)
    if not ok:
        raise RecordError(name, f"{value!r} has type {type(value).__name__}, expected "
                          f"{_type_name(types)}")
    return value


def _numbers(values: Any, name: str, *, nullable: bool = True) -> None:
    allowed = (*_NUMBER, type(None)) if nullable else _NUMBER
    if not isinstance(values, list) or not all(
            isinstance(v, allowed) and not isinstance(v, bool) for v in values):
        raise RecordError(name, f"must be a list of numbers{' or null' if nullable else ''}")


def _per_step(value: Mapping, name: str, rows: str, n_depths: int) -> None:
    """A per-step series of per-depth summaries: ``step`` ints, ``rows`` one list per step."""
    _numbers(_get(value, "step", list, f"{name}."), f"{name}.step", nullable=False)
    series = _get(value, rows, list, f"{name}.")
    if len(series) != len(value["step"]):
        raise RecordError(f"{name}.{rows}", f"has {len(series)} rows for "
                          f"{len(value['step'])} steps")
    if "of" in value:
        _get(value, "of", str, f"{name}.")
    for i, row in enumerate(series):
        _numbers(row, f"{name}.{rows}[{i}]")
        if len(row) != n_depths:
            raise RecordError(f"{name}.{rows}[{i}]", f"has {len(row)} values for {n_depths} "
                              "depths")


def validate_record(rec: Any) -> dict[str, Any]:
    """Check one record against schema 2 and return it; :class:`RecordError` otherwise."""
    if not isinstance(rec, Mapping):
        raise RecordError("record", f"is a {type(rec).__name__}, not an object")
    for key in ("claim", "regime", "quantity", "profile", "node_id", "replay", "worker"):
        _get(rec, key, str)
    role = _get(rec, "role", str)
    if role != "claim" and not role.startswith("control:"):
        raise RecordError("role", f"{role!r} is neither 'claim' nor 'control:<name>'")
    expected = _get(rec, "expected", str)
    if expected != expected_for(role):
        raise RecordError("expected", f"{expected!r} contradicts role {role!r} (a claim is "
                          "expected consistent, a control inconsistent)")
    status = _get(rec, "status", str)
    if status not in _STATUSES:
        raise RecordError("status", f"{status!r} is not one of {_STATUSES}")
    _get(rec, "seed", int)
    attempt = _get(rec, "attempt", int)
    if attempt < 0:
        raise RecordError("attempt", f"{attempt} must be >= 0")
    inst = _get(rec, "instance", Mapping)
    _get(inst, "sigma", str, "instance.")
    _get(inst, "width", int, "instance.")
    _get(inst, "bias", bool, "instance.")
    values = _get(inst, "values", Mapping, "instance.")
    for k, v in values.items():
        if not isinstance(v, (*_NUMBER, type(None))) or isinstance(v, bool):
            raise RecordError(f"instance.values.{k}", f"{v!r} is not a number")
    pred = _get(rec, "prediction", Mapping)
    _get(pred, "kind", str, "prediction.")
    _get(pred, "text", str, "prediction.")
    if "exponent" in pred:
        _get(pred, "exponent", (*_NUMBER, type(None)), "prediction.")
    if "bound" in pred:
        _get(pred, "bound", (str, type(None)), "prediction.")
    table = _get(rec, "table", (Mapping, type(None)))
    if table is not None:
        _get(table, "over", str, "table.")
        _get(table, "column", str, "table.")
        for key in ("at", "mean", "se"):
            _numbers(_get(table, key, list, "table."), f"table.{key}", nullable=key != "at")
        for key, rows in (("curve", "loss"), ("history", "mean")):
            if key in table:
                _per_step(_get(table, key, Mapping, "table."), f"table.{key}", rows,
                          len(table["at"]))
        for key, value in table.items():
            if isinstance(value, list) and any(isinstance(v, list | Mapping) for v in value):
                raise RecordError(f"table.{key}", "holds per-sample arrays; the ledger keeps "
                                  "summary statistics of the judged column only")
    _get(rec, "fit", (Mapping, type(None)))
    verdict = _get(rec, "verdict", Mapping)
    vstatus = _get(verdict, "status", str, "verdict.")
    if vstatus not in _VERDICTS:
        raise RecordError("verdict.status", f"{vstatus!r} is not one of {_VERDICTS}")
    for i, stage in enumerate(_get(rec, "stages", list) if "stages" in rec else ()):
        if not isinstance(stage, Mapping):
            raise RecordError(f"stages[{i}]", f"is a {type(stage).__name__}, not an object")
        _get(stage, "seed", int, f"stages[{i}].")
        if _get(stage, "status", str, f"stages[{i}].") not in _VERDICTS:
            raise RecordError(f"stages[{i}].status", f"{stage['status']!r} is not one of "
                              f"{_VERDICTS}")
    derivation = _get(rec, "derivation", (Mapping, type(None)))
    if derivation:  # None or {}: no derivation to show
        for key in ("kind", "claimed_kind", "reason"):
            _get(derivation, key, str, "derivation.")
        _get(derivation, "agrees", bool, "derivation.")
    return dict(rec)


def make_record(
    *,
    regime: str,
    quantity: str,
    role: str = "claim",
    status: str = "theorem",
    sigma: str = "tanh",
    width: int = 2,
    bias: bool = False,
    values: Mapping[str, float] | None = None,
    seed: int = 0,
    profile: str = "ci",
    prediction: Mapping[str, Any] | None = None,
    table: Any = None,
    fit: Any = None,
    verdict: Any = None,
    derivation: Mapping[str, Any] | None = None,
    node_id: str = "",
    replay: str = "",
    attempt: int = 0,
    worker: str | None = None,
    claim: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Build one schema-2 record (JSON-safe); ``claim`` defaults to ``"<regime>/<quantity>"``
    and ``expected`` follows from ``role``; ``worker`` is filled in by
    :meth:`~verify.ledger_writer.LedgerWriter.append` when not given. Objects with ``to_dict()``
    (RateFit, Verdict) are converted. The result is validated (:class:`RecordError` if a field
    is wrong)."""
    from verify.provenance import jsonable

    record = {
        "claim": claim if claim is not None else f"{regime}/{quantity}",
        "regime": regime, "quantity": quantity, "role": role, "expected": expected_for(role),
        "status": status,
        "instance": {"sigma": sigma, "width": width, "bias": bias, "values": dict(values or {})},
        "seed": seed, "profile": profile,
        "prediction": dict(prediction) if prediction is not None else {
            "kind": "rate", "exponent": None, "bound": None, "text": ""},
        "table": table, "fit": fit, "verdict": verdict, "derivation": derivation,
        "node_id": node_id, "replay": replay, "attempt": attempt,
    }
    if worker is not None:
        record["worker"] = worker
    record.update(extra)
    data = jsonable(record)
    validate_record({"worker": "main", **data})
    return data
