"""What theory says for a report's regime section: the derived limit of each activation
(or the stated protocol of a trained or large-time regime), the regime's declaration, and
the section headings. Ledger text is data: an activation reaches theory only through
``theory.activations.activation`` (the safe parser of ``theory/parse.py``) after a cheap
allow-list check here, inside ``try``; any failure shows as "derivation unavailable:
<reason>". Nothing here raises.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from verify.render.names import human_equation, human_latex

__all__ = ["LARGE_TIME", "TRAINED", "Derivation", "RegimeInfo", "derivation", "headings",
           "merge_derivations", "regime_info"]

_SAFE_TEXT = re.compile(r"[A-Za-z0-9_+\-*/^(). ,]{1,500}")


TRAINED = "trained"
LARGE_TIME = "large-time"


def headings(derivations: Sequence[Derivation]) -> tuple[str, str]:
    """The titles of a section's theory part and figures: a trained regime shows its training
    protocol and trained-weight statistics, a large-time regime its protocol and the horizon
    ladder, the others the derived limit and the errors."""
    if derivations and all(d.kind == TRAINED for d in derivations):
        return ("Training protocol (the claims' predictions are stated, not derived)",
                "Trained-weight statistics against depth (log-log, training seeds as samples)")
    if derivations and all(d.kind == LARGE_TIME for d in derivations):
        return ("Large-time protocol (EGPZ; THEORY.md section 6)",
                "Training error against the horizon T and turnpike profiles (teacher problems "
                "as samples)")
    return "Derived limit (theory, exact)", "Error against depth (log-log)"


@dataclass(frozen=True)
class Derivation:
    """What theory derives for one regime and activation (or why it cannot)."""

    sigma: str
    kind: str = ""
    equation: str = ""
    latex: str = ""
    rates: tuple[str, ...] = ()
    error: str = ""

    @property
    def legend(self) -> bool:
        return "E[sigma" in self.equation or r"\mathbb{E}[" in self.latex


@dataclass(frozen=True)
class RegimeInfo:
    """The regime's declaration from the registry (``registered=False`` when absent)."""

    name: str
    registered: bool
    claim: str = ""
    source: str = ""
    block: str = ""
    parameters: tuple[str, ...] = ()


@lru_cache(maxsize=256)
def regime_info(name: str) -> RegimeInfo:
    """Claim text, source, block and parameter domains of ``name`` (never raises)."""
    try:
        from theory.regimes import registry

        regime = registry().get(name)
    except Exception:  # noqa: BLE001 - the report shows what it can
        regime = None
    if regime is None:
        return RegimeInfo(name, registered=False)
    params = []
    for k, v in (getattr(regime, "parameters", None) or {}).items():
        try:
            params.append(f"{k} in {v.interval()} (typical {list(v.typical)})")
        except Exception:  # noqa: BLE001
            params.append(str(k))
    block = getattr(regime, "block", "")
    return RegimeInfo(name, True, claim=str(getattr(regime, "claim", "")),
                      source=str(getattr(regime, "source", "")),
                      block=str(getattr(block, "value", block)), parameters=tuple(params))


def _safe_sigma(text: str) -> str:
    """Refuse ledger text that cannot be an activation before any parser sees it."""
    if not _SAFE_TEXT.fullmatch(text) or "__" in text:
        raise ValueError(f"activation text {text[:60]!r} holds characters or names no "
                         "activation has; it is shown, never evaluated")
    return text


@lru_cache(maxsize=256)
def derivation(regime: str, sigma: str, quantity: str = "") -> Derivation:
    """The derived limit of ``regime`` for the activation text ``sigma`` (generic in the
    regime's parameters); the backward limit for a ``grad-*`` quantity (or ``"grad"``).
    Never raises."""
    try:
        from theory.activations import activation
        from theory.regimes import get

        act = activation(_safe_sigma(sigma))
        regime_value = get(regime)
        if regime_value.training is not None:  # trained weights: the protocol, no limit
            return Derivation(sigma, TRAINED, regime_value.training.describe(), "", tuple(
                f"{regime_value.claim_id(c)}: {c.quantity.value} rate "
                f"{c.predicts.bound.symbol} {c.predicts.exponent}"
                for c in regime_value.claims))
        if regime_value.horizon is not None:  # large time: the protocol, claims over T
            from verify.check import describe_prediction

            return Derivation(sigma, LARGE_TIME, regime_value.horizon.describe(), "", tuple(
                f"{regime_value.claim_id(c)}: "
                f"{describe_prediction(_concrete(c.predicts), c.quantity.value)['text']}"
                for c in regime_value.claims))
        try:
            from theory.parse import time_limit
        except ImportError:  # pragma: no cover - older theory
            from contextlib import nullcontext as time_limit
        with time_limit():
            limit = get(regime).limit(act)
        if quantity.startswith("grad"):
            from theory.backward import derive_backward

            back = derive_backward(limit)
            return Derivation(sigma, back.kind, human_equation(back.equation()), "",
                              tuple(human_equation(r.describe()) for r in back.rates))
        return Derivation(sigma, limit.kind, human_equation(limit.equation()),
                          human_latex(limit.latex()),
                          tuple(human_equation(r.describe()) for r in limit.rates))
    except Exception as exc:  # noqa: BLE001 - shown as "derivation unavailable: <reason>"
        reason = " ".join(str(exc).split())[:300] or type(exc).__name__
        return Derivation(sigma, error=f"{type(exc).__name__}: {reason}")


def _concrete(pred):
    """A stated prediction with float exponents (for its one-line text)."""
    from dataclasses import replace

    from theory.claims import Rate

    if isinstance(pred, Rate) and pred.exponent is not None:
        return replace(pred, exponent=float(pred.exponent))
    return pred


def merge_derivations(derivations: Sequence[Derivation]) -> tuple[Derivation, ...]:
    """Activations with the same derived limit share one entry."""
    groups: dict[tuple, list[str]] = {}
    for d in derivations:
        names = groups.setdefault((d.kind, d.equation, d.latex, d.rates, d.error), [])
        if d.sigma not in names:
            names.append(d.sigma)
    return tuple(Derivation(", ".join(s), *key) for key, s in groups.items())
