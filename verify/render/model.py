"""The report's view model: examples, regime sections, derivations, provenance facts.

Built from a loaded ledger only (:func:`verify.ledger.load_ledger`); numerics are never run.
Ledger text is data: the activation of a record reaches theory only through
``theory.activations.activation`` (the safe parser of ``theory/parse.py``) after a cheap
allow-list check here, inside ``try``; any failure shows as "derivation unavailable: <reason>".
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from verify.ledger import Ledger, load_ledger
from verify.render.names import human_equation, human_latex
from verify.render.outcomes import (
    RegimeOutcome,
    describe_instance,
    expected_verdict,
    meets,
    outcomes,
    record_order,
)

__all__ = ["Derivation", "Example", "RegimeSection", "Report", "ReportError", "build_report",
           "examples_from_ledger", "fmt"]

MAX_DERIVATIONS = 8
"""At most this many distinct activations get a derived equation per regime section."""
_SAFE_TEXT = re.compile(r"[A-Za-z0-9_+\-*/^(). ,]{1,500}")


class ReportError(ValueError):
    """Input a report cannot be built from (unknown regime, bad format, bad output folder)."""


def fmt(x: Any, digits: int = 4) -> str:
    """A number as the report prints it: ``f"{x:.{digits}g}"``; ``None``/NaN as ``"-"``.

    >>> fmt(0.20642058924445775), fmt(None), fmt(float("inf"))
    ('0.2064', '-', 'inf')
    """
    if x is None or isinstance(x, bool):
        return "-"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    return "-" if math.isnan(v) else f"{v:.{digits}g}"


def number(x: Any) -> float:
    """Ledger number (None, 'nan', 'inf' strings allowed) -> float."""
    try:
        return math.nan if x is None else float(x)
    except (TypeError, ValueError):
        return math.nan


@dataclass(frozen=True)
class Example:
    """One ledger record, with its 1-based index in the ledger and whether it counts."""

    index: int
    record: Mapping[str, Any]
    counted: bool = True

    def __getattr__(self, name: str) -> Any:  # regime, claim, role, seed, replay, ...
        try:
            return self.__dict__["record"][name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def verdict(self) -> Mapping[str, Any]:
        return self.record.get("verdict") or {}

    @property
    def status(self) -> str:
        return str(self.verdict.get("status", "none"))

    @property
    def expected(self) -> str:
        return expected_verdict(self.record.get("role", "claim"))

    @property
    def met(self) -> bool:
        return meets(self.record)

    @property
    def is_control(self) -> bool:
        return str(self.record.get("role", "claim")).startswith("control")

    @property
    def instance(self) -> Mapping[str, Any]:
        return self.record.get("instance") or {}

    @property
    def sigma(self) -> str:
        return str(self.instance.get("sigma", "-"))

    @property
    def fit(self) -> Mapping[str, Any] | None:
        return self.record.get("fit")

    @property
    def table(self) -> Mapping[str, Any] | None:
        return self.record.get("table")

    def params_text(self) -> str:
        values = self.instance.get("values") or {}
        text = ", ".join(f"{k}={fmt(v)}" for k, v in sorted(values.items()))
        return (text + (", bias" if self.instance.get("bias") else "")).lstrip(", ") or "-"

    def describe(self) -> str:
        return describe_instance(self.record)

    def replay_command(self) -> str:
        rep = str(self.record.get("replay", ""))
        return rep or (f"resnet-limits verify --profile {self.record.get('profile') or 'ci'} "
                       f"--regime {self.record.get('regime')}")

    def advice(self) -> str:
        """The verdict's advice where it helps: empty for "none..." advice."""
        text = str(self.verdict.get("advice") or "").strip()
        return "" if not text or text.lower().startswith("none") else text

    def p_values(self) -> tuple[dict[str, float], float | None]:
        """The p-values of a law verdict and the adjusted one that decided it.

        Read from ``verdict["statistics"]`` (``"p[<name>]"`` and ``"p_bonferroni"``) when
        stored, else from the numbers printed in the verdict's summary (``"name: p=0.12"``;
        string splitting only, nothing evaluated)."""
        v = self.verdict
        stats = v.get("statistics")
        stored = v.get("p_values")
        if isinstance(stats, Mapping) and any(str(k).startswith("p[") for k in stats):
            values = {str(k)[2:-1]: number(p) for k, p in stats.items()
                      if str(k).startswith("p[") and str(k).endswith("]")}
            if "p_bonferroni" in stats:
                return values, number(stats["p_bonferroni"])
        elif isinstance(stored, Mapping):
            values = {str(k): number(p) for k, p in stored.items()}
        else:
            values = {}
            for piece in str(v.get("summary", "")).split(", "):
                name, sep, rest = piece.rpartition(": p=")
                m = re.match(r"[0-9.]+(?:e[-+]?\d+)?", rest)
                if sep and m:
                    values[name.rsplit(" (", 1)[-1]] = float(m.group(0))
        adjusted = v.get("p_adjusted")
        if adjusted is None and values:
            adjusted = min(1.0, min(values.values()) * len(values))
        return values, (number(adjusted) if adjusted is not None else None)


