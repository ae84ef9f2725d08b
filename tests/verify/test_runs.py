"""`resnet-limits runs`: list runs with their state, recover a killed run's partial files into
an incomplete ledger, prune old runs (never the newest), and `--version`."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from verify.cli import main
from verify.ledger import LedgerError, load_ledger, partial_paths
from verify.runs_folder import list_runs, prune_runs, recover_run


@pytest.fixture
def runs(tmp_path: Path, synth) -> Path:
    """Three runs, oldest first: complete, interrupted (final), killed (partials only)."""
    folder = tmp_path / "runs"
    a = synth.write(folder / "20250101-ci.json", [synth.rate("R1", "claim", 1, 1, 1)])
    b = synth.write(folder / "20250102-ci.json", [synth.rate("R5", "claim", 1, 1, 2)],
                    finish="interrupted")
    rec = synth.rate("R7", "claim", 1, 1, 3)
    c = synth.write(folder / "20250103-ci.json", [rec], finish=None, finalize=False,
                    plan=[rec["node_id"], "t::test_claim[R6/law]"], regimes=["R6", "R7"])
    for age, path in zip((3, 2, 1), (a, b, c), strict=True):  # days old, by file time
        stamp = time.time() - age * 86400
        os.utime(path, (stamp, stamp))
    return folder


def _order(folder: Path) -> list[str]:
    return [r.stem for r in list_runs(folder)]


def test_list_runs_newest_first_with_state(runs: Path, capsys) -> None:
    found = list_runs(runs)
    assert [r.stem for r in found] == ["20250103-ci", "20250102-ci", "20250101-ci"]
    killed, interrupted, complete = found
    assert killed.final is None and killed.state == "incomplete (killed)"
    assert killed.records == 1 and killed.regimes == ("R7",)
    assert interrupted.state == "incomplete (interrupted)" and interrupted.incomplete
    assert complete.complete and complete.profile == "ci"
    assert main(["runs", "--dir", str(runs)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{runs}: 3 run(s), newest first"
    assert "20250103-ci (partial files only)" in out[1] and "incomplete (killed)" in out[1]
    assert "20250102-ci.json" in out[2] and "incomplete (interrupted)" in out[2]
    assert "20250101-ci.json" in out[3] and "  complete  1 record(s)  regimes R1" in out[3]


def test_recover_a_killed_run_gives_an_incomplete_ledger(runs: Path, capsys) -> None:
    assert main(["runs", "recover", "--dir", str(runs)]) == 0
    out = capsys.readouterr().out.splitlines()
    path = runs / "20250103-ci.json"
    assert out[0] == str(path) and out[1].startswith("INCOMPLETE (killed)")
    led = load_ledger(path)
    assert led.recovered and not led.complete and led.state.reason == "killed"
    assert led.state.missing_regimes == ("R6",) and len(led.records) == 1
    assert partial_paths(path) == []
    with pytest.raises(LedgerError, match="nothing to recover"):
        recover_run(runs)
    with pytest.raises(LedgerError, match="no partial files"):
        recover_run(runs, "20250101-ci")


def test_recover_by_partial_file_or_stem(tmp_path: Path, synth) -> None:
    folder = tmp_path / "runs"
    for stem in ("x", "y"):
        synth.write(folder / f"{stem}.json", [synth.rate("R1", "claim", 1, 1, 1)],
                    finish=None, finalize=False)
    assert recover_run(folder, str(folder / "x.main.partial.jsonl")) == folder / "x.json"
    assert recover_run(folder, "y") == folder / "y.json"
    assert main(["runs", "recover", str(folder / "nope"), "--dir", str(folder)]) == 2


def test_prune_keeps_the_newest(runs: Path, capsys) -> None:
    assert main(["runs", "prune", "--keep", "2", "--dry-run", "--dir", str(runs)]) == 0
    out = capsys.readouterr().out
    assert f"would delete {runs / '20250101-ci.json'}" in out and "1 file(s) would" in out
    assert len(_order(runs)) == 3  # dry run
    assert prune_runs(runs, older_than_days=1.5) == [runs / "20250102-ci.json",
                                                     runs / "20250101-ci.json"]
    assert _order(runs) == ["20250103-ci"]  # the newest (killed) run stays
    assert prune_runs(runs, keep=1) == [] and prune_runs(runs, older_than_days=0) == []
    assert _order(runs) == ["20250103-ci"]


def test_prune_both_limits_and_bad_arguments(runs: Path, capsys) -> None:
    # beyond the 1 newest AND older than 2.5 days: only the oldest
    assert prune_runs(runs, keep=1, older_than_days=2.5) == [runs / "20250101-ci.json"]
    for argv, match in ((["runs", "prune"], "give --keep N"),
                        (["runs", "prune", "--keep", "0"], "keep at least 1"),
                        (["runs", "prune", "--older-than", "-1"], "days >= 0")):
        assert main([*argv, "--dir", str(runs)]) == 2
        err = capsys.readouterr().err
        assert match in err and err.count("\n") == 1


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("resnet-limits ") and len(out.split()) >= 2


def test_report_without_a_final_ledger_points_to_recover(tmp_path: Path, synth, capsys,
                                                         monkeypatch) -> None:
    import verify.cli as cli

    folder = tmp_path / "reports" / "runs"
    monkeypatch.setattr(cli, "_runs_dir", lambda: folder)
    synth.write(folder / "k.json", [synth.rate("R1", "claim", 1, 1, 1)], finish=None,
                finalize=False)
    assert main(["report"]) == 2
    err = capsys.readouterr().err
    assert "none in" in err and "runs recover" in err and err.count("\n") == 1


def test_compare_warns_about_an_incomplete_ledger(runs: Path, capsys) -> None:
    done, interrupted = runs / "20250101-ci.json", runs / "20250102-ci.json"
    assert main(["compare", str(done), str(interrupted)]) == 1  # R1 and R5 both change
    captured = capsys.readouterr()
    assert f"warning: {interrupted}: INCOMPLETE (interrupted)" in captured.err
    assert str(done) not in captured.err
