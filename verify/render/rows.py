"""Table rows and fact lists shared by the HTML and Markdown renderers.

A cell is ``text`` or ``(text, css class)``; class ``ok`` (green) marks a verdict or outcome
that is the expected one, ``bad`` (red) every one that is not: a control judged consistent is
red, a control judged inconsistent (rejected, as expected) is green.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from verify.render.model import Example, Report, fmt, number

__all__ = ["VERDICT_HEAD", "incomplete_lines", "p_value_text", "provenance", "run_facts",
           "seeds_by_regime", "summary_head", "summary_rows", "verdict_cells"]

VERDICT_HEAD = ["#", "claim", "role", "sigma", "parameters", "d", "seed", "M", "prediction",
                "estimate", "interval", "tol.", "p-values", "verdict", "expected", "met",
                "derivation"]


def p_value_text(ex: Example) -> str:
    """``"log|h|^2 0.31, (log|h|^2)^2 0.02; adjusted 0.04"`` for a law verdict, else ``-``."""
    values, adjusted = ex.p_values()
    if not values and adjusted is None:
        return "-"
    text = ", ".join(f"{k} {fmt(v, 3)}" for k, v in values.items())
    return text + (f"; adjusted {fmt(adjusted, 3)}" if adjusted is not None else "")


def _prediction(ex: Example) -> str:
    pred = ex.record.get("prediction") or {}
    text = str(pred.get("text") or "")
    if text:
        return text
    v = ex.verdict
    return f"{v.get('kind', '-')} {fmt(v.get('predicted'))}"


def _derivation_cell(ex: Example) -> tuple[str, str]:
    d = ex.record.get("derivation")
    if not isinstance(d, Mapping):
        return "-", ""
    if d.get("agrees", True):
        return f"agrees ({d.get('kind')})", ""
    return f"disagrees: derived {d.get('kind')}, claimed {d.get('claimed_kind')}", "warn"


def verdict_cells(ex: Example) -> list[Any]:
    """The verdict table row of one example (the deciding statistics included)."""
    v = ex.verdict
    cls = "ok" if ex.met else "bad"
    return [
        (f"#{ex.index}", "num"), str(ex.record.get("claim", "")), ex.role, ex.sigma,
        ex.params_text(), (str(ex.instance.get("width", "-")), "num"),
        (str(ex.record.get("seed", "-")), "num"), (fmt(v.get("n_samples")), "num"),
        _prediction(ex), (fmt(v.get("estimate")), "num"),
        (f"[{fmt(v.get('ci_low'))}, {fmt(v.get('ci_high'))}]", "num"),
        (fmt(v.get("tolerance")), "num"), (p_value_text(ex), "num"),
        (ex.status + _retest_note(ex), cls), ex.expected, ("yes" if ex.met else "NO", cls),
        _derivation_cell(ex),
    ]


def _retest_note(ex: Example) -> str:
    """" (retested: stage 1 inconclusive)" where the retest rule ran a second stage."""
    stages = ex.record.get("stages") or []
    if len(stages) < 2:
        return ""
    return " (retested: " + ", ".join(f"stage {i} {st.get('status')}"
                                      for i, st in enumerate(stages, 1)) + ")"


def summary_head(report: Report) -> list[str]:
    head = ["regime", "status", "outcome", "examples", "n", "shrink steps"]
    if report.comparison is not None:
        head += [f"baseline ({report.baseline_name})", "change"]
    return head


def summary_rows(report: Report) -> list[list[Any]]:
    changes = {c.regime: c for c in (report.comparison or [])}
    rows = []
    for o in report.outcomes:
        row: list[Any] = [o.regime, o.status or "-",
                          (o.word, "bad" if o.flagged else "ok"), o.describe(),
                          (str(o.n_examples), "num"), (str(o.shrink_steps), "num")]
        if report.comparison is not None:
            c = changes.get(o.regime)
            row += [c.before_verdict if c else "-", "CHANGED" if c and c.changed else ""]
        rows.append(row)
    return rows


def incomplete_lines(report: Report) -> list[str]:
    """The INCOMPLETE banner (empty for a complete run): reason, what did not run."""
    state = report.state
    if state.complete:
        return []
    lines = [f"INCOMPLETE run ({state.reason}): {state.detail}. The verdicts below cover only "
             "what ran; do not read them as a full verification."]
    if state.missing_regimes:
        lines.append("regimes not (fully) run: " + ", ".join(state.missing_regimes))
    if state.missing_nodes:
        shown = ", ".join(state.missing_nodes[:10])
        more = len(state.missing_nodes) - 10
        lines.append(f"{len(state.missing_nodes)} of {state.planned_nodes} planned tests "
                     f"without outcome: {shown}" + (f" (+ {more} more)" if more > 0 else ""))
    return lines


def run_facts(report: Report) -> list[tuple[str, str]]:
    led = report.ledger
    counted = [e for e in report.examples if e.counted]
    statuses = Counter(e.status for e in counted)
    words = Counter(o.word for o in report.outcomes)
    folded = len(report.examples) - len(counted)
    return [
        ("state", led.state.word + (" (recovered from partial files)" if led.recovered else "")),
        ("ledger", report.ledger_name + ("" if led.is_final else " (partial files)")),
        ("profile", led.profile or "-"),
        ("run", f"created {led.created or '-'}, finalized {led.finalized or '-'}"),
        ("examples", f"{len(counted)} judged (" + ", ".join(
            f"{statuses.get(s, 0)} {s}" for s in ("consistent", "inconsistent", "inconclusive"))
         + f"); {folded} shrink step(s) folded"),
        ("regimes", f"{len(report.outcomes)} (" + ", ".join(
            f"{n} {w}" for w, n in sorted(words.items())) + ")"),
        ("not as expected", f"{len(report.failures)} judged example(s) whose verdict is not "
                            "the expected one"),
    ]


def provenance(report: Report) -> list[tuple[str, str]]:
    led = report.ledger
    workers = Counter(str(e.record.get("worker", "-")) for e in report.examples)
    return [
        ("commit", led.commit),
        ("versions", ", ".join(f"{k} {v}" for k, v in led.versions.items()) or "-"),
        ("machine", ", ".join(f"{k}={v}" for k, v in led.machine.items()) or "-"),
        ("workers", ", ".join(f"{k} ({v})" for k, v in sorted(workers.items())) or "-"),
        ("schema", f"ledger schema_version {led.schema_version}"),
        ("ledger files", ", ".join(led.sources) or "-"),
        ("ledger SHA-256", report.ledger_sha256),
        ("report generated", report.generated + " from the ledger only (no numerics re-run)"),
        ("rendered by", report.command or "resnet-limits report"),
    ]


def seeds_by_regime(report: Report) -> list[tuple[str, str]]:
    return [(s.outcome.regime, ", ".join(str(e.record.get("seed")) for e in s.examples))
            for s in report.sections]


def wall_time(report: Report) -> float:
    total = sum(number((e.table or {}).get("wall_time_s")) for e in report.examples)
    return total if total == total else 0.0
