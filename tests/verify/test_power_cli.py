"""``resnet-limits power`` on the sweep: the table, the ledger, resuming, the options.

One cheap claim (R4/growth on the ci budget, about 0.2 s a check) keeps this in seconds.
"""

from __future__ import annotations

import json

import pytest

from verify.cli import main
from verify.ledger import load_ledger
from verify.power import main as power_main
from verify.power import power_tasks, tally
from verify.sweep import sweep


def test_power_writes_a_ledger_prints_the_table_and_resumes(tmp_path, capsys) -> None:
    ledger = tmp_path / "power.json"
    args = ["power", "--claim", "R4/growth", "--seeds", "2", "--ledger", str(ledger)]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "R4/growth          claim                     2 false alarms    0.0%  <= 2%" in out
    assert "control:no-growth         2 power         100.0%  >= 95%" in out
    assert "2 task(s) computed" in err and "0 taken from the ledger" in err
    led = load_ledger(ledger)
    assert led.complete and led.profile == "ci" and len(led.records) == 4
    assert {r["claim"] for r in led.records} == {"R4/growth"}
    assert all(r["replay"].split()[2:5] == ["verify.cli", "check", "R4/growth"]
               for r in led.records)
    # one more instance: the two finished ones come from the ledger, the same table grows
    assert power_main(args[1:4] + ["3", "--ledger", str(ledger), "--json",
                                   str(tmp_path / "t.json")]) == 0
    out2, err2 = capsys.readouterr()
    assert "1 task(s) computed" in err2 and "2 taken from the ledger" in err2
    assert "R4/growth          claim                     3 false alarms" in out2
    rows = json.loads((tmp_path / "t.json").read_text())
    assert {(r["claim"], r["role"], r["n"]) for r in rows} == {
        ("R4/growth", "claim", 3), ("R4/growth", "control:no-growth", 3)}
    assert len(load_ledger(ledger).records) == 6


def test_the_old_workers_option_still_works(tmp_path, capsys) -> None:
    ledger = tmp_path / "p.json"
    assert power_main(["--claim", "R4/growth", "--seeds", "1", "--workers", "1",
                       "--ledger", str(ledger)]) == 0
    assert "executor inline" in capsys.readouterr().err and load_ledger(ledger).complete


def test_the_table_counts_an_instance_once_per_role() -> None:
    done = list(sweep(power_tasks(["R4/growth"], 2, "ci")))
    tallies = tally(d.result for d in done)
    assert {k: (t.n, t.missed) for k, t in tallies.items()} == {
        ("R4/growth", "claim"): (2, 0), ("R4/growth", "control:no-growth"): (2, 0)}


@pytest.mark.parametrize(("args", "message"), [
    (["--claim", "R99"], "unknown claims ['R99']"),
    (["--executor", "process:zero"], "whole number of workers"),
    (["--executor", "process:2", "--workers", "2"], "give one of them"),
    (["--seeds", "0"], "at least 1 instance"),
    (["--ledger", "power.txt"], "must end in .json")])
def test_bad_power_options_exit_2_with_one_line(args, message, capsys, tmp_path,
                                                monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["power", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("resnet-limits power: error: ") and message in err
    assert err.count("\n") == 1 and not list(tmp_path.iterdir())
