"""numerics.gradients: batched autograd gradients on the coupled path and their limits."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from numerics import GaussianInput, brownian_increments, weights_at_depth
from numerics.gradients import (
    FirstVariation,
    coupled_weights,
    gradient_table,
    network_gradients,
    solve_first_variation,
)
from numerics.laws import FractionalBrownian, WeightLaw, brownian_weights, smooth_weights
from numerics.smooth import DeterministicPath, FourierSeries

F64 = torch.float64


def _zero(a: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(a)


def _manual_backprop(sigma, dsigma, A, b, x0, alpha):
    """p_k = p_{k+1} + delta (diag(sigma'(pre_k)) A_k)^T p_{k+1}; dl/dA_k = delta
    diag(sigma'(pre_k)) p_{k+1} h_k^T (all samples at once)."""
    depth = A.shape[0]
    delta = depth ** (-alpha)
    hs, pres = [x0], []
    for k in range(depth):
        pres.append(torch.einsum("mij,mj->mi", A[k], hs[-1]) + b[k])
        hs.append(hs[-1] + delta * sigma(pres[-1]))
    p = hs[-1].clone()  # grad of |h|^2 / 2
    grads = [None] * depth
    for k in reversed(range(depth)):
        s = dsigma(pres[k]) * p
        grads[k] = delta * s.unsqueeze(-1) * hs[k].unsqueeze(-2)
        p = p + delta * torch.einsum("mij,mi->mj", A[k], s)
    return hs[-1], p, torch.stack(grads)


def test_autograd_gradients_are_the_backprop_recursion():
    g = torch.Generator().manual_seed(0)
    depth, m, d = 7, 5, 3
    A = torch.randn(depth, m, d, d, generator=g, dtype=F64) / 2
    b = torch.randn(depth, m, d, generator=g, dtype=F64) / 3
    x0 = torch.randn(m, d, generator=g, dtype=F64)
    h, p0, ga = network_gradients(torch.tanh, A, x0, alpha=0.5, b=b)
    h_ref, p_ref, ga_ref = _manual_backprop(torch.tanh, lambda z: 1 - torch.tanh(z) ** 2, A, b,
                                            x0, 0.5)
    torch.testing.assert_close(h, h_ref, rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(p0, p_ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ga, ga_ref, rtol=1e-12, atol=1e-12)
    _, _, some = network_gradients(torch.tanh, A, x0, alpha=0.5, b=b, layers=[0, 3])
    torch.testing.assert_close(some, ga_ref[[0, 3]])


def test_one_graph_gives_per_sample_gradients():
    """Permuting the samples permutes the gradients: no sample leaks into another."""
    g = torch.Generator().manual_seed(1)
    A = torch.randn(6, 8, 2, 2, generator=g, dtype=F64)
    x0 = torch.randn(8, 2, generator=g, dtype=F64)
    perm = torch.randperm(8, generator=g)
    _, p0, ga = network_gradients(torch.sin, A, x0, alpha=1.0)
    _, p0p, gap = network_gradients(torch.sin, A[:, perm], x0[perm], alpha=1.0)
    torch.testing.assert_close(p0p, p0[perm], rtol=0, atol=0)
    torch.testing.assert_close(gap, ga[:, perm], rtol=0, atol=0)
    c = torch.tensor([1.0, -2.0], dtype=F64)
    _, p_lin, _ = network_gradients(torch.sin, A, x0, alpha=1.0, loss=c)
    _, p_lin2, _ = network_gradients(torch.sin, A, x0, alpha=1.0, loss=[1.0, -2.0])
    torch.testing.assert_close(p_lin, p_lin2)


def test_coupled_weights_are_those_of_the_ladder_bit_for_bit():
    law = WeightLaw(rough=brownian_weights(1 / 3).rough,
                    smooth=smooth_weights(FourierSeries(), beta=1.0).smooth)
    laws = {"A": law, "b": smooth_weights(FourierSeries(), beta=1.0)}
    out = coupled_weights(laws, (4, 8, 16), width=3, n_samples=5, seed=11, refine=2)
    for depth, (A, b) in out.items():
        ref_a = weights_at_depth(law, depth, width=3, n_samples=5, seed=11, n_fine=64)
        ref_b = weights_at_depth(laws["b"], depth, name="b", width=3, n_samples=5, seed=11,
                                 n_fine=64)
        assert torch.equal(A, ref_a) and torch.equal(b, ref_b)


def _scalar_r5() -> FirstVariation:
    """d = 1, sigma = tanh, no drift: dH = H dW, dJ = J dW (s2 = 0), v = 1."""
    return FirstVariation(drift=_zero, drift_a=1.0, drift_q=None, weight_density=lambda a, q:
                          torch.ones_like(a), q_variance=1.0, noise_row=1.0)


def test_first_variation_matches_the_closed_form_sde():
    """H_1 = x exp(W_1 - 1/2), J_1 = exp(W_1 - 1/2): P_0 = J_1 H_1 = x exp(2 W_1 - 1), and
    P_t = J_{t->1} H_1; Euler-Maruyama on the same increments converges at strong order 1/2."""
    m, steps = 2000, 1024
    x0 = torch.ones(m, 1, dtype=F64)
    inc = brownian_increments(n_samples=m, shape=(1, 1), n_steps=steps, variance=1.0, seed=3,
                              dtype=F64, draw_dtype=F64)
    w = inc.cumsum(0)[:, :, 0, 0]  # W at t_1..t_N
    lim = solve_first_variation(_scalar_r5(), x0, n_steps=steps, coarse=4, increments=inc)
    exact_p0 = torch.exp(2 * w[-1] - 1)
    rel = ((lim.P[0, :, 0] - exact_p0).abs().mean() / exact_p0.abs().mean()).item()
    assert rel < 0.05
    # P_t = J_{t->1}^T H_1 = exp(W_1 - W_t - (1 - t)/2) H_1 at t = 1/2
    half = w[steps // 2 - 1]
    exact_half = torch.exp(w[-1] - half - 0.25) * torch.exp(w[-1] - 0.5)
    rel_half = ((lim.P[2, :, 0] - exact_half).abs().mean() / exact_half.abs().mean()).item()
    assert rel_half < 0.05
    assert lim.G.shape == (4, m, 1, 1) and not lim.overflow.any()
    coarse = solve_first_variation(_scalar_r5(), x0, n_steps=steps // 16, coarse=4,
                                   increments=inc.reshape(steps // 16, 16, m, 1, 1).sum(1))
    rel_coarse = ((coarse.P[0, :, 0] - exact_p0).abs().mean() / exact_p0.abs().mean()).item()
    assert 2.5 < rel_coarse / rel < 6.5  # 16x finer: error / 4 (strong order 1/2)


def test_linear_ode_adjoint_matches_matrix_exponentials():
    """dH = A H dt (A constant): P_t = exp(A^T (1 - t)) H_1, G(t) = P_t H_t^T."""
    a_mat = torch.tensor([[0.3, -1.0], [0.8, -0.2]], dtype=F64)
    fv = FirstVariation(drift=lambda a, q: a, drift_a=1.0, drift_q=None,
                        weight_density=lambda a, q: torch.ones_like(a))
    x0 = torch.tensor([[1.0, 0.5], [-0.3, 2.0]], dtype=F64)
    path = DeterministicPath(lambda t: a_mat)
    from numerics.smooth import sample_smooth

    abar = sample_smooth(path, n_samples=2, shape=(2, 2), default_variance=0.5,
                         generator=torch.Generator(), dtype=F64, device=torch.device("cpu"))
    lim = solve_first_variation(fv, x0, n_steps=512, coarse=4, a_path=abar)
    h1 = x0 @ torch.linalg.matrix_exp(a_mat).T
    for mm, t in enumerate((0.0, 0.25, 0.5, 0.75)):
        p_t = h1 @ torch.linalg.matrix_exp(a_mat * (1 - t))
        h_t = x0 @ torch.linalg.matrix_exp(a_mat * t).T
        torch.testing.assert_close(lim.P[mm], p_t, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(lim.G[mm], p_t.unsqueeze(-1) * h_t.unsqueeze(-2),
                                   rtol=1e-5, atol=1e-5)


def _inputs(name: str, sigma: str, width: int, **params: float):
    from numerics.gradients import gradient_inputs
    from theory.backward import derive_backward
    from theory.regimes import get

    bl = derive_backward(get(name).limit(sigma, **params))
    controls = ("no-ito",) if bl.kind == "fbsde" and bl.has_ito_term else ()
    return bl, gradient_inputs(bl, width, controls=controls)


def _slope(depths, values) -> float:
    x = np.log(np.asarray(depths, dtype=float))
    y = np.log(np.nanmean(values, axis=1))
    return float(-np.polyfit(x, y, 1)[0])


def test_r1_gradients_converge_at_rate_one():
    _, gi = _inputs("R1", "tanh", 3)
    depths = (16, 32, 64, 128)
    table = gradient_table(gi.sigma, alpha=gi.alpha, weights=gi.weights, limit=gi.limit,
                           x0=GaussianInput(0.5), depths=depths, n_samples=32, seed=5, width=3,
                           weight_exponent=gi.weight_exponent,
                           weight_exponents={"wrong": gi.weight_exponent + 0.5})
    assert table.samples["grad-input"].shape == (4, 32) and table.n_valid.tolist() == [32] * 4
    assert abs(_slope(depths, table.samples["grad-input"]) - 1) < 0.1
    assert abs(_slope(depths, table.samples["grad-weight"]) - 1) < 0.1
    assert _slope(depths, table.samples["grad-weight:wrong"]) < 0  # grows like L^(1/2)
    assert table.meta["limit_solver"] == "Heun" and table.n_fine == 256
    assert json_roundtrip_ok(table)


def json_roundtrip_ok(table) -> bool:
    import json

    from numerics.metrics import ErrorTable

    back = ErrorTable.from_dict(json.loads(json.dumps(table.to_dict())))
    return all(np.array_equal(back.samples[k], table.samples[k], equal_nan=True)
               for k in table.samples)


def test_r5_input_gradient_needs_the_ito_term():
    """softplus (s2 = 1/4): the claimed limit is approached, the one without the Ito term of
    the first variation is not (same path, same network gradients)."""
    _, gi = _inputs("R5", "softplus_centered", 2)
    depths = (32, 64, 128, 256)
    table = gradient_table(gi.sigma, alpha=gi.alpha, weights=gi.weights, limit=gi.limit,
                           x0=GaussianInput(0.5), depths=depths, n_samples=96, seed=2, width=2,
                           weight_exponent=gi.weight_exponent, refine=3)
    good, bad = table.means["grad-input"], table.means["grad-input:no-ito"]
    assert good[-1] < good[0] / 2  # ~ L^(-1/2): 8x deeper, about 2.8x smaller
    assert bad[-1] > 3 * good[-1] and bad[-1] > 0.6 * bad[0]  # no convergence
    assert table.meta["limit_solver"] == "EulerMaruyama" and table.n_fine == 256 * 8


def test_argument_errors_name_the_fix():
    fv = _scalar_r5()
    laws = {"A": brownian_weights(1.0)}
    kw = dict(alpha=0.0, limit=fv, x0=GaussianInput(), depths=(4, 8, 16), n_samples=4,
              seed=0, width=1)
    with pytest.raises(ValueError, match="block I gradients need 'A'"):
        gradient_table(torch.tanh, weights={"V": brownian_weights()}, **kw)
    with pytest.raises(ValueError, match="only Brownian"):
        gradient_table(torch.tanh, weights={"A": WeightLaw(rough=FractionalBrownian(0.7))},
                       **kw)
    with pytest.raises(ValueError, match="no rough part"):
        gradient_table(torch.tanh, weights={"A": smooth_weights()}, **kw)
    with pytest.raises(ValueError, match="loss vector"):
        gradient_table(torch.tanh, weights=laws, loss=[1.0, 2.0], **kw)
    with pytest.raises(ValueError, match="loss="):
        gradient_table(torch.tanh, weights=laws, loss="cross-entropy", **kw)
    with pytest.raises(ValueError, match="power of two"):
        gradient_table(torch.tanh, weights=laws, **{**kw, "depths": (4, 6)})
    with pytest.raises(ValueError, match="q_variance"):
        FirstVariation(drift=_zero, drift_a=1.0, drift_q=0.5, weight_density=_zero)
    with pytest.raises(ValueError, match="noise_col"):
        FirstVariation(drift=_zero, drift_a=1.0, drift_q=None, weight_density=_zero,
                       noise_col=lambda h: h)
    with pytest.raises(ValueError, match="A has shape"):
        network_gradients(torch.tanh, torch.zeros(3, 2, 2), torch.zeros(2, 3), alpha=1.0)


def test_overflow_is_flagged_not_raised():
    fv = FirstVariation(drift=lambda a, q: a, drift_a=1.0, drift_q=None,
                        weight_density=lambda a, q: torch.ones_like(a))
    big = smooth_weights(DeterministicPath(lambda t: 40.0 * torch.eye(2, dtype=F64)))
    table = gradient_table(lambda z: z, alpha=1.0, weights={"A": big}, limit=fv,
                           x0=GaussianInput(), depths=(4, 8, 16), n_samples=3, seed=0, width=2,
                           overflow_threshold=1e3)
    assert table.overflow.all() and table.limit_overflow.all()
    assert np.isnan(table.samples["grad-input"]).all() and math.isnan(table.means["grad-input"][0])
