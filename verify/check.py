"""The one orchestrator: instance -> prediction -> simulate -> fit -> judge -> records.

:func:`check` verifies one :class:`theory.claims.Claim` of a regime on one concrete
:class:`theory.regime.Instance` and, on the same simulation (same seed, same coupled noise),
each of its wrong twins (:mod:`verify.controls`). It returns one :class:`verify.record.Record`
per judged column and role: a claim record must be ``consistent``, a control record
``inconsistent``.

The prediction chooses the fit and the judge (:func:`judge_prediction`):

- :class:`Rate` -> paired-bootstrap power fit of the column's mean against depth
  (:func:`verify.rates.fit_rate`), judged sharp / at least / at most with a tolerance that
  scales with the rate (:meth:`verify.profiles.Budget.tolerance_for`); an overflowed
  simulation cannot converge (inconsistent). A claim that cannot be told apart from its
  ``rate-x2`` twin at this budget is inconclusive, never consistent.
- :class:`Growth` -> the slope of log |h_L| against log L must reach the claimed exponent
  (overflow counts as growth).
- :class:`SameLaw` -> paired signed-rank tests of f(h_L) - f(H_1) at the deepest depth.
- Large-time claims over the horizon T (THEORY.md section 6, EGPZ; the samples are teacher
  problems): :class:`Rate` is fitted on the horizon ladder like a depth ladder;
  :class:`Exact` -> every defect within round-off (:func:`verify.verdict_horizon.judge_exact`);
  :class:`Monotone` -> the trend in every problem (:func:`verify.verdict_horizon.judge_monotone`);
  :class:`ExpDecay` -> late slope against the per-problem LQR slope and coinciding profiles
  (:func:`verify.verdict_horizon.judge_decay`). Where the table certifies a bound for the judged
  column (``Table.bounds``: the O(1/T) certificate, the teacher's norm), an entry above it
  is inconsistent whatever the fit. A claim that cannot be told apart from its resolving
  twin (``rate-x2``, ``beyond-sharp``, ``reversed``) is inconclusive, never consistent.

For theorems and derived regimes the derivation must give the claimed kind (otherwise the
record is inconclusive and says so); a conjecture is simulated against its own claims whatever
the derivation says, and the record shows the derivation's disagreement beside the verdict.

The retest rule (two stages). A simulated check whose first stage is not clean (a claim not
consistent or a twin not rejected) is run again on a fresh, independent simulation of the
same instance (seed :func:`retest_seed`) and the second stage decides every record of the
check; each record keeps both stages' verdicts (``Record.stages``). A failure that noise
produced (probability p per stage) then survives with probability about p^2, while a failure
the instance produces (a wrong claim, a pre-asymptotic instance) repeats and is kept. A wrong
claim is refuted only when it is rejected in both stages: the power study measures a twin's
power that way (``retest="always"``, ``Record.met_in_every_stage``), not by the last stage.
Checks that are not simulated (a refused derivation, no prediction) are not retested: their
outcome does not depend on the seed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from theory.claims import Claim, Exact, ExpDecay, Growth, Monotone, Prediction, Quantity, SameLaw
from theory.regime import Instance, RegimeError
from verify.controls import Twin, controls_for
from verify.measure import Table, measure
from verify.profiles import Budget
from verify.rates import fit_rate
from verify.record import Record
from verify.verdict import Verdict, judge, judge_diverged, judge_growth, judge_law
from verify.verdict_horizon import judge_bound, judge_decay, judge_exact, judge_monotone

__all__ = ["RETEST_MODES", "check", "describe_prediction", "judge_prediction", "retest_seed"]

RETEST_MODES = ("on-failure", "always", "never")

_LIMIT_KINDS = ("neural-ode", "linear-ode", "ode", "drift-ode", "sde", "fbsde")


def describe_prediction(pred: Prediction, quantity: str) -> dict[str, Any]:
    """The prediction as the ledger stores it (numbers and a short text)."""
    if isinstance(pred, SameLaw):
        return {"kind": "law", "exponent": None, "bound": None,
                "text": f"{quantity}: same law ({', '.join(pred.test_functions)}; level "
                        f"{pred.level:g})"}
    if isinstance(pred, Exact):
        return {"kind": "exact", "exponent": None, "bound": None,
                "text": f"{quantity} = 0 to round-off (<= {pred.tolerance:g})"}
    if isinstance(pred, Monotone):
        return {"kind": "monotone", "exponent": None, "bound": pred.trend,
                "text": f"{quantity} {pred.trend} in T (tolerance {pred.tolerance:g})"}
    if isinstance(pred, ExpDecay):
        rate = "the LQR rate" if pred.rate is None else f"rate {pred.rate:g}"
        scale = "" if pred.scale == 1 else f"{pred.scale:g} x "
        return {"kind": "decay", "exponent": pred.scale, "bound": None,
                "text": f"{quantity}: log E(t) falls at {scale}{rate} (+-{pred.tolerance:.0%})"
                        f", profiles within {pred.coincide:g}"}
    p = float(pred.exponent)
    if isinstance(pred, Growth):
        return {"kind": "growth", "exponent": p, "bound": "at-least",
                "text": f"|h_L| grows at least like L^{p:.4g}"}
    sharp = "" if getattr(pred, "sharp", None) is None else \
        f" (a bound: the sharp rate is {float(pred.sharp):.4g})"
    return {"kind": "rate", "exponent": p, "bound": pred.bound.value,
            "text": f"{quantity} rate {pred.bound.symbol} {p:.4g}{sharp}"}


def _verdict_dict(verdict: Verdict) -> dict[str, Any]:
    out = verdict.to_dict()
    out["message"] = verdict.message()
    return out


def _inconclusive(reason: str) -> Verdict:
    nan = float("nan")
    return Verdict("inconclusive", "sharp", nan, 0.0, nan, nan, nan, nan, 0, reason)


def _fit_kwargs(budget: Budget, depths, window: int | None = None) -> dict[str, Any]:
    """The budget's fit settings, the window capped at the ladder (weak claims have their own
    shorter ladder)."""
    return {**budget.fit_kwargs(), "window": min(window or budget.window, len(depths))}


def _fit(depths, values, table: Table, budget: Budget, seed: int, window: int | None):
    return fit_rate(depths, values, seed=seed, groups=table.groups,
                    **_fit_kwargs(budget, depths, window))


def judge_prediction(pred: Prediction, table: Table, column: str, budget: Budget, *,
                     seed: int, window: int | None = None) -> tuple[dict | None, Verdict]:
    """Fit ``column`` of ``table`` as ``pred`` requires and judge it: (fit dict, verdict);
    ``window``: the claim's own number of fitted depths (None: the budget's)."""
    if isinstance(pred, SameLaw):
        laws = {name[4:]: np.asarray(v, dtype=float)[-1] for name, v in table.columns.items()
                if name.startswith("law:")}
        return None, judge_law(laws, level=pred.level)
    if isinstance(pred, Exact | Monotone | ExpDecay):
        return None, _judge_horizon(pred, table, column, budget, seed)
    values = np.asarray(table.columns[column], dtype=float)
    overflow = bool(np.asarray(table.overflow).any()) or not np.isfinite(values).all()
    depths = np.asarray(table.at)
    p = float(pred.exponent)
    tau = budget.tolerance_for(p)
    if isinstance(pred, Growth):
        if overflow:
            verdict = judge_growth(None, overflow=True)
            return None, replace(verdict, predicted=p)
        fit = _fit(depths, values, table, budget, seed, window)
        verdict = judge_growth(fit, min_slope=max(0.0, p - tau), tolerance=0.0)
        return fit.to_dict(), replace(verdict, predicted=p, tolerance=tau)
    if overflow:
        return None, judge_diverged(p, n_samples=table.n_samples, tolerance=tau,
                                    max_width=budget.max_width)
    fit = _fit(depths, values, table, budget, seed, window)
    kind = {"sharp": "sharp", "at-least": "at_least", "at-most": "at_most"}[pred.bound.value]
    width = budget.horizon.max_width if table.over == "horizon" else budget.max_width
    verdict = judge(fit, p, kind=kind, tolerance=tau, max_width=width)
    return fit.to_dict(), _bounded(verdict, table, column)


def _bounded(verdict: Verdict, table: Table, column: str) -> Verdict:
    """The verdict, unless an entry of ``column`` exceeds its certified bound."""
    if column not in table.bounds:
        return verdict
    broken = judge_bound(table.columns[column], table.bounds[column], axis=table.at)
    if broken is None:
        return verdict
    return replace(verdict, status="inconsistent", advice=f"{broken.advice} (the fit: "
                   f"{verdict.advice})", statistics={**verdict.statistics, **broken.statistics})


def _judge_horizon(pred: Exact | Monotone | ExpDecay, table: Table, column: str,
                   budget: Budget, seed: int) -> Verdict:
    values = np.asarray(table.columns[column], dtype=float)
    if isinstance(pred, Exact):
        return judge_exact(values, tolerance=pred.tolerance, axis=table.at)
    if isinstance(pred, Monotone):
        verdict = judge_monotone(values, trend=pred.trend, tolerance=pred.tolerance,
                                 axis=table.at)
        return _bounded(verdict, table, column)
    c = table.columns
    predicted = c[f"{column}:predicted"] if pred.rate is None else np.full_like(
        np.asarray(c[f"{column}:slope"], dtype=float), -2 * pred.rate)  # a stated rate
    return judge_decay(c[f"{column}:slope"], predicted, c[f"{column}:gap"],
                       scale=pred.scale, tolerance=pred.tolerance, coincide=pred.coincide,
                       max_width=budget.max_width, n_boot=budget.n_boot,
                       confidence=budget.confidence, seed=seed)


def _columns(claim: Claim, pred: Prediction) -> list[str]:
    if claim.quantity is Quantity.WEAK:
        return [f"weak:{f}" for f in claim.test_functions]
    if isinstance(pred, SameLaw):
        return ["law"]
    return [claim.quantity.value]


def _derivation(instance: Instance) -> dict[str, Any]:
    regime = instance.regime
    if regime.protocol is not None:  # no limit is derived: the claims are about training
        return {"kind": regime.claimed_kind, "claimed_kind": regime.claimed_kind,
                "agrees": True, "reason": ""}
    try:
        derived = instance.derived
    except (ValueError, NotImplementedError) as exc:
        return {"kind": "error", "claimed_kind": regime.claimed_kind, "agrees": False,
                "reason": f"derivation failed: {exc}"}
    agrees = derived.kind == regime.claimed_kind
    reason = "" if agrees else (f"the derivation gives {derived.kind}; the regime claims "
                                f"{regime.claimed_kind}" + (f" ({'; '.join(derived.notes)})"
                                                            if derived.notes else ""))
    return {"kind": derived.kind, "claimed_kind": regime.claimed_kind, "agrees": agrees,
            "reason": reason}


def _needs_limit(claim: Claim) -> bool:
    return claim.quantity not in (Quantity.IDENTITY, Quantity.GROWTH) and \
        not claim.quantity.trained and not claim.quantity.horizon


def retest_seed(seed: int) -> int:
    """The seed of the retest stage: drawn from ``seed`` (reproducible, independent stream)."""
    state = np.random.SeedSequence([int(seed), 2]).generate_state(1, dtype=np.uint32)[0]
    return int(state) & 0x7FFF_FFFF


def _stage_summary(record: Record, seed: int) -> dict[str, Any]:
    v = record.verdict
    return {"seed": int(seed), "status": str(v.get("status")), "estimate": v.get("estimate"),
            "lo": v.get("ci_low"), "hi": v.get("ci_high")}


def check(instance: Instance, claim: Claim, budget: Budget, *, seed: int, profile: str = "",
          controls: bool = True, retest: str = "on-failure") -> list[Record]:
    """Judge ``claim`` (and, with ``controls``, its twins) on ``instance``; see the module doc.

    ``retest``: ``"on-failure"`` (the rule), ``"always"`` (both stages whatever the first
    gives, the same records decide: for measuring power), ``"never"`` (one stage)."""
    if retest not in RETEST_MODES:
        raise ValueError(f"retest={retest!r} must be one of {RETEST_MODES}")
    first, simulated = _stage(instance, claim, budget, seed, profile, controls)
    clean = all(r.met for r in first)
    if retest == "never" or not simulated or (clean and retest == "on-failure"):
        return first
    second_seed = retest_seed(seed)
    second, _ = _stage(instance, claim, budget, second_seed, profile, controls)
    decided = first if clean else second
    return [replace(r, seed=int(seed), stages=tuple(
        _stage_summary(match, st_seed) for st, st_seed in ((first, seed), (second, second_seed))
        if (match := _match(r, st)) is not None)) for r in decided]


def _key(record: Record) -> tuple[str, str]:
    return record.role, str((record.table or {}).get("column") or record.prediction.get("text"))


def _match(record: Record, stage: list[Record]) -> Record | None:
    """The record of ``stage`` for the same role and column; a role judged once in that
    stage matches whatever its column (a twin left inconclusive there has no table, and
    must still count as a stage in which it was not rejected)."""
    same = [r for r in stage if _key(r) == _key(record)]
    if same:
        return same[0]
    roles = [r for r in stage if r.role == record.role]
    return roles[0] if len(roles) == 1 else None


def _stage(instance: Instance, claim: Claim, budget: Budget, seed: int, profile: str,
           controls: bool) -> tuple[list[Record], bool]:
    """One stage of :func:`check`: (records, whether it simulated)."""
    regime = instance.regime
    derivation = _derivation(instance)
    base = dict(claim=regime.claim_id(claim), regime=regime.name,
                quantity=claim.quantity.value, status=regime.status,
                instance=instance.to_dict(), seed=int(seed), derivation=derivation,
                profile=profile)

    def refuse(reason: str) -> list[Record]:
        return [Record(role="claim", prediction={"kind": "none", "exponent": None, "bound": None,
                                                 "text": "-"},
                       verdict=_verdict_dict(_inconclusive(reason)), **base)], False

    if claim.profiles and profile and profile not in claim.profiles:
        return refuse(f"{regime.claim_id(claim)} is checked only in the profiles "
                      f"{list(claim.profiles)} (its protocol is too heavy for {profile!r}); "
                      f"run it with --profile {claim.profiles[0]}")
    if regime.status != "conjecture" and not derivation["agrees"]:
        return refuse(f"{regime.name} is {regime.status} but {derivation['reason']}: the "
                      "regime's family or domains are wrong")
    try:
        pred = instance.predicted(claim)
        limit = None if regime.protocol is not None else instance.limit
    except (RegimeError, ValueError, KeyError) as exc:
        return refuse(f"no prediction: {exc}")
    if _needs_limit(claim) and limit.kind not in _LIMIT_KINDS:
        return refuse(f"{claim.quantity.value} needs a limit to compare against, but the "
                      f"limit here is {limit.kind}; a conjecture names its limit with "
                      "limit_scaling=...")
    twins = controls_for(claim, instance, pred) if controls else []
    variants = tuple(sorted({t.variant for t in twins if t.variant}))
    try:
        table = measure(instance, claim, limit, budget, seed, variants=variants)
    except (NotImplementedError, ValueError) as exc:
        return refuse(f"cannot simulate: {type(exc).__name__}: {exc}")
    if table.meta.get("not_judged"):
        return refuse(str(table.meta["not_judged"]))[0], True
    records: list[Record] = []
    rate_twins = [t for t in twins if t.resolves]
    for column in _columns(claim, pred):
        fit, verdict = judge_prediction(pred, table, column, budget, seed=seed,
                                        window=claim.window)
        for twin in rate_twins:  # resolution: the claim must beat its twin on the same fit
            _, twin_verdict = judge_prediction(twin.prediction, table, column, budget,
                                               seed=seed, window=claim.window)
            if verdict.status == "consistent" and twin_verdict.status != "inconsistent":
                verdict = replace(verdict, status="inconclusive", advice=(
                    f"cannot tell the claim {describe_prediction(pred, column)['text']} from "
                    f"its twin {describe_prediction(twin.prediction, column)['text']} at this "
                    f"budget: raise samples M or deepen the ladder ({verdict.advice})"))
        records.append(Record(role="claim", prediction=describe_prediction(pred, column),
                              table=table.summary(column), fit=fit,
                              verdict=_verdict_dict(verdict), **base))
    for twin in twins:
        records += _check_twin(twin, instance, claim, pred, table, budget, seed, base)
    return records, True


def _check_twin(twin: Twin, instance: Instance, claim: Claim, pred: Prediction, table: Table,
                budget: Budget, seed: int, base: dict) -> list[Record]:
    role = f"control:{twin.name}"
    if twin.training is not None:  # the same instance, trained by another protocol
        instance = replace(instance, regime=replace(instance.regime, training=twin.training))
    if twin.horizon is not None:  # the same problems, another large-time protocol
        instance = replace(instance, regime=replace(instance.regime, horizon=twin.horizon))
    if twin.limit is not None or twin.training is not None or twin.horizon is not None:
        try:
            table = measure(instance, claim, twin.limit, budget, seed)
        except (NotImplementedError, ValueError) as exc:
            return [Record(role=role, prediction=describe_prediction(twin.prediction,
                                                                     claim.quantity.value),
                           verdict=_verdict_dict(_inconclusive(f"cannot simulate: {exc}")),
                           **base)]
    if table.meta.get("not_judged"):
        return [Record(role=role, prediction=describe_prediction(twin.prediction,
                                                                 claim.quantity.value),
                       verdict=_verdict_dict(_inconclusive(str(table.meta["not_judged"]))),
                       **base)]
    columns = [twin.column] if twin.column else _columns(claim, twin.prediction)
    out = []
    for column in columns:
        fit, verdict = judge_prediction(twin.prediction, table, column, budget, seed=seed,
                                        window=claim.window)
        out.append(Record(role=role, prediction=describe_prediction(twin.prediction, column),
                          table=table.summary(column), fit=fit,
                          verdict=_verdict_dict(verdict), **base))
    return out
