"""The command line: regimes, derive, verify, report, compare, map, and one-line errors with
status 2."""

import json
import os
import re
import subprocess
import sys

import pytest

from verify.cli import main
from verify.ledger import load_ledger


def test_regimes_prints_every_registered_regime(capsys):
    assert main(["regimes"]) == 0
    out = capsys.readouterr().out
    for name in ("R1", "R2", "R5", "R7"):
        assert f"{name} [" in out
    assert "Ito correction q/8" in out  # softplus(x) - log 2 in R5
    assert "<--" not in out  # no regime disagrees with its derivation


def test_derive_prints_the_limit(capsys):
    code = main(["derive", "x + x**2/2", "--alpha", "0", "--inner-rough", "1/2",
                 "--inner-smooth", "1", "--latex"])
    assert code == 0
    out = capsys.readouterr().out
    assert "[sde]" in out and "Ito correction q/2" in out and "strong rate = 1/2" in out


@pytest.mark.parametrize(
    "argv, match",
    [
        (["regimes", "R99"], "unknown regime 'R99'"),
        (["derive", "tanh(x", "--alpha", "1"], "not a sympy expression"),
        (["derive", "tanh", "--alpha", "-1"], "alpha=-1"),
        (["derive", "tanh", "--block", "Q", "--alpha", "1"], "not a residual block"),
    ],
)
def test_bad_input_is_one_line_with_status_2(capsys, argv, match):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1


# --- verify, report, compare, map (issue 5); report/compare/map details: test_report.py,
# test_map.py


def _cli(*args: str, cwd) -> subprocess.CompletedProcess:
    """``python -m verify.cli ...`` in a clean environment (no inherited xdist/pytest state)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST", "RESNET_LIMITS")) and k != "CI"}
    return subprocess.run([sys.executable, "-m", "verify.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_verify_runs_the_claim_tests_and_writes_the_ledger(tmp_path):
    ledger = tmp_path / "runs" / "l.json"
    done = _cli("verify", "--profile", "ci", "--regime", "R3-smooth", "--ledger", str(ledger),
                "--json", "--", "-p", "no:cacheprovider", cwd=tmp_path)
    out = done.stdout
    assert "resnet-limits verification (ci profile)" in out, done.stderr[-3000:]  # summary
    assert f"render it: resnet-limits report {ledger}" in out
    loaded = load_ledger(ledger)
    records = loaded.records
    assert loaded.state.complete and {r["claim"] for r in records} == {"R3-smooth/identity"}
    claims = [r for r in records if r["role"] == "claim"]
    assert len(claims) == 10 and all(r["profile"] == "ci" for r in records)
    n_ok = sum(r["verdict"]["status"] == "consistent" for r in claims)
    word = "verified" if done.returncode == 0 else "failed"
    assert re.search(rf"^R3-smooth +{word}\b", out, re.M), out[-2000:]
    summary = json.loads(out[out.index("{"):out.rindex("}") + 1])
    assert [r["regime"] for r in summary["regimes"]] == ["R3-smooth"]
    # the exit status is pytest's: 0 exactly when every example met its expectation
    assert done.returncode == (0 if n_ok == 10 and all(
        r["verdict"]["status"] == "inconsistent" for r in records if r["role"] != "claim")
        else 1), out[-3000:]


def test_check_replays_one_example_exactly(tmp_path):
    args = ("check", "R3-iid/identity", "--sigma", "tanh", "--width", "3", "--seed", "5",
            "--set", "alpha=0.8", "--profile", "ci", "--json")
    first, second = _cli(*args, cwd=tmp_path), _cli(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    rows = [json.loads(line) for line in first.stdout.splitlines()]
    assert [r["role"] for r in rows] == ["claim", "control:rate-x2"]
    assert rows[0]["prediction"]["exponent"] == pytest.approx(0.3)
    assert first.stdout == second.stdout
    bad = _cli("check", "R3-iid/identity", "--sigma", "tanh", "--width", "3", "--seed", "5",
               "--set", "alpha=nope", cwd=tmp_path)
    assert bad.returncode == 2 and "--set" in bad.stderr and bad.stderr.count("\n") == 1


def test_verify_exit_code_is_pytests(tmp_path):
    done = _cli("verify", "--profile", "ci", "--regime", "R1", "--ledger",
                str(tmp_path / "l.json"), "--", "-k", "no_such_test", "-p", "no:cacheprovider",
                cwd=tmp_path)
    assert done.returncode == int(pytest.ExitCode.NO_TESTS_COLLECTED), done.stdout[-2000:]
    assert not (tmp_path / "l.json").exists()


def test_cli_constants_match_their_sources():
    from verify.cli import LEDGER_ENV, PROFILE_NAMES
    from verify.plugin import LEDGER_ENV as PLUGIN_LEDGER_ENV
    from verify.profiles import PROFILES

    assert LEDGER_ENV == PLUGIN_LEDGER_ENV
    assert PROFILE_NAMES == tuple(sorted(PROFILES))


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("regimes", "derive", "check", "verify", "report", "compare", "map", "runs"):
        assert command in out


@pytest.mark.parametrize(
    "argv, match",
    [
        (["verify", "--regime", "R99"], "unknown regime 'R99'"),
        (["compare", "no-such-a.json", "no-such-b.json"], "no ledger at no-such-a.json"),
        (["report", "no-such.json", "--out", "never"], "no ledger at no-such.json"),
        (["map", "--activation", "tanh(x", "--out", "never/m.png"], "not a sympy expression"),
    ],
)
def test_new_commands_reject_bad_input_with_status_2(capsys, tmp_path, monkeypatch, argv,
                                                     match):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_the_same_verify_command_twice_gives_the_same_verdicts(tmp_path):
    """The ci profile is derandomised and every seed is Hypothesis data: a rerun replays."""
    runs = []
    for i in (1, 2):
        ledger = tmp_path / f"l{i}.json"
        done = _cli("verify", "--profile", "ci", "--regime", "R7", "--ledger", str(ledger),
                    "--", "-p", "no:cacheprovider", cwd=tmp_path)
        assert done.returncode == 0, done.stdout[-3000:]
        runs.append(sorted((r["node_id"], r["attempt"], r["seed"],
                            json.dumps(r["instance"], sort_keys=True), r["role"],
                            r["verdict"]["status"], r["verdict"]["estimate"])
                           for r in load_ledger(ledger).records))
    assert len(runs[0]) == 20 and runs[0] == runs[1]