def examples_from_ledger(ledger: Ledger) -> list[Example]:
    """The ledger's records as :class:`Example` s, stable order, shrink steps marked
    ``counted=False`` (records were validated when the ledger was loaded)."""
    from verify.render.outcomes import counted_indices

    counted, folded = counted_indices(ledger.records, ledger.events)
    keep = set(counted)
    order = sorted(counted + folded, key=lambda i: record_order(ledger.records[i], i))
    return [Example(i + 1, ledger.records[i], i in keep) for i in order]


TRAINED = "trained"
LARGE_TIME = "large-time"


def headings(derivations: Sequence[Derivation]) -> tuple[str, str]:
    """The titles of a section's theory part and figures: a trained regime shows its training
    protocol and trained-weight statistics, a large-time regime its protocol and the horizon
    ladder, the others the derived limit and the errors."""
    if derivations and all(d.kind == TRAINED for d in derivations):
        return ("Training protocol (the claims' predictions are stated, not derived)",
                "Trained-weight statistics against depth (log-log, training seeds as samples)")
    if derivations and all(d.kind == LARGE_TIME for d in derivations):
        return ("Large-time protocol (EGPZ; THEORY.md section 6)",
                "Training error against the horizon T and turnpike profiles (teacher problems "
                "as samples)")
    return "Derived limit (theory, exact)", "Error against depth (log-log)"


@dataclass(frozen=True)
class Derivation:
    """What theory derives for one regime and activation (or why it cannot)."""

    sigma: str
    kind: str = ""
    equation: str = ""
    latex: str = ""
    rates: tuple[str, ...] = ()
    error: str = ""

    @property
    def legend(self) -> bool:
        return "E[sigma" in self.equation or r"\mathbb{E}[" in self.latex


@dataclass(frozen=True)
class RegimeInfo:
    """The regime's declaration from the registry (``registered=False`` when absent)."""

    name: str
    registered: bool
    claim: str = ""
    source: str = ""
    block: str = ""
    parameters: tuple[str, ...] = ()


@lru_cache(maxsize=256)
def regime_info(name: str) -> RegimeInfo:
    """Claim text, source, block and parameter domains of ``name`` (never raises)."""
    try:
        from theory.regimes import registry

        regime = registry().get(name)
    except Exception:  # noqa: BLE001 - the report shows what it can
        regime = None
    if regime is None:
        return RegimeInfo(name, registered=False)
    params = []
    for k, v in (getattr(regime, "parameters", None) or {}).items():
        try:
            params.append(f"{k} in {v.interval()} (typical {list(v.typical)})")
        except Exception:  # noqa: BLE001
            params.append(str(k))
    block = getattr(regime, "block", "")
    return RegimeInfo(name, True, claim=str(getattr(regime, "claim", "")),
                      source=str(getattr(regime, "source", "")),
                      block=str(getattr(block, "value", block)), parameters=tuple(params))


