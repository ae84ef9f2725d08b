"""The pytest plugin, run as a user would: claim tests collected from the installed package,
regimes selected, conjectures from real regime files registered through a real entry point
(a dist-info folder on PYTHONPATH), ledger records and events, replay commands."""

from __future__ import annotations

import json
import shlex
import subprocess
import textwrap
from pathlib import Path

import pytest

from verify.ledger import load_ledger

pytest_plugins = ["pytester"]

IDENTITY_CONJECTURE = '''
import sympy as sp

from theory.claims import Claim, Rate
from theory.regime import Domain, Regime
from theory.scaling import Scaling, WeightLaw

alpha = sp.Symbol("alpha", positive=True)

REGIME = Regime(
    name="{name}", claim="{claim}", source="conjecture (test)", status="conjecture",
    block="O", activations=("tanh",),
    scaling=Scaling(alpha, inner=WeightLaw.iid(), outer=WeightLaw.iid()),
    parameters={{"alpha": Domain(valid=({lo}, {hi}), typical=({tlo}, {thi}), open_low=True,
                                 open_high=True)}},
    claimed_kind="identity",
    claims=(Claim(quantity="identity", predicts=Rate(exponent="{rate}")),),
)
'''
CONJECTURES = {
    # block O with i.i.d. weights and alpha < 1/2 explodes: "identity" is the wrong kind
    "C-kind": dict(claim="alpha < 1/2 converges to the identity", lo=0, hi=0.5, tlo=0.1,
                   thi=0.3, rate="1/2 - alpha"),
    # the identity holds for alpha > 1/2 but at rate alpha - 1/2, not 2 alpha - 1
    "C-rate": dict(claim="|h_L - h_0| ~ L^(1 - 2 alpha)", lo=0.5, hi=2, tlo=0.8, thi=1.2,
                   rate="2*alpha - 1"),
    # the true statement (R3-iid restated as a conjecture)
    "C-true": dict(claim="|h_L - h_0| ~ L^(1/2 - alpha)", lo=0.5, hi=2, tlo=0.7, thi=1.2,
                   rate="alpha - 1/2"),
}


