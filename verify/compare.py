"""Compare two run ledgers: which regimes' outcomes changed.

Each ledger is reduced to one :class:`~verify.render.outcomes.RegimeOutcome` per regime
(``verified`` / ``failed`` / ``inconclusive``, or ``confirmed`` / ``refuted`` / ``inconclusive``
for conjectures, with claim and control tallies over the counted examples; shrink steps are
folded). A regime is **flagged** when its outcome word differs between the baseline and the
current ledger, including a regime present in only one of them (``absent`` on the other
side). Changed tallies under an unchanged word are reported but not flagged.

``resnet-limits compare BASELINE CURRENT`` prints the table and exits with status 0 when no
outcome changed, 1 when some did (as ``diff`` does), 2 on bad input.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from verify.ledger import Ledger, load_ledger
from verify.render.outcomes import RegimeOutcome, outcomes

__all__ = [
    "ABSENT",
    "RegimeChange",
    "compare_ledgers",
    "compare_outcomes",
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
        return self.before.word if self.before is not None else ABSENT

    @property
    def after_verdict(self) -> str:
        return self.after.word if self.after is not None else ABSENT

    @property
    def changed(self) -> bool:
        """The flag: the outcome word differs (absent on one side counts as a change)."""
        return self.before_verdict != self.after_verdict

    @property
    def note(self) -> str:
        """Why the row is flagged, or what else changed."""
        if self.before is None:
            return "new regime (not in the baseline)"
        if self.after is None:
            return "regime missing from the current run"
        if self.changed:
            return f"outcome changed: {self.before_verdict} -> {self.after_verdict}"
        if (self.before.claims, self.before.controls) != (self.after.claims, self.after.controls):
            return "same outcome, tallies changed"
        return ""


def compare_outcomes(before: Sequence[RegimeOutcome],
                     after: Sequence[RegimeOutcome]) -> list[RegimeChange]:
    """Per regime, sorted by name (regimes of either side)."""
    b = {o.regime: o for o in before}
    a = {o.regime: o for o in after}
    return [RegimeChange(n, b.get(n), a.get(n)) for n in sorted(set(a) | set(b))]


def _outcomes(ledger: Ledger | str | os.PathLike[str]) -> list[RegimeOutcome]:
    led = ledger if isinstance(ledger, Ledger) else load_ledger(ledger)
    return outcomes(led.records, led.events, led.state)


def compare_ledgers(
    baseline: Ledger | str | os.PathLike[str], current: Ledger | str | os.PathLike[str]
) -> list[RegimeChange]:
    """Load (if paths) and compare two ledgers. Raises :class:`verify.ledger.LedgerError`
    for unreadable, other-schema or corrupt ledgers."""
    return compare_outcomes(_outcomes(baseline), _outcomes(current))


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
    lines.append(f"{n} regime(s) changed outcome" + (" (flagged with !)" if n else ""))
    return "\n".join(lines)