def _safe_sigma(text: str) -> str:
    """Refuse ledger text that cannot be an activation before any parser sees it."""
    if not _SAFE_TEXT.fullmatch(text) or "__" in text:
        raise ValueError(f"activation text {text[:60]!r} holds characters or names no "
                         "activation has; it is shown, never evaluated")
    return text


@lru_cache(maxsize=256)
def derivation(regime: str, sigma: str, quantity: str = "") -> Derivation:
    """The derived limit of ``regime`` for the activation text ``sigma`` (generic in the
    regime's parameters); the backward limit for a ``grad-*`` quantity (or ``"grad"``).
    Never raises."""
    try:
        from theory.activations import activation
        from theory.regimes import get

        act = activation(_safe_sigma(sigma))
        regime_value = get(regime)
        if regime_value.training is not None:  # trained weights: the protocol, no limit
            return Derivation(sigma, TRAINED, regime_value.training.describe(), "", tuple(
                f"{regime_value.claim_id(c)}: {c.quantity.value} rate "
                f"{c.predicts.bound.symbol} {c.predicts.exponent}"
                for c in regime_value.claims))
        if regime_value.horizon is not None:  # large time: the protocol, claims over T
            from verify.check import describe_prediction

            return Derivation(sigma, LARGE_TIME, regime_value.horizon.describe(), "", tuple(
                f"{regime_value.claim_id(c)}: "
                f"{describe_prediction(_concrete(c.predicts), c.quantity.value)['text']}"
                for c in regime_value.claims))
        try:
            from theory.parse import time_limit
        except ImportError:  # pragma: no cover - older theory
            from contextlib import nullcontext as time_limit
        with time_limit():
            limit = get(regime).limit(act)
        if quantity.startswith("grad"):
            from theory.backward import derive_backward

            back = derive_backward(limit)
            return Derivation(sigma, back.kind, human_equation(back.equation()), "",
                              tuple(human_equation(r.describe()) for r in back.rates))
        return Derivation(sigma, limit.kind, human_equation(limit.equation()),
                          human_latex(limit.latex()),
                          tuple(human_equation(r.describe()) for r in limit.rates))
    except Exception as exc:  # noqa: BLE001 - shown as "derivation unavailable: <reason>"
        reason = " ".join(str(exc).split())[:300] or type(exc).__name__
        return Derivation(sigma, error=f"{type(exc).__name__}: {reason}")


def _concrete(pred):
    """A stated prediction with float exponents (for its one-line text)."""
    from dataclasses import replace

    from theory.claims import Rate

    if isinstance(pred, Rate) and pred.exponent is not None:
        return replace(pred, exponent=float(pred.exponent))
    return pred


def _merge(derivations: Sequence[Derivation]) -> tuple[Derivation, ...]:
    """Activations with the same derived limit share one entry."""
    groups: dict[tuple, list[str]] = {}
    for d in derivations:
        names = groups.setdefault((d.kind, d.equation, d.latex, d.rates, d.error), [])
        if d.sigma not in names:
            names.append(d.sigma)
    return tuple(Derivation(", ".join(s), *key) for key, s in groups.items())


@dataclass(frozen=True)
class RegimeSection:
    """Everything shown for one regime."""

    info: RegimeInfo
    outcome: RegimeOutcome
    examples: tuple[Example, ...]  # counted, stable order
    folded: tuple[Example, ...]  # shrink steps
    counterexamples: tuple[Example, ...]
    derivations: tuple[Derivation, ...]
    disagreements: tuple[str, ...]  # derivation vs claimed kind, from the records
    figures: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Report:
    """A report, rendered in memory (figures as PNG bytes)."""

    title: str
    ledger: Ledger
    ledger_name: str
    ledger_sha256: str
    examples: tuple[Example, ...]
    outcomes: tuple[RegimeOutcome, ...]
    sections: tuple[RegimeSection, ...]
    comparison: Any = None
    baseline_name: str = ""
    command: str = ""
    generated: str = field(
        default_factory=lambda: _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))

    @property
    def state(self):
        return self.ledger.state

    @property
    def failures(self) -> list[Example]:
        """Counted examples whose verdict is not the expected one."""
        return [e for e in self.examples if e.counted and not e.met]

    @property
    def figures(self) -> list[Any]:
        return [f for s in self.sections for f in s.figures]


