"""Reports from stored schema-2 ledgers: content, colours, deciding statistics, human names,
conjectures with folded shrink steps, INCOMPLETE runs, hostile ledger text, --json, the
default run, comparison, and bad input.

Ledgers are real files written through LedgerWriter (tests/verify/conftest.py: synthetic
per-sample errors with a known slope, fitted and judged by verify.rates / verify.verdict).
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from verify.cli import main
from verify.compare import compare_ledgers, format_comparison
from verify.ledger import LedgerError, load_ledger
from verify.ledger_writer import LedgerWriter
from verify.report import (
    ReportError,
    build_report,
    fmt,
    render_html,
    render_markdown,
    write_report,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DISAGREES = {"kind": "sde", "claimed_kind": "ode", "agrees": False,
             "reason": "the Ito term survives"}


def _records(synth, r5_ok: bool) -> list[dict]:
    conj = [synth.rate("RX-conj", "claim", 1.0, 0.5, 40 + a, status="conjecture", attempt=a,
                       derivation=DISAGREES) for a in range(5)]
    return [
        synth.rate("R3-iid", "claim", 0.2, 0.2, 11),
        synth.rate("R3-iid", "control:rate-x2", 0.2, 0.4, 12),
        synth.rate("R5", "claim", 0.5 if r5_ok else 1.0, 0.5, 13),
        synth.rate("R5", "control:drop-ito", 0.0 if r5_ok else 0.5, 0.5, 14),
        synth.law("R6", "claim", 0.0, 15),
        synth.law("R6", "control:noise-x2", 0.5, 16),
        synth.rate("X-custom", "claim", 1.0, 1.0, 17),
        *conj,
    ]


@pytest.fixture
def ledger(tmp_path: Path, synth) -> Path:
    """R3-iid verified; R5 failed (claim inconsistent, control consistent: red); R6 law
    verified; X-custom unregistered, verified; RX-conj a refuted conjecture, 4 shrink steps."""
    return synth.write(tmp_path / "runs" / "current.json", _records(synth, r5_ok=False),
                       outcomes={synth.node("RX-conj"): ("refuted", 4)})


@pytest.fixture
def baseline(tmp_path: Path, synth) -> Path:
    """The same run with R5 verified."""
    return synth.write(tmp_path / "runs" / "baseline.json", _records(synth, r5_ok=True),
                       outcomes={synth.node("RX-conj"): ("refuted", 4)})


def _section(page: str, regime: str) -> str:
    return page.split(f'id="regime-{regime.lower()}"')[1].split("<h2")[0]


def _rows(fragment: str) -> list[str]:
    return re.findall(r"<tr>(.*?)</tr>", fragment)


def test_fixture_verdicts_are_as_designed(ledger: Path, baseline: Path) -> None:
    statuses = [r["verdict"]["status"] for r in load_ledger(ledger).records]
    assert statuses[:7] == ["consistent", "inconsistent", "inconsistent", "consistent",
                            "consistent", "inconsistent", "consistent"]
    assert [r["verdict"]["status"] for r in load_ledger(baseline).records][2:4] == [
        "consistent", "inconsistent"]


def test_outcome_word_per_regime_in_stable_order(ledger: Path) -> None:
    report = build_report(ledger, figures=False)
    assert [(o.regime, o.word) for o in report.outcomes] == [
        ("R3-iid", "verified"), ("R5", "failed"), ("R6", "verified"), ("RX-conj", "refuted"),
        ("X-custom", "verified")]
    assert [e.index for e in report.failures] == [3, 4, 12]
    md = render_markdown(report)
    heads = re.findall(r"^## (\S+): (\w+)", md, re.M)
    assert heads == [("R3-iid", "verified"), ("R5", "failed"), ("R6", "verified"),
                         ("RX-conj", "refuted"), ("X-custom", "verified")]


def test_html_report_content(ledger: Path, tmp_path: Path) -> None:
    out = tmp_path / "rep"
    written = write_report(ledger, out, command="resnet-limits report current.json")
    page = (out / "report.html").read_text(encoding="utf-8")
    assert out / "report.html" in written and out / "report.md" in written
    for heading in ("Run summary", "Not as expected, with replay commands", "Provenance",
                    "Derived limit (theory, exact)", "Verdicts", "Error against depth"):
        assert heading in page
    from theory.regimes import get

    assert html.escape(get("R3-iid").claim) in page and html.escape(get("R3-iid").source) in page
    assert "h_L -&gt; h_0" in _section(page, "R3-iid")  # the derived identity limit
    assert "X-custom is not registered in this checkout" in page
    records = load_ledger(ledger).records
    for rec in records[:4]:
        v = rec["verdict"]
        for cell in (fmt(v["estimate"]), f"[{fmt(v['ci_low'])}, {fmt(v['ci_high'])}]",
                     str(rec["seed"]), fmt(v["tolerance"])):
            assert f">{html.escape(cell)}</td>" in page, cell
    failures = page.split('id="failures"')[1].split("<h2")[0]
    assert failures.count("<li>") == 3
    assert html.escape(records[2]["replay"]) in failures and "expected consistent" in failures
    prov = page.split('id="provenance"')[1]
    assert synth_commit(ledger) in prov and "main (12)" in prov
    assert load_ledger(ledger).versions["numpy"] in prov


def synth_commit(ledger: Path) -> str:
    return load_ledger(ledger).commit


def test_every_unexpected_verdict_is_red_and_expected_ones_green(ledger: Path) -> None:
    page = render_html(build_report(ledger, figures=False))
    r5 = _rows(_section(page, "R5"))
    claim = next(r for r in r5 if "<td>claim</td>" in r)
    control = next(r for r in r5 if "control:drop-ito" in r)
    # a control judged consistent (the wrong twin passed) is red, never green
    assert '<td class="bad">consistent</td>' in control and 'class="ok"' not in control
    assert '<td class="bad">inconsistent</td>' in claim
    # a control judged inconsistent (rejected, as expected) is green
    r3 = next(r for r in _rows(_section(page, "R3-iid")) if "control:rate-x2" in r)
    assert '<td class="ok">inconsistent</td>' in r3 and 'class="bad"' not in r3
    summary = page.split('id="summary"')[1].split("<h2")[0]
    assert '<td class="bad">failed</td>' in summary and '<td class="bad">refuted</td>' in summary
    assert '<td class="ok">verified</td>' in summary
    assert 'id="regime-r5">R5: <span class="bad">failed</span>' in page


def test_advice_only_where_it_helps(ledger: Path) -> None:
    report = build_report(ledger, figures=False)
    for text in (render_html(report), render_markdown(report)):
        assert "advice: none" not in text and "advice: -" not in text
        assert "advice: predicted rate 0.5 lies outside" in text  # the rejected claim
    failures = render_html(report).split('id="failures"')[1].split("<h2")[0]
    control = next(li for li in failures.split("<li>") if "control:drop-ito" in li)
    assert "advice" not in control  # a consistent verdict has no advice to give


def test_law_verdicts_show_their_p_values(ledger: Path) -> None:
    report = build_report(ledger, figures=False)
    rec = load_ledger(ledger).records[5]  # the R6 control, rejected
    stats = rec["verdict"]["statistics"]
    ps = {k[2:-1]: v for k, v in stats.items() if k.startswith("p[")}
    assert len(ps) == 2
    row = next(r for r in _rows(_section(render_html(report), "R6")) if "noise-x2" in r)
    for name, p in ps.items():
        assert f"{html.escape(name)} {fmt(p, 3)}" in row, (name, row)
    assert f"adjusted {fmt(stats['p_bonferroni'], 3)}" in row
    # a ledger without the stored statistics: the numbers printed in the summary are shown
    from verify.render.model import Example

    bare = {**rec, "verdict": {k: v for k, v in rec["verdict"].items() if k != "statistics"}}
    values, adjusted = Example(1, bare).p_values()
    assert set(values) == set(ps) and adjusted == pytest.approx(stats["p_bonferroni"], rel=0.01)
    assert "(log|h|^2)^2 " in render_markdown(report).replace("\\|", "|")


def test_equations_use_human_names(ledger: Path) -> None:
    report = build_report(ledger, figures=False)
    section = next(s for s in report.sections if s.outcome.regime == "R6")
    eq = " ".join(d.equation + d.latex for d in section.derivations)
    assert "E[sigma(Z)^2](q)" in eq and r"\mathbb{E}[\sigma(Z)^2]" in eq
    for text in (render_html(report), render_markdown(report)):
        assert not re.search(r"E_sigma|E_\{\\sigma|E_dsigma", text)
        assert "Z ~ N(0, q)" in text


def test_refuted_conjecture_shows_its_minimal_counterexample_first(ledger: Path) -> None:
    page = render_html(build_report(ledger, figures=False))
    section = _section(page, "RX-conj")
    assert section.index('class="counter"') < section.index("<dl>")  # at the top
    counter = section.split('class="counter"')[1].split("</div>")[0]
    records = load_ledger(ledger).records
    final = next(r for r in records if r["regime"] == "RX-conj" and r["attempt"] == 4)
    assert html.escape(final["replay"]) in counter and "seed=44" in counter
    assert "+ 4 shrink step(s)" in counter
    steps = section.split("<details><summary>+ 4 shrink step(s)")[1]
    assert len(_rows(steps)) == 1 + 4  # header + the folded steps, not counted above
    summary = page.split('id="summary"')[1].split("<h2")[0]
    assert "claims 0/1 consistent (1 inconsistent); + 4 shrink steps" in summary
    # the derivation's disagreement beside the measured outcome
    assert "derivation says sde, the regime claims ode: the Ito term survives" in section
    assert "measured outcome: <b>refuted</b>" in section


def test_complete_run_has_no_incomplete_banner(ledger: Path) -> None:
    report = build_report(ledger, figures=False)
    assert "INCOMPLETE" not in render_html(report) + render_markdown(report)


@pytest.mark.parametrize("finish", [None, "interrupted"])
def test_incomplete_run_says_so_at_the_very_top(tmp_path: Path, synth, finish) -> None:
    a = synth.rate("R1", "claim", 1.0, 1.0, 1)
    path = synth.write(tmp_path / "runs" / "k.json", [a], finish=finish,
                       plan=[a["node_id"], "t::test_claim[R7/strong]"], regimes=["R1", "R7"])
    reason = finish or "killed"
    out = tmp_path / "rep"
    write_report(path, out)
    page = (out / "report.html").read_text(encoding="utf-8")
    body = page.split("<main>")[1]
    assert body.startswith(f'<div class="banner" id="incomplete"><p>INCOMPLETE run ({reason})')
    assert "regimes not (fully) run: R7" in body.split("</div>")[0]
    md = (out / "report.md").read_text(encoding="utf-8")
    assert md.startswith(f"**INCOMPLETE run ({reason})")
    assert "1 of 2 planned tests without outcome: t::test_claim[R7/strong]" in md
    assert "state**: incomplete" in md


def _hostile_ledger(path: Path, sigma: str) -> Path:
    from verify.ledger_schema import make_record

    w = LedgerWriter(path, profile="ci", commit="x", worker="main")
    w.event("plan", node_ids=["n"], regimes=["R5"])
    w.append(make_record(regime="R5", quantity="strong", sigma=sigma, node_id="n",
                         verdict={"status": "consistent", "advice": f"<script>{sigma}"},
                         prediction={"kind": "rate", "text": f"</td><b>{sigma}"}))
    w.event("outcome", node_id="n", outcome="passed", final_attempt=0, message="")
    w.event("finish", state="complete", reason="", exitstatus=0)
    return w.finalize()


@pytest.mark.parametrize("template", [
    '__import__("os").system("touch {pwned}")',
    "exec({chars})",  # only letters, digits and parentheses: passes a character filter
    "x.__class__.__mro__",
])
def test_a_hostile_ledger_is_rendered_never_executed(tmp_path: Path, capsys,
                                                     template: str) -> None:
    pwned = tmp_path / "pwned"
    code = f'import os; os.system("touch {pwned}")'
    sigma = template.format(pwned=pwned, chars="+".join(f"chr({ord(c)})" for c in code))
    ledger = _hostile_ledger(tmp_path / "runs" / "evil.json", sigma)
    out = tmp_path / "rep"
    status = main(["report", str(ledger), "--out", str(out)])
    captured = capsys.readouterr()
    assert not pwned.exists(), "ledger text was executed"
    assert status in (0, 2), captured.err
    if status == 0:
        page = (out / "report.html").read_text(encoding="utf-8")
        assert "derivation unavailable" in page
        assert "<script>" not in page and "</td><b>" not in page  # escaped, not markup
    else:
        assert captured.err.count("\n") == 1


def test_report_json_summary(ledger: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "rep"
    assert main(["report", str(ledger), "--out", str(out), "--json", "--format", "md"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "resnet-limits-summary/1" and doc["complete"] is True
    assert doc["passed"] is False and doc["ledger"] == str(ledger)
    assert [(r["regime"], r["outcome"]) for r in doc["regimes"]] == [
        ("R3-iid", "verified"), ("R5", "failed"), ("R6", "verified"), ("RX-conj", "refuted"),
        ("X-custom", "verified")]
    conj = doc["regimes"][3]
    assert conj["shrink_steps"] == 4 and conj["counterexample_records"][0]["seed"] == 44
    assert doc["written"] == [str(out / "report.md")] and (out / "report.md").is_file()


def test_report_without_argument_names_its_run_and_warns(tmp_path: Path, synth, capsys,
                                                        monkeypatch) -> None:
    import verify.cli as cli

    runs = tmp_path / "reports" / "runs"
    monkeypatch.setattr(cli, "_runs_dir", lambda: runs)
    old = synth.write(runs / "20250101T000000Z-ci.json", [synth.rate("R1", "claim", 1, 1, 1)])
    killed = synth.write(runs / "20250102T000000Z-ci.json", [synth.rate("R1", "claim", 1, 1, 2)],
                         finish=None, finalize=False)
    # the killed run's header is newer: make the order explicit through the created field
    text = killed.read_text().replace('"created":"', '"created":"9', 1)
    killed.write_text(text)
    assert main(["report"]) == 0
    captured = capsys.readouterr()
    created = load_ledger(old).created
    assert f"rendering {old} (created {created})" in captured.out
    assert "warning: a newer run 20250102T000000Z-ci" in captured.err
    assert "incomplete (killed)" in captured.err and "runs recover" in captured.err
    assert (tmp_path / "reports" / "20250101T000000Z-ci" / "report.html").is_file()


def test_html_is_self_contained_with_embedded_figures(ledger: Path, tmp_path: Path) -> None:
    out = tmp_path / "rep"
    write_report(ledger, out, formats=("html",))
    page = (out / "report.html").read_text(encoding="utf-8")
    links = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert links and all(u.startswith(("data:image/png;base64,", "#")) for u in links)
    assert "<script" not in page and "http://" not in page and "https://" not in page
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 8  # one per (claim, role) with counted examples
    for data in images:
        png = base64.b64decode(data)
        assert png.startswith(PNG_MAGIC) and len(png) > 2000
    assert not (out / "figures").exists() and not (out / "report.md").exists()


def test_markdown_report_with_png_files(ledger: Path, tmp_path: Path) -> None:
    out = tmp_path / "rep"
    write_report(ledger, out, formats=("md",))
    md = (out / "report.md").read_text(encoding="utf-8")
    refs = re.findall(r"!\[[^\]]*\]\((figures/[^)]+\.png)\)", md)
    assert len(refs) == 8
    for ref in refs:
        assert (out / ref).read_bytes().startswith(PNG_MAGIC)
    assert sorted(p.name for p in (out / "figures").iterdir()) == sorted(
        Path(r).name for r in refs)
    assert "## R5: failed (!)" in md and "**consistent** (!)" in md
    rec = load_ledger(ledger).records[0]
    assert f"| {fmt(rec['verdict']['estimate'])} |" in md


def test_example_figures_carry_fit_and_prediction(ledger: Path) -> None:
    from matplotlib.figure import Figure

    from verify.render.figures import plot_panel

    report = build_report(ledger, figures=False)
    ex = report.examples[0]
    fit, v = ex.fit, ex.verdict
    ax = Figure().subplots()
    plot_panel(ax, ex)
    label = ax.get_xaxis().get_label().get_text()
    assert f"slope {fit['slope']:.3f} [{-fit['ci_high']:.3f}, {-fit['ci_low']:.3f}]" in label
    assert f"predicted {-v['predicted']:.3g} (sharp" in label
    assert ax.get_title().endswith("consistent") and ax.title.get_color() == "#1a7f37"
    bad = next(e for e in report.examples if e.index == 4)  # the red control
    ax = Figure().subplots()
    plot_panel(ax, bad)
    assert "NOT expected" in ax.get_title() and ax.title.get_color() == "#b42318"


def test_report_does_not_import_numerics(ledger: Path, tmp_path: Path) -> None:
    code = (
        "import sys; from verify.report import write_report; "
        f"write_report({str(ledger)!r}, {str(tmp_path / 'r')!r}); "
        "bad = [m for m in ('numerics', 'torch') if m in sys.modules]; "
        "assert not bad, bad"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=Path(__file__).resolve().parents[2], timeout=300)
    assert done.returncode == 0, done.stderr


def test_compare_flags_the_changed_regime(ledger: Path, baseline: Path, capsys) -> None:
    changes = {c.regime: c for c in compare_ledgers(baseline, ledger)}
    assert changes["R5"].changed and changes["R5"].note == "outcome changed: verified -> failed"
    assert not any(c.changed for name, c in changes.items() if name != "R5")
    assert list(changes) == sorted(changes)
    text = format_comparison(list(changes.values()))
    assert "! R5" in text and "1 regime(s) changed outcome" in text
    assert main(["compare", str(baseline), str(ledger)]) == 1
    assert re.search(r"^! R5 +verified +failed +outcome changed", capsys.readouterr().out, re.M)
    assert main(["compare", str(baseline), str(baseline)]) == 0
    assert "0 regime(s) changed outcome" in capsys.readouterr().out


def test_report_with_baseline_flags_changes(ledger: Path, baseline: Path, tmp_path: Path) -> None:
    out = tmp_path / "rep"
    write_report(ledger, out, baseline=baseline)
    section = (out / "report.html").read_text(encoding="utf-8").split('id="comparison"')[1]
    section = section.split("<h2")[0]
    assert "1 regime(s) changed outcome" in section
    assert re.search(r"<td>R5</td><td>verified</td><td>failed</td><td><span class=\"flag\">"
                     r"CHANGED</span>", section)
    assert "| R5 | verified | failed | **CHANGED** |" in (out / "report.md").read_text()


def test_cli_report_restricted_to_a_regime(ledger: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "cli-rep"
    assert main(["report", str(ledger), "--out", str(out), "--regime", "R3-iid"]) == 0
    printed = capsys.readouterr().out
    assert str(out / "report.html") in printed and "2 figure(s)" in printed
    page = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="regime-r3-iid"' in page and 'id="regime-r5"' not in page


def _one_line_error(capsys, argv: list[str], match: str) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert match in captured.err and captured.err.count("\n") == 1, captured.err
    assert captured.out == ""


def test_bad_ledgers_exit_2_and_write_nothing(tmp_path: Path, ledger: Path, capsys) -> None:
    out = tmp_path / "never"
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json\n")
    _one_line_error(capsys, ["report", str(garbage), "--out", str(out)], "is not valid JSON")
    old = tmp_path / "old.json"
    doc = json.loads(ledger.read_text())
    doc["schema_version"] = 1
    old.write_text(json.dumps(doc))
    _one_line_error(capsys, ["report", str(old), "--out", str(out)],
                    f"ledger {old} has schema_version=1")
    _one_line_error(capsys, ["report", str(tmp_path / "missing.json"), "--out", str(out)],
                    "no ledger at")
    _one_line_error(capsys, ["compare", str(old), str(ledger)], "schema_version=1")
    malformed = tmp_path / "malformed.json"
    doc = json.loads(ledger.read_text())
    del doc["records"][1]["verdict"]
    malformed.write_text(json.dumps(doc))
    _one_line_error(capsys, ["report", str(malformed), "--out", str(out)],
                    f"corrupt ledger {malformed}: record 2: field 'verdict': missing")
    _one_line_error(capsys, ["report", str(ledger), "--out", str(out), "--baseline", str(old)],
                    "schema_version=1")
    assert not out.exists()
    with pytest.raises(LedgerError):
        build_report(old)


def test_bad_names_exit_2_and_write_nothing(tmp_path: Path, ledger: Path, capsys) -> None:
    out = tmp_path / "never"
    _one_line_error(capsys, ["report", str(ledger), "--out", str(out), "--regime", "R99"],
                    "unknown regime 'R99'")
    _one_line_error(capsys, ["report", str(ledger), "--out", str(out), "--regime", "R1"],
                    "regime='R1' has no records in current.json")
    _one_line_error(capsys, ["report", str(ledger), "--out", str(out), "--format", "pdf"],
                    "--format='pdf'")
    assert not out.exists()
    with pytest.raises(ReportError, match="formats="):
        write_report(ledger, out, formats=("pdf",))
    assert not out.exists()


def test_rendering_is_deterministic_text(ledger: Path) -> None:
    report = build_report(ledger, figures=False)
    assert render_markdown(report) == render_markdown(report)
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")


def test_backward_claims_get_the_backward_derivation() -> None:
    from verify.render.model import derivation

    d = derivation("R5", "softplus_centered", "grad-input")
    assert d.kind == "fbsde" and "Ito term" in d.equation, d
    assert derivation("R99", "tanh").error  # unknown regime: shown, never raised


def test_a_retested_example_shows_both_stages() -> None:
    from verify.render.model import Example
    from verify.render.rows import verdict_cells

    record = {"claim": "R1/sup", "role": "claim", "instance": {"sigma": "tanh", "width": 2},
              "seed": 3, "verdict": {"status": "consistent"},
              "stages": [{"seed": 3, "status": "inconclusive"},
                         {"seed": 9, "status": "consistent"}]}
    cells = [c[0] if isinstance(c, tuple) else c for c in verdict_cells(Example(1, record))]
    assert "consistent (retested: stage 1 inconclusive, stage 2 consistent)" in cells
    once = {**record, "stages": []}
    cells = [c[0] if isinstance(c, tuple) else c for c in verdict_cells(Example(1, once))]
    assert "consistent" in cells and not any("retested" in str(c) for c in cells)
