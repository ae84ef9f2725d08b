"""LT4: with a running cost the error decays exponentially in t, at the LQR rate (turnpike)."""

from theory.claims import Claim, ExpDecay
from theory.horizon import LargeTime
from theory.regime import Regime

REGIME = Regime.large_time(
    name="LT4",
    claim="Training x' = W tanh(x) + b with the running cost beta int_0^T E(t) dt (turnpike, "
    "step h fixed): E_T(t) <= C exp(-mu t) with C, mu independent of T; the late slope of "
    "log E(t) is the one of the discrete LQR problem linearised at (x = y, u = 0), "
    "-2 rate(sigma_min(B)), and the profiles E_T(t) for different T coincide on their "
    "common range. Problems whose linearisation is ill-conditioned or whose horizon spans "
    "too few time constants are screened out before judging (TurnpikeScreen). Its twins: "
    "the same problem without the running cost (its profile stretches with T) and a decay "
    "twice as fast.",
    source="EGPZ (turnpike: exponential decay, C and mu independent of T); THEORY.md section "
    "6 [derived: the LQR rate]",
    status="theorem",
    horizon=LargeTime(dynamics="outer-linear"),
    claims=(Claim(quantity="turnpike-error", over="horizon",
                  predicts=ExpDecay(rate=None, tolerance=0.05, coincide=0.1),
                  controls=("no-running-cost",),
                  source="EGPZ turnpike; rate from theory.large_time.turnpike_decay"),),
    notes="Measured (study, 20 seeds, T = 3 and 6, h = 0.1): late slope within 0.5% of the "
    "LQR prediction, profiles within 1e-3 in log; without the running cost they differ by "
    "0.7-0.9 in log.",
)