def _sha256(ledger: Ledger) -> str:
    h = hashlib.sha256()
    for src in ledger.sources:
        try:
            h.update(Path(src).read_bytes())
        except OSError:
            return "unavailable"
    return h.hexdigest()


def _disagreements(examples: Sequence[Example]) -> tuple[str, ...]:
    seen = {}
    for e in examples:
        d = e.record.get("derivation")
        if isinstance(d, Mapping) and not d.get("agrees", True):
            line = (f"derivation says {d.get('kind')}, the regime claims {d.get('claimed_kind')}"
                    + (f": {d.get('reason')}" if d.get("reason") else ""))
            seen.setdefault(line, None)
    return tuple(seen)


def build_report(
    ledger: Ledger | str | os.PathLike[str],
    *,
    baseline: Ledger | str | os.PathLike[str] | None = None,
    regimes: Sequence[str] | None = None,
    title: str = "resnet-limits verification report",
    command: str = "",
    figures: bool = True,
) -> Report:
    """Build the report of ``ledger`` (compared with ``baseline``, restricted to ``regimes``).

    Raises :class:`~verify.ledger.LedgerError` (unreadable, other schema, corrupt record) or
    :class:`ReportError` (a regime unknown or absent from the ledger). Nothing is written.
    """
    from verify.compare import compare_outcomes

    led = ledger if isinstance(ledger, Ledger) else load_ledger(ledger)
    name = Path(led.sources[0]).name if led.sources else "ledger"
    examples = examples_from_ledger(led)
    regs = outcomes(led.records, led.events, led.state)
    if regimes:
        present = {o.regime for o in regs}
        for r in regimes:
            if r not in present:
                raise ReportError(f"regime={r!r} has no records in {name}; it holds "
                                  f"{', '.join(sorted(present)) or 'none'}")
        regs = [o for o in regs if o.regime in set(regimes)]
        examples = [e for e in examples if e.record.get("regime") in set(regimes)]
    comparison, base_name = None, ""
    if baseline is not None:
        base = baseline if isinstance(baseline, Ledger) else load_ledger(baseline)
        base_name = Path(base.sources[0]).name if base.sources else "baseline"
        before = outcomes(base.records, base.events, base.state)
        if regimes:
            before = [o for o in before if o.regime in set(regimes)]
        comparison = compare_outcomes(before, regs)
    sections = []
    for o in regs:
        mine = [e for e in examples if e.record.get("regime") == o.regime]
        counted = tuple(e for e in mine if e.counted)
        info = regime_info(o.regime)
        pairs = list(dict.fromkeys(
            (e.sigma, "grad" if str(e.record.get("quantity", "")).startswith("grad-") else "")
            for e in counted))[:MAX_DERIVATIONS]
        derivs = _merge([derivation(o.regime, s, q) for s, q in pairs]) if info.registered \
            else ()
        by_index = {e.index - 1: e for e in mine}
        counter = tuple(by_index[i] for i in o.counterexamples if i in by_index)
        figs: tuple[Any, ...] = ()
        if figures:
            from verify.render.figures import figures_for

            figs = tuple(figures_for(o.regime, counted))
        sections.append(RegimeSection(info, o, counted, tuple(e for e in mine if not e.counted),
                                      counter, derivs, _disagreements(counted), figs))
    return Report(title=title, ledger=led, ledger_name=name, ledger_sha256=_sha256(led),
                  examples=tuple(examples), outcomes=tuple(regs), sections=tuple(sections),
                  comparison=comparison, baseline_name=base_name, command=command)
