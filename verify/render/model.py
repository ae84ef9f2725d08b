"""The report's view model: examples, regime sections, derivations, provenance facts.

Built from a loaded ledger only (:func:`verify.ledger.load_ledger`); numerics are never run.
What theory says for each section (ledger text reaching theory only through the safe parser)
is :mod:`verify.render.derivations`.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verify.ledger import Ledger, load_ledger
from verify.render.derivations import (
    Derivation,
    RegimeInfo,
    derivation,
    merge_derivations,
    regime_info,
)
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
        derivs = (merge_derivations([derivation(o.regime, s, q) for s, q in pairs])
                  if info.registered else ())
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
