"""Reports from stored ledgers: content, figures, numbers, comparison, and bad input.

The ledgers are written here with verify.ledger (LedgerWriter, make_record); error tables are
numerics.metrics.ErrorTable values built from synthetic per-sample errors with a known slope,
fitted and judged by verify.rates / verify.verdict exactly as the plugin does.
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

import numpy as np
import pytest

from numerics.metrics import ErrorTable
from verify.cli import main
from verify.compare import compare_ledgers, format_comparison
from verify.ledger import LedgerError, LedgerWriter, load_ledger, make_record
from verify.rates import fit_rate
from verify.report import (
    ReportError,
    build_report,
    expected_status,
    fmt,
    regime_outcomes,
    render_html,
    render_markdown,
    write_report,
)
from verify.verdict import judge, judge_growth

DEPTHS = (8, 16, 32, 64, 128)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _table(errors: np.ndarray, seed: int, metric: str = "identity") -> ErrorTable:
    """An ErrorTable of per-sample errors ``(n_depths, M)`` for one metric."""
    nd, m = errors.shape
    finite = [row[np.isfinite(row)] for row in errors]  # overflowed samples are +inf
    means = np.array([abs(r.mean()) for r in finite])
    ses = np.array([r.std(ddof=1) / np.sqrt(r.size) for r in finite])
    return ErrorTable(
        depths=DEPTHS, samples={metric: errors}, means={metric: means}, stderrs={metric: ses},
        n_valid=np.full(nd, m), overflow=np.zeros((nd, m), bool), limit_overflow=None,
        seed=seed, n_samples=m, width=3, n_fine=DEPTHS[-1], device="cpu", dtype="float64",
        draw_dtype="float32", wall_time_s=0.125, meta={"block": "O"},
    )


def _errors(rate: float, seed: int, m: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.array(DEPTHS, float)[:, None] ** -rate * rng.lognormal(0.0, 0.2, (len(DEPTHS), m))


def _claim(regime: str, role: str, true_rate: float, claimed: float, seed: int,
           sigma: str = "tanh", **params: float) -> dict:
    errors = _errors(true_rate, seed)
    table = _table(errors, seed)
    fit = fit_rate(np.array(DEPTHS), errors, window=4, n_boot=200, seed=seed)
    verdict = judge(fit, claimed)
    test = "test_control" if role.startswith("control") else "test_claim"
    node = f"tests/properties/test_forward_claims.py::{test}[{regime}]"
    return make_record(regime=regime, parameters={"sigma": sigma, "width": 3, **params},
                       seed=seed, node_id=node, table=table.to_dict(), fit=fit.to_dict(),
                       verdict=verdict.to_dict(), replay=f"pytest '{node}' --profile ci",
                       profile="ci", role=role, device="cpu")


def _overflow_record(seed: int) -> dict:
    errors = np.array(DEPTHS, float)[:, None] ** 2.0 * np.ones((len(DEPTHS), 8))
    errors[-1, 3] = np.inf
    table = _table(errors, seed)
    verdict = judge_growth(None, overflow=True)
    return make_record(regime="R4", parameters={"sigma": "relu", "width": 3, "alpha": 0.0},
                       seed=seed, node_id="tests/x.py::test_x[R4]", table=table.to_dict(),
                       fit=None, verdict=verdict.to_dict(), replay="", profile="ci",
                       role="claim", device="cpu")


def _write(path: Path, records: list[dict], profile: str = "ci") -> Path:
    writer = LedgerWriter(path, profile=profile, device="cpu", commit=COMMIT, worker="main")
    for rec in records:
        writer.append(rec)
    return writer.finalize()


def _records(r5_claim_rate: float = 0.5) -> list[dict]:
    return [
        _claim("R3-iid", "claim", 0.2, 0.2, seed=11, alpha=0.7),
        _claim("R3-iid", "control: rate", 0.2, 0.6, seed=12, alpha=0.7),
        _claim("R5", "claim", r5_claim_rate, 0.5, seed=13, sigma="tanh"),
        _claim("R5", "control: no Ito drift", 0.0, 0.5, seed=14, sigma="tanh"),
        _overflow_record(seed=15),
        _claim("X-custom", "claim", 1.0, 1.0, seed=16),  # a regime not registered here
    ]


@pytest.fixture(autouse=True)
def _no_xdist_worker_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    """Records: R3-iid claim ok + control rejected; R5 claim *inconsistent* (true rate 1.0
    judged against 0.5: a failure) + control rejected; R4 overflow claim ok; an unregistered
    regime."""
    return _write(tmp_path / "runs" / "current.json", _records(r5_claim_rate=1.0))


@pytest.fixture
def baseline(tmp_path: Path) -> Path:
    """The same examples, with R5's claim at its true rate 0.5 (consistent)."""
    return _write(tmp_path / "runs" / "baseline.json", _records(r5_claim_rate=0.5))


def test_statuses_of_the_fixture_are_as_designed(ledger: Path, baseline: Path) -> None:
    statuses = [r["verdict"]["status"] for r in load_ledger(ledger).records]
    assert statuses == ["consistent", "inconsistent", "inconsistent", "inconsistent",
                        "consistent", "consistent"]
    assert load_ledger(baseline).records[2]["verdict"]["status"] == "consistent"


