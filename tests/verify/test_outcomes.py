"""verify.outcomes: outcome words per regime, folding of shrink steps, conjectures, stable
order, incomplete runs, and the terminal / JSON summaries (on real ledgers written through
LedgerWriter)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

from verify.ledger import load_ledger
from verify.outcomes import counted_indices, outcomes, summary_json, summary_lines


def _by_name(ledger) -> dict:
    return {o.regime: o for o in outcomes(ledger.records, ledger.events, ledger.state)}


def test_words_follow_the_expected_verdicts(tmp_path: Path, synth) -> None:
    recs = [
        synth.rate("A", "claim", 0.5, 0.5, 1), synth.rate("A", "control:rate-x2", 0.5, 1.0, 2),
        synth.rate("B", "claim", 0.5, 0.5, 3),
        synth.rate("B", "control:drop-ito", 0.5, 0.5, 4),  # the wrong twin passes: failed
        synth.rate("C", "claim", 1.0, 0.5, 5),  # the claim is rejected: failed
    ]
    o = _by_name(load_ledger(synth.write(tmp_path / "r.json", recs)))
    assert {k: v.word for k, v in o.items()} == {"A": "verified", "B": "failed", "C": "failed"}
    assert o["A"].describe() == "claims 1/1 consistent; controls 1/1 rejected"
    assert o["B"].controls == {"consistent": 1} and o["B"].expected_word == "verified"
    assert o["C"].claims == {"inconsistent": 1}


def test_an_inconclusive_verdict_is_never_verified(tmp_path: Path, synth) -> None:
    rec = synth.rate("A", "claim", 0.5, 0.5, 1)
    rec["verdict"]["status"] = "inconclusive"
    o = _by_name(load_ledger(synth.write(tmp_path / "r.json", [rec])))["A"]
    assert o.word == "inconclusive" and o.claims == {"inconclusive": 1}


def test_shrink_steps_are_folded_into_the_final_attempt(tmp_path: Path, synth) -> None:
    """One failing test with 7 Hypothesis calls is one failure and 6 folded steps."""
    recs = [synth.rate("R6", "claim", 1.0, 0.5, 10 + a, attempt=a) for a in range(7)]
    ok = [synth.rate("R6", "control:noise-x2", 0.5, 1.0, 30 + a, attempt=a) for a in range(3)]
    path = synth.write(tmp_path / "r.json", recs + ok)
    led = load_ledger(path)
    o = _by_name(led)["R6"]
    assert o.word == "failed" and o.claims == {"inconsistent": 1} and o.shrink_steps == 6
    assert o.controls == {"inconsistent": 3}  # a passing test: every example counts
    assert [led.records[i]["attempt"] for i in o.counterexamples] == [6]
    assert o.describe().endswith("; + 6 shrink steps")
    counted, folded = counted_indices(led.records, led.events)
    assert len(counted) == 4 and len(folded) == 6
    # the negative control of the rule: without outcome events nothing is folded
    bare = [r for r in led.events if r["kind"] != "outcome"]
    assert outcomes(led.records, bare)[0].claims == {"inconsistent": 7}


def test_conjectures_are_confirmed_or_refuted(tmp_path: Path, synth) -> None:
    recs = [
        synth.rate("Ctrue", "claim", 0.5, 0.5, 1, status="conjecture"),
        synth.rate("Ctrue", "control:rate-x2", 0.5, 1.0, 2, status="conjecture"),
        *[synth.rate("Cwrong", "claim", 1.0, 0.5, 3 + a, status="conjecture", attempt=a)
          for a in range(4)],
        synth.rate("Cweak", "claim", 0.5, 0.5, 9, status="conjecture"),
        synth.rate("Cweak", "control:rate-x2", 0.5, 0.5, 10, status="conjecture"),
    ]
    wrong = synth.node("Cwrong")
    led = load_ledger(synth.write(tmp_path / "r.json", recs,
                                  outcomes={wrong: ("refuted", 3)}))
    o = _by_name(led)
    assert (o["Ctrue"].word, o["Cwrong"].word, o["Cweak"].word) == (
        "confirmed", "refuted", "inconclusive")
    assert o["Cwrong"].shrink_steps == 3 and o["Cwrong"].expected_word == "confirmed"
    lines = summary_lines(led)
    at = next(i for i, line in enumerate(lines) if line.startswith("Cwrong"))
    assert "refuted" in lines[at] and lines[at].endswith("<--")
    assert "counterexample (Cwrong/strong, claim): tanh, alpha=0.7, d=3, seed=6" in lines[at + 1]
    assert lines[at + 2].strip() == f"replay: {led.records[5]['replay']}"
    doc = summary_json(led)
    assert doc["passed"] is True  # a refuted conjecture is a finding, not a failure
    assert doc["totals"]["refuted"] == 1 and doc["totals"]["confirmed"] == 1


def test_order_is_stable_whatever_the_arrival_order(tmp_path: Path, synth) -> None:
    recs = [synth.rate(r, role, 0.5, 0.5 if role == "claim" else 1.0, s)
            for s, (r, role) in enumerate([("R7", "claim"), ("R1", "control:rate-x2"),
                                           ("R1", "claim"), ("R10", "claim")])]
    random.Random(0).shuffle(recs)
    led = load_ledger(synth.write(tmp_path / "r.json", recs))
    regs = outcomes(led.records, led.events, led.state)
    assert [o.regime for o in regs] == ["R1", "R10", "R7"]
    roles = [led.records[i]["role"] for i in regs[0].counted]
    assert roles == ["claim", "control:rate-x2"]
    lines = summary_lines(led)
    assert [line.split()[:2] for line in lines] == [
        ["R1", "verified"], ["R10", "verified"], ["R7", "verified"]]


def test_incomplete_runs_say_so_and_never_pass(tmp_path: Path, synth) -> None:
    a = synth.rate("R1", "claim", 0.5, 0.5, 1)
    b = synth.rate("R2", "claim", 0.5, 0.5, 2)
    path = synth.write(tmp_path / "k.json", [a, b], finish=None, finalize=False,
                       plan=[a["node_id"], b["node_id"], "t::test_claim[R9/strong]"],
                       regimes=["R1", "R2", "R9"], outcomes={b["node_id"]: ("none", None)})
    led = load_ledger(path)
    o = _by_name(led)
    assert o["R1"].word == "verified"  # finished, judged, as expected
    assert o["R2"].word == "inconclusive" and not o["R2"].complete  # its test never ended
    assert o["R9"].word == "inconclusive" and o["R9"].n_examples == 0  # never ran
    lines = summary_lines(led)
    assert lines[0].startswith("INCOMPLETE (killed): no finish event")
    assert "R2, R9" in lines[0]
    doc = summary_json(led, ledger=str(path))
    assert doc["complete"] is False and doc["passed"] is False
    assert doc["state"]["reason"] == "killed" and doc["ledger"] == str(path)
    assert [r["outcome"] for r in doc["regimes"]] == ["verified", "inconclusive",
                                                      "inconclusive"]
    json.dumps(doc, allow_nan=False)


def test_outcomes_import_neither_numerics_nor_theory() -> None:
    code = ("import sys, verify.outcomes; bad = [m for m in ('torch', 'numerics', 'theory', "
            "'numpy', 'sympy') if m in sys.modules]; assert not bad, bad")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=Path(__file__).resolve().parents[2], timeout=60)
    assert done.returncode == 0, done.stderr


def test_a_regime_skipped_by_its_profile_says_so_and_is_not_flagged(synth) -> None:
    """Every test of T5 skipped (thorough only): word ``skipped`` with the reason, no ``<--``;
    the controls of the rule: a regime with a skipped and an unfinished test, and one with no
    outcome at all, stay ``inconclusive`` and flagged."""
    why = "T5/beta is checked only in the profiles ['thorough']: its protocol is too heavy"
    node = "verify/claim_tests/test_claims.py::test_claim[{}]"
    events = [{"kind": "plan", "node_ids": [node.format(r) for r in ("T5", "T6", "T6b", "T7")],
               "regimes": ["T5", "T6", "T7"],
               "node_regimes": {node.format("T5"): "T5", node.format("T6"): "T6",
                                node.format("T6b"): "T6", node.format("T7"): "T7"}},
              {"kind": "outcome", "node_id": node.format("T5"), "outcome": "skipped",
               "final_attempt": None, "message": why},
              {"kind": "outcome", "node_id": node.format("T6"), "outcome": "skipped",
               "final_attempt": None, "message": why}]
    from verify.runstate import run_state

    events.append({"kind": "finish", "state": "complete", "reason": "", "exitstatus": 0})
    state = run_state(events)
    o = {x.regime: x for x in outcomes([], events, state)}
    assert o["T5"].word == "skipped" and o["T5"].why == why
    assert o["T5"].describe() == why
    assert (o["T6"].word, o["T7"].word) == ("inconclusive", "inconclusive")
    lines = {line.split()[0]: line for line in summary_lines(list(o.values()), state)}
    assert not lines["T5"].endswith("<--") and not o["T5"].flagged
    assert o["T5"].expected_word == "verified" and o["T6"].flagged
    assert lines["T6"].endswith("<--") and lines["T7"].endswith("<--")
    assert summary_json(list(o.values()), state)["totals"]["skipped"] == 1
