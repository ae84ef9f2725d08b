"""The golden numbers of the numerics engine, as the suite uses it (issue 12).

:func:`collect` runs, at tiny sizes and fixed seeds,

* every registered regime x claim through :func:`verify.measure.measure` (one instance drawn
  by the property tests' own rules from a seeded picker; the claim's variants and every twin
  with its own limit), in float64 and float32;
* direct calls of :func:`numerics.ladder.run_ladder` (+ ``error_table``: ``simulate``) and
  :func:`numerics.gradients.gradient_table` for
  the settings the suite does not reach through a regime (chunk sizes, float64 draws, the
  numpy stream, fBm weights, every block, the fused kernel's fallback).

``python -m tests.golden.record`` writes ``tests/golden/golden.npz`` (run it only when a change
of the numbers is intended and reviewed) with the recording machine's :func:`machine` under
:data:`MACHINE_KEY`; ``tests/golden/test_golden.py`` compares bit for bit on that machine and
to round-off on others (torch, MKL, numpy and numba pick SIMD paths by CPU: on an AVX-512
machine the arrays recorded on another moved by at most 2e-15 of each array's largest value).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

GOLDEN = Path(__file__).with_name("golden.npz")
MACHINE_KEY = "meta/machine"


def machine() -> str:
    """What decides the floating-point paths: CPU architecture, torch's SIMD capability and the
    library versions (equal strings: the numbers must agree bit for bit)."""
    import platform

    import numba

    return (f"{platform.machine()} {torch.backends.cpu.get_cpu_capability()} torch "
            f"{torch.__version__} numpy {np.__version__} numba {numba.__version__}")


def _budget(dtype: str):
    from verify.profiles import Budget

    return Budget(depths=(4, 8, 16), n_samples=4, window=3, n_boot=100, tolerance=0.1,
                  max_width=0.6, dtype=dtype, ladders={"weak": (2, 4, 8)},
                  samples_factor={"law": 2, "weak": 2})


def _regime_tables(out: dict[str, np.ndarray]) -> None:
    from theory.regimes import registry
    from verify.controls import controls_for
    from verify.measure import measure
    from verify.strategies import RandomPicker, draw_instance

    for dtype in ("float64", "float32"):
        budget = _budget(dtype)
        for name, regime in registry().items():
            if regime.protocol is not None:
                continue  # trained claims: tests/numerics/test_train.py
            for ci, claim in enumerate(regime.claims):
                pick = RandomPicker(np.random.default_rng([12, ci, len(name)]))
                instance = draw_instance(pick, regime, claim)
                try:
                    pred = instance.predicted(claim)
                    limit = instance.limit
                    twins = controls_for(claim, instance, pred)
                except Exception as exc:  # the suite refuses these too
                    out[f"{dtype}/{name}/{claim.quantity.value}/refused"] = np.array(str(exc))
                    continue
                variants = tuple(sorted({t.variant for t in twins if t.variant}))
                runs = [("claim", limit, variants)]
                runs += [(f"twin:{t.name}", t.limit, ()) for t in twins if t.limit is not None]
                for role, lim, var in runs:
                    key = f"{dtype}/{name}/{claim.quantity.value}/{role}"
                    try:
                        table = measure(instance, claim, lim, budget, seed=5, variants=var)
                    except (NotImplementedError, ValueError) as exc:
                        out[key + "/error"] = np.array(f"{type(exc).__name__}: {exc}")
                        continue
                    for col, values in table.columns.items():
                        out[f"{key}/{col}"] = np.asarray(values)
                    out[f"{key}/overflow"] = np.asarray(table.overflow)


def _direct_tables(out: dict[str, np.ndarray]) -> None:
    from numerics import (
        Exact,
        FixedInput,
        GaussianInput,
        LimitSpec,
        MatrixNoise,
        brownian_weights,
        iid_gaussian,
        run_ladder,
        smooth_weights,
    )
    from numerics.laws import FractionalBrownian, WeightLaw
    from numerics.metrics import error_table
    from numerics.solvers import EulerMaruyama, Heun

    x0 = GaussianInput(scale=0.5)
    em = LimitSpec(EulerMaruyama(), noise=MatrixNoise(u=lambda t, h: h, source="A"))
    exact = LimitSpec(Exact(lambda t, x, w: x * torch.exp(w[..., 0] - t / 2)))
    fbm = WeightLaw(rough=FractionalBrownian(hurst=0.3))

    def heun_drift(t, h):
        return torch.tanh(h)

    cases = {
        "I-em-f32draw-chunk1": dict(block="I", weights={"A": brownian_weights()}, limit=em,
                                    chunk_steps=1, refine=1),
        "I-em-f32draw-chunk16": dict(block="I", weights={"A": brownian_weights()}, limit=em,
                                     chunk_steps=16, refine=1),
        "I-em-f64draw": dict(block="I", weights={"A": brownian_weights()}, limit=em,
                             draw_dtype=torch.float64),
        "I-exact-d1": dict(block="I", weights={"A": brownian_weights(1.0)}, limit=exact,
                           width=1, x0=FixedInput((1.0,))),
        "I-smooth-bias-heun": dict(block="I", weights={"A": smooth_weights(),
                                                       "b": smooth_weights()},
                                   limit=LimitSpec(Heun(), drift=heun_drift)),
        "O-iid": dict(block="O", weights={"V": iid_gaussian(), "W": iid_gaussian()}),
        "O-fbm": dict(block="O", weights={"V": fbm, "W": iid_gaussian()}),
        "S-brownian-em": dict(block="S", weights={"V": brownian_weights()},
                              limit=LimitSpec(EulerMaruyama(),
                                              noise=MatrixNoise(u=lambda t, h: torch.tanh(h),
                                                                source="V"))),
        "I-em-independent": dict(block="I", weights={"A": brownian_weights()},
                                 limit=LimitSpec(EulerMaruyama(),
                                                 noise=MatrixNoise(u=lambda t, h: h,
                                                                   source="Z"))),
    }
    for name, kw in cases.items():
        kw = dict(kw)
        args = dict(alpha=0.0 if kw.get("limit") is not None and name.startswith(("I-e", "S"))
                    else 1.0, x0=kw.pop("x0", x0), width=kw.pop("width", 3),
                    depths=(4, 8, 16), n_samples=5, seed=3)
        block = kw.pop("block")
        tf = {"sum h": lambda h: h.sum(-1)} if kw.get("limit") is not None else None
        table = error_table(run_ladder(block, torch.tanh, **args, **kw), tf)
        for col, values in table.samples.items():
            out[f"direct/{name}/{col}"] = np.asarray(values)
        out[f"direct/{name}/overflow"] = np.asarray(table.overflow)
        res = run_ladder(block, torch.tanh, **args, **kw)
        for field in ("final", "coarse", "peak", "limit_coarse", "limit_peak"):
            value = getattr(res, field)
            if value is not None:
                out[f"direct/{name}/raw/{field}"] = value.numpy()
    from numerics.gradients import FirstVariation, gradient_table

    def zero(a, q):
        return torch.zeros_like(a)

    fv_ode = FirstVariation(drift=lambda a, q: torch.tanh(a),
                            drift_a=lambda a, q: 1 - torch.tanh(a) ** 2, drift_q=None,
                            weight_density=lambda a, q: 1 - torch.tanh(a) ** 2)
    fv_sde = FirstVariation(drift=lambda a, q: -0.5 * q * a, drift_a=0.0, drift_q=-0.5,
                            weight_density=lambda a, q: torch.ones_like(a), q_variance=1 / 3,
                            noise_row=1.0, variants={"v": (0.0, None)})
    grads = {
        "grad-ode-smooth-bias-square": dict(weights={"A": smooth_weights(),
                                                     "b": smooth_weights()},
                                            limit=fv_ode, alpha=1.0, loss="square"),
        "grad-sde-linear-chunk1": dict(weights={"A": brownian_weights()}, limit=fv_sde,
                                       alpha=0.0, loss=[1.0, -1.0, 0.5], chunk_steps=1,
                                       weight_exponents={"x": 0.5}),
    }
    for name, kw in grads.items():
        table = gradient_table(torch.tanh, x0=x0, depths=(4, 8, 16), n_samples=5, seed=4,
                               width=3, **kw)
        for col, values in table.samples.items():
            out[f"direct/{name}/{col}"] = np.asarray(values)
        out[f"direct/{name}/overflow"] = np.asarray(table.overflow)
    from numerics.fused import linear_u, run_fused

    res = run_fused(alpha=0.5, weights={"A": brownian_weights()}, x0=x0, depths=(4, 8, 16),
                    n_samples=11, seed=2, width=3,
                    limit=LimitSpec(EulerMaruyama(), noise=MatrixNoise(u=linear_u, source="A")),
                    backend="torch")
    out["direct/numpy-stream/coarse"] = res.coarse.numpy()
    out["direct/numpy-stream/limit_coarse"] = res.limit_coarse.numpy()


def collect() -> dict[str, np.ndarray]:
    """Every golden array, by name."""
    out: dict[str, np.ndarray] = {}
    _regime_tables(out)
    _direct_tables(out)
    return out


if __name__ == "__main__":
    arrays = collect()
    arrays[MACHINE_KEY] = np.array(machine())
    np.savez_compressed(GOLDEN, **arrays)
    print(f"{len(arrays)} arrays -> {GOLDEN} ({GOLDEN.stat().st_size} bytes)")
