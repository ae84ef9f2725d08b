"""The self-contained HTML page of a report: inline CSS, figures as base64 PNG, no script,
no network access. Every text from the ledger is HTML-escaped."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from verify.render.derivations import headings
from verify.render.model import Example, RegimeSection, Report, fmt
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

__all__ = ["render_html"]

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2328;
background:#fff}
main{max-width:1180px;margin:0 auto;padding:16px 28px 48px}
h1{font-size:24px;margin:12px 0 4px}h2{font-size:19px;margin:30px 0 8px;padding-top:8px;
border-top:2px solid #d0d7de}h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;margin:6px 0 12px;font-size:12.5px}
th,td{border:1px solid #d0d7de;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums;
white-space:nowrap}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f6f8fa;
border-radius:4px}code{padding:1px 4px}pre{padding:8px 10px;overflow-x:auto;white-space:pre-wrap}
.ok{color:#1a7f37;font-weight:600}.bad{color:#b42318;font-weight:700}.warn{color:#b54708}
.banner{background:#ffebe9;border:2px solid #b42318;color:#b42318;padding:8px 12px;
font-weight:700;border-radius:6px}.banner p{margin:2px 0}
.counter{border-left:4px solid #b42318;background:#fff5f5;padding:6px 12px;margin:8px 0}
.flag{background:#ffebe9;color:#b42318;font-weight:700;padding:1px 6px;border-radius:10px}
.muted{color:#656d76}.claim{font-size:15px}figure{margin:10px 0 18px}
figure img{max-width:100%;border:1px solid #d0d7de}figcaption{font-size:12px;color:#656d76}
nav a{margin-right:10px}details{margin:4px 0}dl{display:grid;grid-template-columns:max-content
auto;gap:2px 14px;margin:6px 0}dt{font-weight:600}dd{margin:0}
"""


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def anchor(regime: str) -> str:
    return "regime-" + (re.sub(r"[^A-Za-z0-9]+", "-", regime).strip("-").lower() or "x")


