"""One judged claim or control on one instance: the :class:`Record` the ledger stores.

Its JSON form is the ledger's schema 2 (see :mod:`verify.ledger`): the claim id
(``"R5/strong"``), the role (``"claim"`` or ``"control:<name>"``), the regime's status, the
instance, the concrete prediction, the judged column's summary (mean, standard error, count
and overflow per depth; never the per-sample arrays), the fit, the verdict and what the
derivation said. Renderers read records and never re-run numerics.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Record", "role_expected"]


def role_expected(role: str) -> str:
    """The verdict a role must get: a claim is consistent, a control (wrong twin) is not."""
    return "inconsistent" if role.startswith("control") else "consistent"


@dataclass(frozen=True)
class Record:
    claim: str
    regime: str
    quantity: str
    role: str
    status: str
    instance: Mapping[str, Any]
    seed: int
    prediction: Mapping[str, Any]
    verdict: Mapping[str, Any]
    table: Mapping[str, Any] | None = None
    fit: Mapping[str, Any] | None = None
    derivation: Mapping[str, Any] = field(default_factory=dict)
    profile: str = ""
    stages: tuple[Mapping[str, Any], ...] = ()
    """Where the check was retested (:func:`verify.check.check`): one summary per stage run
    (``seed``, ``status``, ``estimate``, ``lo``, ``hi``), in order; the last decides and gave
    this record's table, fit and verdict. Empty when one stage decided."""

    @property
    def expected(self) -> str:
        return role_expected(self.role)

    @property
    def met(self) -> bool:
        """True when the verdict is the one the role expects."""
        return self.verdict.get("status") == self.expected

    @property
    def met_in_every_stage(self) -> bool:
        """True when every stage run gave the expected verdict. For a control (a wrong twin)
        this is what a wrong claim faces under the retest rule: it is refuted only if it is
        rejected in the first stage and again in the retest."""
        if not self.stages:
            return self.met
        return all(s.get("status") == self.expected for s in self.stages)

    def explain(self) -> str:
        """A failure message: claim, role, instance, verdict and its advice."""
        inst = self.instance
        vals = ", ".join(f"{k}={v:g}" for k, v in inst.get("values", {}).items())
        head = (f"{self.claim} [{self.role}] expected {self.expected}, got "
                f"{self.verdict.get('status')}: sigma={inst.get('sigma')} d={inst.get('width')}"
                f" bias={inst.get('bias')} {vals} seed={self.seed}")
        lines = [head, f"prediction: {self.prediction.get('text', '')}"]
        if len(self.stages) > 1:
            lines.append("retested: " + "; ".join(
                f"stage {i} (seed {st.get('seed')}) {st.get('status')}"
                for i, st in enumerate(self.stages, 1)) + " (the last stage decides)")
        if self.derivation and not self.derivation.get("agrees", True):
            lines.append(f"derivation: {self.derivation.get('reason', '')}")
        message = self.verdict.get("message") or ""
        if message:
            lines.append(message)
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {"claim": self.claim, "regime": self.regime, "quantity": self.quantity,
                "role": self.role, "expected": self.expected, "status": self.status,
                "instance": dict(self.instance), "seed": int(self.seed),
                "profile": self.profile, "prediction": dict(self.prediction),
                "table": None if self.table is None else dict(self.table),
                "fit": None if self.fit is None else dict(self.fit),
                "verdict": dict(self.verdict), "derivation": dict(self.derivation),
                **({"stages": [dict(st) for st in self.stages]} if self.stages else {})}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Record:
        return cls(claim=str(data["claim"]), regime=str(data["regime"]),
                   quantity=str(data["quantity"]), role=str(data["role"]),
                   status=str(data["status"]), instance=dict(data["instance"]),
                   seed=int(data["seed"]), prediction=dict(data["prediction"]),
                   verdict=dict(data["verdict"]), table=data.get("table"),
                   fit=data.get("fit"), derivation=dict(data.get("derivation") or {}),
                   profile=str(data.get("profile", "")),
                   stages=tuple(dict(st) for st in data.get("stages") or ()))
