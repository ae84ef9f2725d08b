"""The Markdown report; figures are referenced as ``figures/<name>.png`` beside it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from verify.render.derivations import headings
from verify.render.model import RegimeSection, Report, fmt
from verify.render.names import LEGEND
from verify.render.rows import (
    VERDICT_HEAD,
    incomplete_lines,
    p_value_text,
    provenance,
    run_facts,
    seeds_by_regime,
    summary_head,
    summary_rows,
    verdict_cells,
)

__all__ = ["render_markdown"]


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _code(text: Any) -> str:
    return "`" + str(text).replace("`", "'").replace("\n", " ") + "`"


def _table(head: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(_md(h) for h in head) + " |",
             "|" + "|".join("---" for _ in head) + "|"]
    for row in rows:
        cells = []
        for c in row:
            text, cls = c if isinstance(c, tuple) else (c, "")
            if text == "CHANGED":
                cells.append("**CHANGED**")
            elif cls == "bad":
                cells.append(f"**{_md(text)}** (!)")
            else:
                cells.append(_md(text))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _dl(items: Iterable[tuple[str, str]]) -> str:
    return "\n".join(f"- **{k}**: {_md(v)}" for k, v in items)


def _section(s: RegimeSection, figures_dir: str) -> list[str]:
    info, o = s.info, s.outcome
    mark = " (!)" if o.flagged else ""
    out = ["", f"## {o.regime}: {o.word}{mark}", ""]
    if o.word in ("failed", "refuted") and s.counterexamples:
        out += [f"**Minimal counterexample ({o.word})**", ""]
        for ex in s.counterexamples:
            v = ex.verdict
            p = p_value_text(ex)
            out += [f"- #{ex.index} {_md(ex.claim)} {_md(ex.role)}: **{ex.status}** (expected "
                    f"{ex.expected}) at {_md(ex.describe())}; estimate {fmt(v.get('estimate'))} in "
                    f"[{fmt(v.get('ci_low'))}, {fmt(v.get('ci_high'))}]"
                    + (f", p-values {_md(p)}" if p != "-" else "")
                    + (f"; advice: {_md(ex.advice())}" if ex.advice() else ""),
                    f"  replay: {_code(ex.replay_command())}"]
        if o.shrink_steps:
            out.append(f"- + {o.shrink_steps} shrink step(s), folded")
        out.append("")
    facts = [("status", o.status or "-"), ("outcome", f"{o.word}: {o.why}"),
             ("examples", o.describe())]
    if info.registered:
        out += [_md(info.claim), ""]
        facts = [("source", info.source), ("block", info.block),
                 ("parameters", "; ".join(info.parameters) or "none"), *facts]
    else:
        out += [f"Regime {o.regime} is not registered in this checkout: its claim and "
                "derivation cannot be shown.", ""]
    out += [_dl(facts), ""]
    out += [f"*Derivation beside the measurement*: {_md(line)}; measured outcome: **{o.word}**"
            for line in s.disagreements]
    out += [""] if s.disagreements else []
    theory_title, figures_title = headings(s.derivations)
    if s.derivations:
        out += ["", f"### {theory_title}", ""]
    for d in s.derivations:
        if d.error:
            out += [f"sigma = {_code(d.sigma)}: derivation unavailable: {_md(d.error)}", ""]
            continue
        out += [f"sigma = {_code(d.sigma)} [{d.kind}]: {_code(d.equation)}", ""]
        out += [f"$$ {d.latex} $$", ""] if d.latex else []
        out += [f"- {_md(r)}" for r in d.rates] + [""]
        out += [f"*{LEGEND}*", ""] if d.legend else []
    out += ["### Verdicts", "", _table(VERDICT_HEAD, (verdict_cells(e) for e in s.examples)),
            ""]
    if s.folded:
        out += [f"<details><summary>+ {len(s.folded)} shrink step(s) (folded: not counted)"
                "</summary>", "", _table(VERDICT_HEAD, (verdict_cells(e) for e in s.folded)),
                "", "</details>", ""]
    if s.figures:
        out += [f"### {figures_title}", ""]
    out += [f"![{_md(f.caption)}]({figures_dir}/{f.name})\n\n*{_md(f.caption)}*\n"
            for f in s.figures]
    return out


def render_markdown(report: Report, figures_dir: str = "figures") -> str:
    """The Markdown report (an INCOMPLETE banner first when the run did not finish)."""
    out = [f"**{_md(line)}**\n" for line in incomplete_lines(report)]
    out += [f"# {report.title}", "",
            f"{report.ledger_name} - profile {report.ledger.profile} - commit "
            f"{report.ledger.commit[:12]}", "", "## Run summary", "", _dl(run_facts(report)),
            "", _table(summary_head(report), summary_rows(report)), "",
            "## Not as expected, with replay commands", ""]
    if not report.failures:
        out.append("Every judged claim was consistent and every control was rejected."
                   if report.examples else "No examples.")
    for ex in report.failures:
        out += [f"1. {ex.regime} #{ex.index} {_md(ex.claim)} {_md(ex.role)}: **{ex.status}** "
                f"(expected {ex.expected}), {_md(ex.describe())}"
                + (f"; advice: {_md(ex.advice())}" if ex.advice() else ""),
                f"   replay: {_code(ex.replay_command())}"]
    if report.comparison is not None:
        from verify.compare import comparison_rows

        changed = sum(c.changed for c in report.comparison)
        head, rows = comparison_rows(report.comparison)
        out += ["", f"## Comparison with baseline {report.baseline_name}", "",
                f"{changed} regime(s) changed outcome" + (" **CHANGED**" if changed else ""),
                "", _table(head, rows)]
    for s in report.sections:
        out += _section(s, figures_dir)
    out += ["", "## Provenance", "", _dl(provenance(report)), "",
            "### Seeds per regime (in example order)", "",
            _table(["regime", "seeds"], seeds_by_regime(report)), ""]
    return "\n".join(out)
