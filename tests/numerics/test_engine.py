"""The engine (issue 12): value objects, one loop, steppers declaring their orders."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from numerics import (
    EulerMaruyama,
    Exact,
    Execution,
    GaussianInput,
    Heun,
    Ladder,
    LimitSpec,
    MatrixNoise,
    Model,
    Sampling,
    brownian_weights,
    simulate,
    smooth_weights,
)
from numerics.driver import Driver
from numerics.ladder import run, run_ladder, simulate_ladder
from numerics.metrics import error_table
from numerics.noise import BrownianPath
from numerics.steppers.limit import ExactStepper, LimitStepper
from numerics.steppers.resnet import ResNet
from numerics.steppers.variation import FirstVariation, FirstVariationStepper

EM = LimitSpec(EulerMaruyama(), noise=MatrixNoise(u=lambda t, h: h, source="A"))


def test_simulate_on_value_objects_is_the_keyword_form() -> None:
    model = Model(block="I", sigma=torch.tanh, alpha=0.0, weights={"A": brownian_weights()},
                  limit=EM)
    sampling = Sampling(n_samples=6, seed=9, inputs=GaussianInput(0.5), width=3)
    table = simulate(model, Ladder(depths=(8, 4, 16), refine=1), sampling,
                     Execution(device="cpu", chunk_steps=2))
    ref = error_table(run_ladder("I", torch.tanh, alpha=0.0, weights={"A": brownian_weights()},
                                 x0=GaussianInput(0.5), width=3, depths=(4, 8, 16),
                                 n_samples=6, seed=9, limit=EM, refine=1, device="cpu"))
    assert table.depths == (4, 8, 16)
    for k, v in ref.samples.items():
        assert np.array_equal(table.samples[k], v, equal_nan=True), k


def test_value_objects_refuse_with_the_field_and_the_fix() -> None:
    with pytest.raises(ValueError, match="block='X'"):
        Model(block="X", sigma=torch.tanh, alpha=0.0, weights={"A": brownian_weights()})
    with pytest.raises(ValueError, match="power of two"):
        Ladder(depths=(16, 24))
    with pytest.raises(ValueError, match="n_samples"):
        Sampling(n_samples=0, seed=0, inputs=GaussianInput())
    with pytest.raises(ValueError, match="chunk_steps=3"):
        Execution(chunk_steps=3)
    with pytest.raises(ValueError, match="noise_device"):
        Execution(noise_device="gpu")


def test_steppers_declare_their_orders() -> None:
    lim = LimitStepper(EM, None, n_fine=8, source="A", variance=1.0)
    assert (lim.strong_order, lim.weak_order) == (0.5, 1.0)
    heun = LimitStepper(LimitSpec(Heun(), drift=lambda t, h: h), lambda t, h: h, n_fine=8,
                        source=None, variance=1.0)
    assert heun.order == 2.0
    exact = ExactStepper(Exact(lambda t, x, w: x), n_fine=8, n_coarse=2, source=None)
    assert exact.order == math.inf and exact.level == 2
    fv = FirstVariation(drift=lambda a, q: a, drift_a=1.0, drift_q=None,
                        weight_density=lambda a, q: a, noise_row=1.0)
    assert FirstVariationStepper(fv, a_path=None, b_path=None, n_fine=8).strong_order == 0.5
    net = ResNet("I", torch.tanh, alpha=0.0, depth=2, n_fine=8,
                 weights={"A": brownian_weights()}, smooth={}, rough=("A",),
                 device=torch.device("cpu"))
    assert net.level == 2 and math.isnan(net.order)


def test_the_loop_gives_each_depth_the_sums_of_the_finer_increments() -> None:
    """Depth 2 on a fine grid of 8 with a linear 'activation' and alpha = 0: one step of depth
    2 uses exactly the sum of 4 fine increments (the dyadic tree), whatever the chunk."""
    path = BrownianPath(n_samples=3, shape=(2, 2), n_steps=8, variance=1.0, seed=1, key="A")
    fine = torch.cat([c.clone() for c in path.chunks(8)])
    x0 = torch.randn(3, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for chunk in (1, 2, 8):
        net = ResNet("I", lambda u: u, alpha=0.0, depth=2, n_fine=8,
                     weights={"A": brownian_weights()}, smooth={}, rough=("A",),
                     device=torch.device("cpu"))
        driver = Driver({"A": BrownianPath(n_samples=3, shape=(2, 2), n_steps=8,
                                           variance=1.0, seed=1, key="A")},
                        n_fine=8, n_levels=2, chunk=chunk)
        (h,) = run([net], x0, driver.chunks())
        want = x0
        for k in range(2):
            j = 4 * k
            a = (fine[j] + fine[j + 1]) + (fine[j + 2] + fine[j + 3])
            want = want + torch.einsum("mij,mj->mi", a, want)
        assert torch.equal(h, want), chunk


def test_smooth_weights_and_an_ode_limit_run_without_any_path() -> None:
    model = Model(block="I", sigma=torch.tanh, alpha=1.0, weights={"A": smooth_weights()},
                  limit=LimitSpec(Heun(), drift=lambda t, h: torch.zeros_like(h)))
    res = simulate_ladder(model, Ladder(depths=(2, 4)),
                          Sampling(n_samples=2, seed=0, inputs=GaussianInput(), width=2),
                          Execution(device="cpu"))
    assert res.meta["steppers"] == ["ResNet", "ResNet", "LimitStepper"]
    assert torch.equal(res.limit_final, res.x0)