def _table(head: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    parts = ["<table><thead><tr>", "".join(f"<th>{_e(h)}</th>" for h in head),
             "</tr></thead><tbody>"]
    for row in rows:
        cells = []
        for cell in row:
            text, cls = cell if isinstance(cell, tuple) else (cell, "")
            if text == "CHANGED":
                cells.append('<td><span class="flag">CHANGED</span></td>')
            else:
                attr = f' class="{cls}"' if cls else ""
                cells.append(f"<td{attr}>{_e(text)}</td>")
        parts.append("<tr>" + "".join(cells) + "</tr>")
    return "".join(parts) + "</tbody></table>"


def _dl(items: Iterable[tuple[str, str]]) -> str:
    return "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items) + "</dl>"


def _verdict_word(ex: Example) -> str:
    return f'<span class="{"ok" if ex.met else "bad"}">{_e(ex.status)}</span>'


def _failures(report: Report) -> str:
    if not report.failures:
        return ('<p class="ok">Every judged claim was consistent and every control was '
                "rejected.</p>" if report.examples else "<p class=muted>No examples.</p>")
    items = []
    for ex in report.failures:
        advice = ex.advice()
        items.append(
            f'<li><a href="#{anchor(str(ex.regime))}">{_e(ex.regime)}</a> #{ex.index} '
            f"{_e(ex.claim)} {_e(ex.role)}: {_verdict_word(ex)} (expected {_e(ex.expected)}), "
            f"{_e(ex.describe())}" + (f"<br>advice: {_e(advice)}" if advice else "")
            + f"<br>replay: <code>{_e(ex.replay_command())}</code></li>")
    return "<ol>" + "".join(items) + "</ol>"


def _comparison(report: Report) -> str:
    from verify.compare import comparison_rows

    if report.comparison is None:
        return ""
    changed = sum(c.changed for c in report.comparison)
    head, rows = comparison_rows(report.comparison)
    return (f'<h2 id="comparison">Comparison with baseline {_e(report.baseline_name)}</h2>'
            f"<p>{changed} regime(s) changed outcome"
            + (' <span class="flag">CHANGED</span>' if changed else "") + "</p>"
            + _table(head, rows))


def _counterexamples(section: RegimeSection) -> str:
    o = section.outcome
    if o.word not in ("failed", "refuted") or not section.counterexamples:
        return ""
    out = [f'<div class="counter"><h3>Minimal counterexample ({_e(o.word)})</h3>']
    for ex in section.counterexamples:
        v = ex.verdict
        p = p_value_text(ex)
        out.append(
            f"<p>#{ex.index} {_e(ex.claim)} {_e(ex.role)}: {_verdict_word(ex)} (expected "
            f"{_e(ex.expected)}) at {_e(ex.describe())}; estimate {_e(fmt(v.get('estimate')))} "
            f"in [{_e(fmt(v.get('ci_low')))}, {_e(fmt(v.get('ci_high')))}]"
            + (f", p-values {_e(p)}" if p != "-" else "") + "</p>"
            + (f"<p>advice: {_e(ex.advice())}</p>" if ex.advice() else "")
            + f"<p>replay: <code>{_e(ex.replay_command())}</code></p>")
    if o.shrink_steps:
        out.append(f"<p class=muted>+ {o.shrink_steps} shrink step(s), folded below</p>")
    return "".join(out) + "</div>"


def _section(section: RegimeSection, figure_src: Mapping[str, str]) -> str:
    info, o = section.info, section.outcome
    cls = "bad" if o.flagged else "ok"
    out = [f'<h2 id="{anchor(o.regime)}">{_e(o.regime)}: <span class="{cls}">{_e(o.word)}'
           "</span></h2>", _counterexamples(section)]
    facts = [("status", o.status or "-"), ("outcome", f"{o.word}: {o.why}"),
             ("examples", o.describe())]
    if info.registered:
        out.append(f'<p class="claim">{_e(info.claim)}</p>')
        facts = [("source", info.source), ("block", info.block),
                 ("parameters", "; ".join(info.parameters) or "none"), *facts]
    else:
        out.append(f"<p class=muted>Regime {_e(o.regime)} is not registered in this checkout: "
                   "its claim and derivation cannot be shown.</p>")
    out.append(_dl(facts))
    for line in section.disagreements:
        out.append(f'<p class="warn">Derivation beside the measurement: {_e(line)}; measured '
                   f"outcome: <b>{_e(o.word)}</b></p>")
    theory_title, figures_title = headings(section.derivations)
    if section.derivations:
        out.append(f"<h3>{_e(theory_title)}</h3>")
    for d in section.derivations:
        if d.error:
            out.append(f"<p>sigma = <code>{_e(d.sigma)}</code>: derivation unavailable: "
                       f"{_e(d.error)}</p>")
            continue
        rates = "".join(f"<li>{_e(r)}</li>" for r in d.rates)
        out.append(f"<p>sigma = <code>{_e(d.sigma)}</code> [{_e(d.kind)}]</p>"
                   f"<pre>{_e(d.equation)}</pre><ul>{rates}</ul>"
                   + (f"<p class=muted>{_e(LEGEND)}</p>" if d.legend else "")
                   + (f"<details><summary>LaTeX</summary><pre>{_e(d.latex)}</pre></details>"
                      if d.latex else ""))
    out.append("<h3>Verdicts</h3>")
    out.append(_table(VERDICT_HEAD, (verdict_cells(e) for e in section.examples)))
    if section.folded:
        out.append(f"<details><summary>+ {len(section.folded)} shrink step(s) (folded: not "
                   "counted)</summary>"
                   + _table(VERDICT_HEAD, (verdict_cells(e) for e in section.folded))
                   + "</details>")
    if section.figures:
        out.append(f"<h3>{_e(figures_title)}</h3>")
    for f in section.figures:
        out.append(f'<figure><img alt="{_e(f.caption)}" src="{figure_src[f.name]}">'
                   f"<figcaption>{_e(f.caption)}</figcaption></figure>")
    return "".join(out)


def render_html(report: Report) -> str:
    """The self-contained HTML page (figures embedded as base64 PNG)."""
    src = {f.name: "data:image/png;base64," + base64.b64encode(f.png).decode("ascii")
           for f in report.figures}
    nav = " ".join(f'<a href="#{anchor(o.regime)}">{_e(o.regime)}</a>'
                   for o in report.outcomes)
    banner = incomplete_lines(report)
    body = [('<div class="banner" id="incomplete">' + "".join(
        f"<p>{_e(line)}</p>" for line in banner) + "</div>") if banner else "",
        f"<h1>{_e(report.title)}</h1>",
        f'<p class="muted">{_e(report.ledger_name)} - profile {_e(report.ledger.profile)} - '
        f"commit {_e(report.ledger.commit[:12])}</p>",
        f"<nav>{nav} <a href='#provenance'>provenance</a></nav>",
        '<h2 id="summary">Run summary</h2>', _dl(run_facts(report)),
        _table(summary_head(report), summary_rows(report)),
        '<h2 id="failures">Not as expected, with replay commands</h2>', _failures(report),
        _comparison(report)]
    body += [_section(s, src) for s in report.sections]
    body += ['<h2 id="provenance">Provenance</h2>', _dl(provenance(report)),
             "<h3>Seeds per regime (in example order)</h3>",
             _table(["regime", "seeds"], seeds_by_regime(report))]
    return ("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
            '<meta name=viewport content="width=device-width,initial-scale=1">'
            f"<title>{_e(report.title)}</title><style>{_CSS}</style></head><body><main>"
            + "\n".join(b for b in body if b) + "</main></body></html>\n")
