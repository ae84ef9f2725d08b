"""Synthetic schema-2 runs for the ledger, outcome, report and runs tests.

Records are made with ``verify.ledger_schema.make_record`` from per-sample errors with a known
slope, fitted and judged by ``verify.rates`` / ``verify.verdict`` as the plugin does; runs are
written through ``LedgerWriter`` (plan, records, outcome events, finish), so every file is a
real ledger. A "killed" run is one without a finish event (and without finalize).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from verify.ledger_schema import make_record
from verify.ledger_writer import LedgerWriter
from verify.rates import fit_rate
from verify.verdict import judge, judge_law

DEPTHS = (8, 16, 32, 64, 128)
COMMIT = "0123456789abcdef0123456789abcdef01234567"


class Synth:
    """Builders of records and runs (a namespace, handed out by the ``synth`` fixture)."""

    DEPTHS = DEPTHS
    COMMIT = COMMIT

    @staticmethod
    def node(regime: str, quantity: str = "strong", role: str = "claim") -> str:
        ident = f"{regime}/{quantity}" + ("" if role == "claim" else
                                         "/" + role.removeprefix("control:"))
        test = "test_claim" if role == "claim" else "test_control"
        return f"verify/claim_tests/test_claims.py::{test}[{ident}]"

    @staticmethod
    def rate(regime: str, role: str, true_rate: float, claimed: float, seed: int, *,
             quantity: str = "strong", status: str = "theorem", sigma: str = "tanh",
             attempt: int = 0, node: str | None = None, values: Mapping[str, float] | None
             = None, derivation: Mapping[str, Any] | None = None) -> dict:
        rng = np.random.default_rng(seed)
        errors = np.array(DEPTHS, float)[:, None] ** -true_rate * rng.lognormal(
            0.0, 0.2, (len(DEPTHS), 64))
        fit = fit_rate(np.array(DEPTHS), errors, window=4, n_boot=200, seed=seed)
        verdict = judge(fit, claimed)
        node = node or Synth.node(regime, quantity, role)
        table = {"over": "depth", "at": list(DEPTHS), "column": quantity,
                 "mean": errors.mean(1).tolist(),
                 "se": (errors.std(1, ddof=1) / 8).tolist(), "n": [64] * len(DEPTHS),
                 "overflow": [0.0] * len(DEPTHS)}
        return make_record(
            regime=regime, quantity=quantity, role=role, status=status, sigma=sigma, width=3,
            values=dict(values or {"alpha": 0.7}), seed=seed, profile="ci",
            prediction={"kind": "rate", "exponent": claimed, "bound": "sharp",
                        "text": f"rate {claimed:g} (sharp)"},
            table=table, fit=fit.to_dict(), verdict=verdict.to_dict(), derivation=derivation,
            node_id=node,
            replay=f".venv/bin/python -m pytest '{node}' --limits-profile ci --seed {seed}",
            attempt=attempt)

    @staticmethod
    def law(regime: str, role: str, shift: float, seed: int, *, attempt: int = 0,
            status: str = "theorem") -> dict:
        rng = np.random.default_rng(seed)
        diffs = {"log|h|^2": rng.normal(shift, 1.0, 400),
                 "(log|h|^2)^2": rng.normal(shift, 1.0, 400)}
        verdict = judge_law(diffs)
        node = Synth.node(regime, "law", role)
        return make_record(
            regime=regime, quantity="law", role=role, status=status, sigma="tanh", width=2,
            values={}, seed=seed, prediction={"kind": "law", "exponent": None, "bound": None,
                                              "text": "same law as the limit"},
            table=None, fit=None, verdict=verdict.to_dict(), node_id=node,
            replay=f"python -m pytest '{node}'", attempt=attempt)

    @staticmethod
    def write(path: Path, records: Sequence[dict], *, finish: str | None = "complete",
              outcomes: Mapping[str, tuple[str, int | None]] | None = None,
              plan: Sequence[str] | None = None, regimes: Sequence[str] | None = None,
              finalize: bool = True, worker: str = "main") -> Path:
        """Write a run: plan (default: the records' nodes), records, one outcome per node
        (default: passed, or failed at the node's last attempt when a record missed its
        expectation; ``outcomes`` overrides), the finish event (None: killed)."""
        nodes = list(dict.fromkeys(r["node_id"] for r in records))
        writer = LedgerWriter(path, profile="ci", device="cpu", commit=COMMIT, worker=worker)
        writer.event("plan", node_ids=list(plan if plan is not None else nodes),
                     regimes=sorted(regimes if regimes is not None else
                                    {r["regime"] for r in records}))
        for rec in records:
            writer.append(rec)
        given = dict(outcomes or {})
        for node in nodes:
            if node in given:
                outcome, final = given[node]
            else:
                mine = [r for r in records if r["node_id"] == node]
                missed = any(r["verdict"]["status"] != r["expected"] for r in mine)
                outcome = "failed" if missed else "passed"
                final = max(r["attempt"] for r in mine)
            if outcome != "none":
                writer.event("outcome", node_id=node, outcome=outcome, final_attempt=final,
                             message="" if outcome == "passed" else "AssertionError")
        if finish is not None:
            writer.event("finish", state=finish, reason="" if finish == "complete" else
                         f"session {finish}", exitstatus=0 if finish == "complete" else 2)
        writer.close()
        return writer.finalize() if finalize else writer.partial_path


@pytest.fixture
def synth(monkeypatch: pytest.MonkeyPatch) -> type[Synth]:
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    return Synth