@pytest.fixture
def conjectures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A distribution 'conjecture-regimes' registering three regime files through the
    resnet_limits.regimes entry-point group, visible to child processes via PYTHONPATH."""
    site = tmp_path / "site"
    package = site / "conjecture_regimes"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    lines = []
    for name, fields in CONJECTURES.items():
        module = name.lower().replace("-", "_")
        (package / f"{module}.py").write_text(IDENTITY_CONJECTURE.format(name=name, **fields))
        lines.append(f"{module} = conjecture_regimes.{module}")
    info = site / "conjecture_regimes-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: conjecture-regimes\n"
                                   "Version: 0.1\n")
    (info / "entry_points.txt").write_text("[resnet_limits.regimes]\n" + "\n".join(lines) + "\n")
    monkeypatch.setenv("PYTHONPATH", str(site))
    return site


def _verify(pytester: pytest.Pytester, *regimes: str, profile: str = "ci"):
    ledger = pytester.path / "runs" / "run.json"
    args = ["--pyargs", "verify.claim_tests", "--limits-profile", profile,
            "--limits-ledger", str(ledger), "-p", "no:cacheprovider"]
    for name in regimes:
        args += ["--limits-regime", name]
    return pytester.runpytest_subprocess(*args), ledger


def _counted(ledger, outcome: str) -> tuple[dict, list[dict]]:
    """The outcome event of the node that ended with ``outcome`` and its final records."""
    (event,) = [e for e in ledger.events if e["kind"] == "outcome" and e["outcome"] == outcome]
    final = [r for r in ledger.records if r["node_id"] == event["node_id"]
             and r["attempt"] == event["final_attempt"]]
    return event, final


def test_a_regime_selects_exactly_its_claims_and_records_them(pytester):
    result, path = _verify(pytester, "R3-iid")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*R3-iid*verified*", "*1 passed*"])
    ledger = load_ledger(path)
    assert ledger.state.complete
    assert {r["claim"] for r in ledger.records} == {"R3-iid/identity"}
    assert {r["role"] for r in ledger.records} == {"claim", "control:rate-x2"}
    (plan,) = [e for e in ledger.events if e["kind"] == "plan"]
    assert plan["regimes"] == ["R3-iid"] and len(plan["node_ids"]) == 1
    assert plan["node_regimes"] == {plan["node_ids"][0]: "R3-iid"}  # a skipped test's owner
    assert all(r["status"] == "derived" and r["table"]["column"] == "identity"
               for r in ledger.records)
    assert all("samples" not in r["table"] for r in ledger.records)


def test_conjectures_are_simulated_and_come_back_confirmed_or_refuted(pytester, conjectures):
    result, path = _verify(pytester, "C-kind", "C-rate", "C-true")
    assert result.ret == 0, result.stdout.str()[-3000:]  # refuted conjectures are findings
    out = result.stdout.str()
    assert "2 refuted" in out and "1 confirmed" in out, out[-3000:]
    ledger = load_ledger(path)
    by_claim = {r["claim"] for r in ledger.records}
    assert {"C-kind/identity", "C-rate/identity", "C-true/identity"} <= by_claim
    assert all(r["status"] == "conjecture" for r in ledger.records)
    outcomes = {e["node_id"].rsplit("[", 1)[-1][:-1]: e["outcome"] for e in ledger.events
                if e["kind"] == "outcome"}
    assert outcomes == {"C-kind/identity": "refuted", "C-rate/identity": "refuted",
                        "C-true/identity": "confirmed"}
    kind = [r for r in ledger.records if r["claim"] == "C-kind/identity"]
    # never dismissed by the derivation alone: simulated, with the disagreement shown
    assert kind and all(r["derivation"]["kind"] == "explosion" and not
                        r["derivation"]["agrees"] and r["table"] is not None for r in kind)
    for name in ("C-kind", "C-rate"):
        assert f"counterexample ({name}/identity" in out, out[-3000:]
    # the minimal counterexample replays exactly, in seconds, in a fresh shell
    event = next(e for e in ledger.events if e["kind"] == "outcome"
                 and e["node_id"].endswith("[C-rate/identity]"))
    final = [r for r in ledger.records if r["node_id"] == event["node_id"]
             and r["attempt"] == event["final_attempt"] and r["role"] == "claim"]
    assert final and final[0]["verdict"]["status"] != "consistent"
    replay = subprocess.run(shlex.split(final[0]["replay"]) + ["--json"], capture_output=True,
                            text=True, timeout=120, cwd=pytester.path)
    again = [json.loads(line) for line in replay.stdout.splitlines()]
    assert replay.returncode == 1, replay.stderr
    claim = next(r for r in again if r["role"] == "claim")
    assert claim["verdict"]["status"] == final[0]["verdict"]["status"]
    assert claim["verdict"]["estimate"] == pytest.approx(final[0]["verdict"]["estimate"])


def test_a_bad_regime_file_is_a_clean_usage_error(pytester, tmp_path, monkeypatch):
    site = tmp_path / "badsite"
    (site / "bad_regimes").mkdir(parents=True)
    (site / "bad_regimes" / "__init__.py").write_text("")
    (site / "bad_regimes" / "broken.py").write_text(textwrap.dedent("""
        from theory.claims import Claim
        from theory.regime import Regime
        from theory.scaling import Scaling, WeightLaw
        REGIME = Regime(name="B", claim="c", source="s", status="derived", block="I",
                        activations=("tanh",), scaling=Scaling(1, inner=WeightLaw.smooth_path(0)),
                        claimed_kind="neural-ode", claims=(Claim(quantity="sup"),),
                        widths=(0, 3))
    """))
    info = site / "bad_regimes-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: bad-regimes\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[resnet_limits.regimes]\nb = bad_regimes.broken\n")
    monkeypatch.setenv("PYTHONPATH", str(site))
    result, _ = _verify(pytester, "R1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*bad regime file*entry point b*widths=(0, 3)*"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_an_unknown_regime_is_a_usage_error(pytester):
    result, _ = _verify(pytester, "R99")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown regime 'R99'*"])


def test_cli_and_plugin_agree_on_the_ledger_variable():
    from verify import cli, plugin

    assert cli.LEDGER_ENV == plugin.LEDGER_ENV
    from verify.profiles import PROFILES

    assert set(cli.PROFILE_NAMES) == set(PROFILES)


SWALLOWED_CTRL_C = """
        import os, signal

        def test_a():
            try:
                os.kill(os.getpid(), signal.SIGINT)
                for _ in range(10 ** 6):
                    pass
            except KeyboardInterrupt:
                pass  # swallowed

        def test_b():
            pass
    """
"""A test that sends itself Ctrl-C and swallows the KeyboardInterrupt, then a second test."""

CTRL_C_ENABLED = """
        import signal

        # as in a terminal: a run started as a shell's background job (CI scripts, nohup ...)
        # inherits SIGINT ignored, and then neither the plugin nor Python ever sees the Ctrl-C
        signal.signal(signal.SIGINT, signal.default_int_handler)
    """
"""A rootdir conftest (loaded before any plugin's pytest_configure) that enables Ctrl-C."""


def test_a_swallowed_ctrl_c_still_stops_the_run_at_the_next_test(pytester):
    # Python can swallow a KeyboardInterrupt (in a gc callback, an except clause of a library):
    # the plugin's handler remembers the signal and stops the run when the test ends
    pytester.makeconftest(CTRL_C_ENABLED)
    pytester.makepyfile(test_swallow=SWALLOWED_CTRL_C)
    result = pytester.runpytest_subprocess("--limits-profile", "dev", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED, result.stdout.str()
    result.assert_outcomes(passed=1)


def test_without_the_plugin_a_swallowed_ctrl_c_is_lost(pytester):
    # the negative control of the test above: without the handler the run goes on
    pytester.makeconftest(CTRL_C_ENABLED)
    pytester.makepyfile(test_swallow=SWALLOWED_CTRL_C)
    result = pytester.runpytest_subprocess("-p", "no:verify.plugin", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.assert_outcomes(passed=2)
