"""The pytest plugin: parametrisation over regimes, --regime, ledger, summary, interruption."""

import json

import pytest

from verify.ledger import load_ledger

pytest_plugins = ["pytester"]

CLAIM_TEST = """
import pytest

def test_claim(regime, claim_recorder, profile):
    claim_recorder(regime=regime.name, parameters={"k": 1}, seed=7,
                   verdict={"status": "consistent", "estimate": 0.5, "predicted": 0.5})
    assert regime.name != "R7"
"""


def _run(pytester, *args):
    pytester.makepyfile(test_claims=CLAIM_TEST)
    ledger = pytester.path / "runs" / "run.json"
    result = pytester.runpytest_inprocess("-p", "verify.plugin", "--profile", "ci",
                                          "--ledger", str(ledger), "-p", "no:cacheprovider",
                                          *args)
    return result, ledger


def test_claims_parametrised_ledgered_and_summarised(pytester):
    result, ledger = _run(pytester)
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 1 and outcomes["passed"] >= 9
    result.stdout.fnmatch_lines(["*replay*", "pytest *test_claim?R7?* --profile ci",
                                 "*resnet-limits verification (ci profile)*",
                                 "R5 *claims: consistent=1*no controls*0.50 vs 0.50*"])
    loaded = load_ledger(ledger)
    assert loaded.complete and loaded.profile == "ci" and loaded.schema_version == 1
    names = {r["regime"] for r in loaded.records}
    assert {"R1", "R5", "R7"} <= names
    assert all(r["replay"].startswith("pytest ") for r in loaded.records)
    json.loads(ledger.read_text())


def test_regime_option_filters_and_rejects_unknown(pytester):
    result, ledger = _run(pytester, "--regime", "R5", "--regime", "R1")
    assert result.parseoutcomes()["passed"] == 2
    assert {r["regime"] for r in load_ledger(ledger).records} == {"R1", "R5"}
    result, _ = _run(pytester, "--regime", "R99")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown regime 'R99'*"])


def test_interrupted_run_keeps_its_records(pytester):
    pytester.makepyfile(test_claims=CLAIM_TEST + """
def test_stop(regime, claim_recorder):
    claim_recorder(regime=regime.name, parameters={}, seed=1)
    if regime.name == "R3-smooth":
        raise KeyboardInterrupt
""")
    ledger = pytester.path / "runs" / "run.json"
    pytester.runpytest_subprocess("-p", "verify.plugin", "--ledger", str(ledger),
                                 "--regime", "R1", "--regime", "R2", "--regime", "R3-smooth",
                                 "-p", "no:cacheprovider")
    loaded = load_ledger(ledger)
    assert len(loaded.records) == 6  # test_claim x3 and test_stop x3, the last interrupted
