"""Compare two run ledgers: which regimes' verdicts changed.

Each ledger is reduced to one :class:`~verify.report.RegimeOutcome` per regime (``verified``,
``failed`` or ``inconclusive``, with the claim and control tallies; see
:func:`verify.report.regime_outcomes`). A regime is **flagged** when its verdict differs
between the baseline and the current ledger, including a regime present in only one of them
(``absent`` on the other side). Changed tallies under an unchanged verdict (another number
of examples, one more inconclusive control) are reported but not flagged.

``resnet-limits compare BASELINE CURRENT`` prints the table and exits with status 0 when no
verdict changed, 1 when some did (as ``diff`` does), 2 on bad input.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from verify.ledger import Ledger, load_ledger
from verify.report import Example, RegimeOutcome, examples_from_ledger, regime_outcomes

__all__ = [
    "ABSENT",
    "RegimeChange",
    "compare_examples",
    "compare_ledgers",
    "comparison_rows",
    "format_comparison",
]

ABSENT = "absent"


@dataclass(frozen=True)
class RegimeChange:
    """One regime in both runs: its outcome before (baseline) and after (current)."""

    regime: str
    before: RegimeOutcome | None
    after: RegimeOutcome | None

    @property
    def before_verdict(self) -> str:
        return self.before.verdict if self.before is not None else ABSENT

    @property
    def after_verdict(self) -> str:
        return self.after.verdict if self.after is not None else ABSENT

    @property
    def changed(self) -> bool:
        """The flag: the regime's verdict differs (absent on one side counts as a change)."""
        return self.before_verdict != self.after_verdict

    @property
    def note(self) -> str:
        """Why the row is flagged, or what else changed."""
        if self.before is None:
            return "new regime (not in the baseline)"
        if self.after is None:
            return "regime missing from the current run"
        if self.changed:
            return f"verdict changed: {self.before_verdict} -> {self.after_verdict}"
        if (self.before.claims, self.before.controls) != (self.after.claims, self.after.controls):
            return "same verdict, tallies changed"
        return ""


def compare_examples(before: Iterable[Example], after: Iterable[Example]) -> list[RegimeChange]:
    """Per regime (current order first, then regimes only in the baseline)."""
    b = regime_outcomes(before)
    a = regime_outcomes(after)
    names = list(a) + [n for n in b if n not in a]
    return [RegimeChange(n, b.get(n), a.get(n)) for n in names]


def _load(ledger: Ledger | str | os.PathLike[str]) -> tuple[Ledger, str]:
    led = ledger if isinstance(ledger, Ledger) else load_ledger(ledger)
    return led, (Path(led.sources[0]).name if led.sources else "ledger")


def compare_ledgers(
    baseline: Ledger | str | os.PathLike[str], current: Ledger | str | os.PathLike[str]
) -> list[RegimeChange]:
    """Load (if paths) and compare two ledgers. Raises :class:`verify.ledger.LedgerError` or
    :class:`verify.report.ReportError` for unreadable or malformed ledgers."""
    base, base_name = _load(baseline)
    cur, cur_name = _load(current)
    return compare_examples(examples_from_ledger(base, base_name),
                            examples_from_ledger(cur, cur_name))


def comparison_rows(changes: Sequence[RegimeChange]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the comparison table; the flag column holds ``"CHANGED"``."""
    head = ["regime", "baseline", "current", "flag", "baseline examples", "current examples",
            "note"]
    rows = [[c.regime, c.before_verdict, c.after_verdict, "CHANGED" if c.changed else "",
             c.before.describe() if c.before else "-", c.after.describe() if c.after else "-",
             c.note] for c in changes]
    return head, rows


def format_comparison(changes: Sequence[RegimeChange], baseline: str = "baseline",
                      current: str = "current") -> str:
    """Plain-text table for the terminal: one line per regime, flagged rows marked ``!``."""
    width = max([len(c.regime) for c in changes] + [6])
    lines = [f"baseline: {baseline}", f"current:  {current}",
             f"  {'regime':<{width}}  {'baseline':<12}  {'current':<12}  note"]
    for c in changes:
        mark = "!" if c.changed else " "
        lines.append(f"{mark} {c.regime:<{width}}  {c.before_verdict:<12}  "
                     f"{c.after_verdict:<12}  {c.note}".rstrip())
    n = sum(c.changed for c in changes)
    lines.append(f"{n} regime(s) changed verdict" + (" (flagged with !)" if n else ""))
    return "\n".join(lines)
