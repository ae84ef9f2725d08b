"""False alarms and power of the large-time checks over problem seeds (EGPZ; THEORY.md s. 6).

``python -m numerics.large_time.study --seeds 20`` runs, per seed, the checks of the tests in
tests/numerics/test_large_time*.py with their thresholds (provisional, until verify's judge
takes over): LT1 identity (claim: defect < 1e-13 for outer-linear; twin: > 0.1 for
inner-linear and inner-tanh), LT2 rate (claim: converged, E <= certificate, slope of the last 3
horizons <= -1; twin: inner-linear direct slope <= -1 must fail), LT3 monotone norms and errors
and Cauchy gaps, LT4 turnpike (screened by the stated rule first; claim: late slope within 5% of
the LQR prediction and profiles within 0.1 in log; twin: the no-running-cost profiles differ by
> 0.4 in log). A non-converged solve counts as inconclusive. Prints one JSON line per seed and
the tallies.

verify's judge has taken over: LT1-LT4 are regime files (theory/regimes/lt*.py) checked by
:func:`verify.check.check` and measured by ``resnet-limits power --claim LT1 ...`` (README,
"Large-time training"); this study stays as an independent cross-check with its own fixed
thresholds.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from numerics.large_time.continuation import (
    continuation,
    direct_sweep,
    identity_defect,
    loglog_slope,
)
from numerics.large_time.dynamics import dynamics
from numerics.large_time.problems import teacher_problem
from numerics.large_time.turnpike import late_decay_slope, predict, solve_turnpike

HORIZONS = (1, 2, 4, 8, 16, 32)
LAM, H, BETA = 1e-2, 0.1, 1.0


def one_seed(seed: int) -> dict[str, object]:
    """All checks on the problems of one seed; each entry True/False/None (inconclusive)."""
    out: dict[str, object] = {"seed": seed}
    probs = {n: teacher_problem(dynamics(n, 2), n_points=3, steps=6, seed=seed)
             for n in ("outer-linear", "inner-linear", "inner-tanh")}
    g = torch.Generator().manual_seed(10_000 + seed)
    u = torch.randn(6, 6, generator=g, dtype=torch.float64)
    out["LT1"] = max(identity_defect(probs["outer-linear"], u / t, t, LAM)
                     for t in (2.0, 8.0, 32.0)) < 1e-13
    for n in ("inner-linear", "inner-tanh"):
        v = torch.randn(6, probs[n].dynamics.n_controls, generator=g, dtype=torch.float64)
        out[f"LT1-twin-{n}"] = min(identity_defect(probs[n], v / t, t, LAM)
                                   for t in (2.0, 8.0, 32.0)) > 0.1
    s = continuation(probs["outer-linear"], HORIZONS, LAM)
    e = s.column("error")
    slope = loglog_slope(np.array(HORIZONS[-3:]), e[-3:])
    out["LT2-slope"] = slope
    out["LT2"] = None if not s.converged else bool(np.all(e <= s.column("certificate"))
                                                     and slope <= -1)
    norms = s.column("rescaled_norm_sq")
    gaps = [float((p.u * p.horizon - s.points[-1].u * HORIZONS[-1]).norm())
            for p in s.points[:-1]]
    out["LT3"] = None if not s.converged else bool(
        np.all(np.diff(norms) >= -1e-9) and np.all(np.diff(e) <= 1e-12)
        and np.all(np.diff(gaps) < 0) and norms[-1] <= probs["outer-linear"].ubar_norm_sq)
    out["max_grad_norm"] = float(s.column("grad_norm").max())
    d2 = direct_sweep(probs["inner-linear"], HORIZONS, LAM, init_seed=7 + seed, gtol=1e-7)
    slope2 = loglog_slope(np.array(HORIZONS[-3:]), d2.column("error")[-3:])
    out["LT2-twin-slope"] = slope2
    out["LT2-twin-rejected"] = None if not d2.converged else bool(slope2 > -1)
    tp = teacher_problem(dynamics("outer-linear", 2), n_points=3, steps=4, seed=seed)
    pred = predict(tp, h=H, lam=LAM, beta=BETA, horizon=6.0)
    out["LT4-admitted"] = pred.admitted
    if pred.admitted:
        short = solve_turnpike(tp, horizon=3.0, h=H, lam=LAM, beta=BETA)
        long = solve_turnpike(tp, horizon=6.0, h=H, lam=LAM, beta=BETA)
        s0 = solve_turnpike(tp, horizon=3.0, h=H, lam=LAM, beta=0.0)
        l0 = solve_turnpike(tp, horizon=6.0, h=H, lam=LAM, beta=0.0)
        common = slice(0, len(short.times) // 2)
        gap = float(np.abs(np.log(short.profile[common] / long.profile[common])).max())
        gap0 = float(np.abs(np.log(s0.profile[common] / l0.profile[common])).max())
        tslope, _ = late_decay_slope(long.times, long.profile)
        ok = all(x.solve.converged for x in (short, long, s0, l0))
        out.update({"LT4-slope": tslope, "LT4-predicted": pred.error_slope, "LT4-gap": gap,
                    "LT4-twin-gap": gap0,
                    "LT4": None if not ok else bool(abs(tslope / pred.error_slope - 1) < 0.05
                                                    and gap < 0.1),
                    "LT4-twin-rejected": None if not ok else bool(gap0 > 0.4)})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for seed in range(args.seeds):
        rows.append(one_seed(seed))
        print(json.dumps(rows[-1]), flush=True)
    for key in ("LT1", "LT1-twin-inner-linear", "LT1-twin-inner-tanh", "LT2", "LT3",
                "LT2-twin-rejected", "LT4", "LT4-twin-rejected"):
        vals = [r[key] for r in rows if key in r]
        print(f"{key}: pass {sum(v is True for v in vals)}, fail {sum(v is False for v in vals)},"
              f" inconclusive {sum(v is None for v in vals)} of {len(vals)}")


if __name__ == "__main__":
    main()