def test_outcomes_and_expectations(ledger: Path) -> None:
    report = build_report(ledger)
    assert expected_status("claim") == "consistent"
    assert expected_status("control: rate") == "inconsistent"
    outcomes = regime_outcomes(report.examples)
    assert {k: o.verdict for k, o in outcomes.items()} == {
        "R3-iid": "verified", "R5": "failed", "R4": "verified", "X-custom": "verified"}
    assert outcomes["R5"].describe() == "claims 0/1 consistent (1 inconsistent); controls " \
                                        "1/1 rejected"
    assert [e.index for e in report.failures] == [3]


def test_html_report_content(ledger: Path, tmp_path: Path) -> None:
    out = tmp_path / "rep"
    written = write_report(ledger, out, command="resnet-limits report current.json")
    page = (out / "report.html").read_text(encoding="utf-8")
    assert out / "report.html" in written and out / "report.md" in written
    for heading in ("Run summary", "Failures and replay commands", "Provenance",
                    "Derived limit (theory, exact)", "Verdicts", "Error against depth (log-log)"):
        assert heading in page
    for regime in ("R3-iid", "R5", "R4", "X-custom"):
        assert f'id="regime-{regime.lower()}"' in page
    from theory.regimes import get

    # claim, source and derived equation come from theory (derivation, not numerics)
    assert html.escape(get("R3-iid").claim) in page
    assert html.escape(get("R3-iid").source) in page
    assert html.escape(get("R3-iid").limit("tanh").equation()) in page
    assert "X-custom is not registered in this checkout" in page
    # the verdict table shows the ledger's numbers
    records = load_ledger(ledger).records
    for rec in records[:4]:
        v = rec["verdict"]
        cells = [fmt(v["estimate"]), f"[{fmt(v['ci_low'])}, {fmt(v['ci_high'])}]",
                 fmt(v["predicted"]), str(rec["seed"])]
        for cell in cells:
            assert f">{html.escape(cell)}</td>" in page, cell
    # the failure, with its replay command
    failures = page.split('id="failures"')[1].split("<h2")[0]
    assert "R5</a> #3 claim" in failures and "expected consistent" in failures
    assert html.escape(records[2]["replay"]) in failures
    assert failures.count("<li>") == 1
    # provenance
    prov = page.split('id="provenance"')[1]
    assert COMMIT in prov and "profile" in prov and "ci (6)" in prov and "cpu (6)" in prov
    assert "11, 12" in prov  # seeds of R3-iid in example order
    assert load_ledger(ledger).versions["numpy"] in prov


def test_html_is_self_contained_with_embedded_figures(ledger: Path, tmp_path: Path) -> None:
    out = tmp_path / "rep"
    write_report(ledger, out, formats=("html",))
    page = (out / "report.html").read_text(encoding="utf-8")
    links = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert links and all(u.startswith(("data:image/png;base64,", "#")) for u in links)
    assert "<script" not in page and "http://" not in page and "https://" not in page
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    # one figure per (regime, test): 2 + 2 + 1 + 1
    assert len(images) == 6
    for data in images:
        png = base64.b64decode(data)
        assert png.startswith(PNG_MAGIC) and len(png) > 2000
    assert not (out / "figures").exists() and not (out / "report.md").exists()


def test_markdown_report_with_png_files(ledger: Path, tmp_path: Path) -> None:
    out = tmp_path / "rep"
    write_report(ledger, out, formats=("md",))
    md = (out / "report.md").read_text(encoding="utf-8")
    refs = re.findall(r"!\[[^\]]*\]\((figures/[^)]+\.png)\)", md)
    assert len(refs) == 6
    for ref in refs:
        png = (out / ref).read_bytes()
        assert png.startswith(PNG_MAGIC) and len(png) > 2000
    assert sorted(p.name for p in (out / "figures").iterdir()) == sorted(
        Path(r).name for r in refs)
    from PIL import Image

    with Image.open(out / refs[0]) as img:
        assert img.width > 200 and img.height > 200
    assert "$$" in md and "## R5: failed" in md and "## Run summary" in md
    rec = load_ledger(ledger).records[0]
    assert f"| {fmt(rec['verdict']['estimate'])} |" in md
    assert "replay: `pytest 'tests/properties/test_forward_claims.py::test_claim[R5]'" in md


