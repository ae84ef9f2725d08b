"""Solver orders on problems with exact solutions; orders are read from the solvers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from numerics import (
    RK4,
    Euler,
    EulerMaruyama,
    Heun,
    MatrixNoise,
    Milstein,
    ScalarNoise,
    VectorNoise,
    block_sums,
    brownian_increments,
    solve_ode,
    solve_sde,
)
from numerics.solvers import LimitSpec


def _fit(steps: list[int], errs: list[float]) -> float:
    return float(np.polyfit(np.log(steps), np.log(errs), 1)[0])


@pytest.mark.parametrize("solver", [Euler(), Heun(), RK4()])
def test_ode_order_on_linear_matrix_ode(solver: Euler | Heun | RK4) -> None:
    g = torch.Generator().manual_seed(0)
    a = torch.randn(4, 4, generator=g, dtype=torch.float64) / 2
    h0 = torch.randn(3, 4, generator=g, dtype=torch.float64)  # 3 initial conditions
    exact = h0 @ torch.linalg.matrix_exp(a).T

    def f(t: float, h: torch.Tensor) -> torch.Tensor:
        return h @ a.T

    steps = [8, 16, 32, 64] if solver.order < 4 else [4, 8, 16, 32]
    errs = [float((solve_ode(f, h0, n, solver=solver) - exact).norm()) for n in steps]
    assert min(errs) > 1e-13  # above the round-off floor
    slope = _fit(steps, errs)
    assert slope == pytest.approx(-solver.order, abs=0.1)
    # power: the fitted order is not the next integer order
    assert abs(slope + solver.order + 1) > 0.5


def test_save_every_returns_the_trajectory() -> None:
    out = solve_ode(lambda t, h: -h, torch.ones(2, 1, dtype=torch.float64), 8, save_every=4)
    assert out.shape == (3, 2, 1)
    assert float(out[1, 0, 0]) == pytest.approx(math.exp(-0.5), rel=3e-3)


def _gbm_errors(solver: EulerMaruyama | Milstein, mu: float, s: float) -> tuple[list[int], list]:
    m, n_fine = 4000, 1024
    dw = brownian_increments(n_samples=m, shape=(1,), n_steps=n_fine, seed=21, key="B")
    x0 = torch.ones(m, 1, dtype=torch.float64)
    exact = x0 * torch.exp((mu - s * s / 2) + s * dw.sum(0))
    noise = ScalarNoise(g=lambda t, h: s * h, dg=lambda t, h: torch.full_like(h, s))
    steps = [16, 32, 64, 128, 256]
    errs = []
    for n in steps:
        incs = block_sums(dw, n_fine // n)  # the same Brownian path on every grid
        xn = solve_sde(
            x0, incs, drift=lambda t, h: mu * h, noise=noise, solver=solver, variance=1.0
        )
        errs.append(float((xn - exact).abs().mean()))
    return steps, errs


@pytest.mark.parametrize("solver", [EulerMaruyama(), Milstein()])
def test_strong_order_on_geometric_brownian_motion(solver: EulerMaruyama | Milstein) -> None:
    steps, errs = _gbm_errors(solver, mu=0.5, s=0.8)
    slope = _fit(steps, errs)
    assert slope == pytest.approx(-solver.strong_order, abs=0.1)
    other = Milstein() if isinstance(solver, EulerMaruyama) else EulerMaruyama()
    assert abs(slope + other.strong_order) > 0.3  # power: rejects the other scheme's order


def test_milstein_requires_scalar_noise_with_derivative() -> None:
    with pytest.raises(ValueError, match="ScalarNoise"):
        LimitSpec(Milstein(), noise=VectorNoise(g=lambda t, h: h))
    with pytest.raises(ValueError, match="ODE solver"):
        LimitSpec(Heun(), drift=lambda t, h: h, noise=VectorNoise(g=lambda t, h: h))


def _torchsde_case(kind: str):
    torchsde = pytest.importorskip("torchsde")
    from torchsde._brownian import BaseBrownian

    d, m, n = 3, 64, 128
    shape = (d, d) if kind == "matrix" else (d,)
    dw = brownian_increments(n_samples=m, shape=shape, n_steps=n, variance=0.5, seed=7)
    h0 = torch.randn(m, d, dtype=torch.float64, generator=torch.Generator().manual_seed(1))

    def drift(t: float, h: torch.Tensor) -> torch.Tensor:
        return -h + torch.sin(h) * (1 + t)

    def u(t: float, h: torch.Tensor) -> torch.Tensor:
        return torch.tanh(h) + 0.1

    noise = MatrixNoise(u=u) if kind == "matrix" else VectorNoise(g=lambda t, h: u(t, h) * h)
    ours = solve_sde(h0, dw, drift=drift, noise=noise, solver=EulerMaruyama())

    flat = dw.reshape(n, m, -1)

    class Increments(BaseBrownian):
        """Hands torchsde our fine increments, indexed by the step's start time."""

        def __call__(self, ta, tb=None, return_U=False, return_A=False):
            j = round(float(ta) * n)
            assert tb is not None and round(float(tb) * n) == j + 1
            return flat[j]

        def __repr__(self) -> str:
            return "Increments()"

        dtype = property(lambda self: torch.float64)
        device = property(lambda self: torch.device("cpu"))
        shape = property(lambda self: flat.shape[1:])
        levy_area_approximation = property(lambda self: "none")

    class SDE(torch.nn.Module):
        sde_type = "ito"
        noise_type = "general" if kind == "matrix" else "diagonal"

        def f(self, t, y):
            return drift(float(t), y)

        def g(self, t, y):
            if kind == "matrix":  # dW @ u = G dW_flat with G[i, (i', j)] = delta_ii' u_j
                eye = torch.eye(d, dtype=y.dtype)
                return (eye[None, :, :, None] * u(float(t), y)[:, None, None, :]).reshape(
                    y.shape[0], d, d * d
                )
            return u(float(t), y) * y

    ts = torch.tensor([0.0, 1.0], dtype=torch.float64)
    theirs = torchsde.sdeint(SDE(), h0, ts, bm=Increments(), method="euler", dt=1.0 / n)[-1]
    return ours, theirs


@pytest.mark.parametrize("kind", ["vector", "matrix"])
def test_euler_maruyama_agrees_with_torchsde_on_the_same_increments(kind: str) -> None:
    ours, theirs = _torchsde_case(kind)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    assert float((ours - theirs.roll(1, 0)).abs().max()) > 1e-3  # the comparison has power