def test_example_figures_carry_fit_and_prediction(ledger: Path) -> None:
    """Each panel's label holds the fitted slope with its interval and the predicted slope."""
    report = build_report(ledger)
    rec = load_ledger(ledger).records[0]
    fit, v = rec["fit"], rec["verdict"]
    assert v["kind"] == "sharp" and fit["window"] == [16, 32, 64, 128]
    figure = next(f for f in report.figures if 1 in f.examples)
    assert figure.examples == (1,)
    from matplotlib.figure import Figure

    from verify.report import _plot_panel  # the panel drawer, checked on a bare axis

    ax = Figure().subplots()
    _plot_panel(ax, report.examples[0])
    label = ax.get_xaxis().get_label().get_text()
    assert f"slope {fit['slope']:.3f} [{-fit['ci_high']:.3f}, {-fit['ci_low']:.3f}]" in label
    assert f"predicted {-v['predicted']:.3g} (sharp" in label
    lines = ax.get_lines()
    fitted = [ln for ln in lines if ln.get_linestyle() == "-"]
    predicted = [ln for ln in lines if ln.get_linestyle() == "--"]
    assert len(fitted) == 1 and len(predicted) == 1
    xs, ys = (np.asarray(a, float) for a in predicted[0].get_data())
    assert np.log(ys[1] / ys[0]) / np.log(xs[1] / xs[0]) == pytest.approx(-v["predicted"])
    xs, ys = (np.asarray(a, float) for a in fitted[0].get_data())
    assert np.log(ys[1] / ys[0]) / np.log(xs[1] / xs[0]) == pytest.approx(fit["slope"])


def test_report_does_not_import_numerics(ledger: Path, tmp_path: Path) -> None:
    code = (
        "import sys; from verify.report import write_report; "
        f"write_report({str(ledger)!r}, {str(tmp_path / 'r')!r}); "
        "bad = [m for m in ('numerics', 'torch') if m in sys.modules]; "
        "assert not bad, bad"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=Path(__file__).resolve().parents[2], timeout=120)
    assert done.returncode == 0, done.stderr


def test_compare_flags_the_changed_regime(ledger: Path, baseline: Path, capsys) -> None:
    changes = {c.regime: c for c in compare_ledgers(baseline, ledger)}
    assert changes["R5"].changed and changes["R5"].note == "verdict changed: verified -> failed"
    assert not any(c.changed for name, c in changes.items() if name != "R5")
    text = format_comparison(list(changes.values()))
    assert "! R5" in text and "1 regime(s) changed verdict" in text
    assert main(["compare", str(baseline), str(ledger)]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^! R5 +verified +failed +verdict changed", out, re.M)
    assert main(["compare", str(baseline), str(baseline)]) == 0
    assert "0 regime(s) changed verdict" in capsys.readouterr().out


def test_report_with_baseline_flags_changes(ledger: Path, baseline: Path, tmp_path: Path) -> None:
    out = tmp_path / "rep"
    write_report(ledger, out, baseline=baseline)
    page = (out / "report.html").read_text(encoding="utf-8")
    section = page.split('id="comparison"')[1].split("<h2")[0]
    assert "1 regime(s) changed verdict" in section
    assert re.search(r"<td>R5</td><td>verified</td><td>failed</td><td><span class=\"flag\">"
                     r"CHANGED</span>", section)
    assert section.count('class="flag"') == 2  # the headline and the R5 row
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "| R5 | verified | failed | **CHANGED** |" in md


def test_cli_report_writes_html_md_and_figures(ledger: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "cli-rep"
    assert main(["report", str(ledger), "--out", str(out), "--regime", "R3-iid"]) == 0
    printed = capsys.readouterr().out
    assert str(out / "report.html") in printed and "2 figure(s)" in printed
    page = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="regime-r3-iid"' in page and 'id="regime-r5"' not in page
    assert len(list((out / "figures").glob("*.png"))) == 2


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
    doc["schema_version"] = 0
    old.write_text(json.dumps(doc))
    _one_line_error(capsys, ["report", str(old), "--out", str(out)], "schema_version=0")
    _one_line_error(capsys, ["report", str(tmp_path / "missing.json"), "--out", str(out)],
                    "no ledger at")
    _one_line_error(capsys, ["compare", str(old), str(ledger)], "schema_version=0")
    malformed = tmp_path / "malformed.json"
    doc = json.loads(ledger.read_text())
    del doc["records"][1]["verdict"]
    malformed.write_text(json.dumps(doc))
    _one_line_error(capsys, ["report", str(malformed), "--out", str(out)],
                    "record 2 (R3-iid) has no verdict")
    _one_line_error(capsys, ["report", str(ledger), "--out", str(out), "--baseline", str(old)],
                    "schema_version=0")
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
    _one_line_error(capsys, ["verify", "--regime", "R99", "--ledger", str(out / "l.json")],
                    "unknown regime 'R99'")
    _one_line_error(capsys, ["verify", "--ledger", str(out / "l.txt")], "must end in .json")
    assert not out.exists()
    with pytest.raises(ReportError, match="formats="):
        write_report(ledger, out, formats=("pdf",))
    assert not out.exists()


def test_rendering_is_in_memory_and_deterministic_text(ledger: Path) -> None:
    report = build_report(ledger)
    md = render_markdown(report)
    assert render_markdown(report) == md
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")


def test_backward_claims_show_their_forward_regime_and_derivation():
    from verify.report import _derivation, _regime_info

    info = _regime_info("R5/grad-input")
    assert info.registered and info.metric == "grad-input" and "Backpropagation" in info.claim
    derivation = _derivation("R5/grad-input", "softplus_centered")
    assert derivation.kind == "fbsde" and "Ito term" in derivation.equation
    assert not _regime_info("R99/grad-input").registered
