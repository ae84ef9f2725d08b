"""CPU and CUDA give the same results within round-off (noise drawn on the CPU generator)."""

from __future__ import annotations

import pytest
import torch

from numerics import (
    EulerMaruyama,
    FourierSeries,
    GaussianInput,
    LimitSpec,
    MatrixNoise,
    Smooth,
    WeightLaw,
    brownian_weights,
    iid_gaussian,
    run_ladder,
)
from numerics.laws import Brownian

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
]


@pytest.mark.parametrize("block", ["I", "O"])
def test_cpu_and_cuda_agree_to_round_off(block: str) -> None:
    mixed = WeightLaw(rough=Brownian(beta=0.5), smooth=Smooth(FourierSeries(3), beta=0.5))
    weights = (
        {"A": mixed, "b": brownian_weights()} if block == "I" else {"V": iid_gaussian(), "W": mixed}
    )
    src = "A" if block == "I" else "V"
    lim = LimitSpec(EulerMaruyama(), noise=MatrixNoise(u=lambda t, h: torch.tanh(h), source=src))
    kw = dict(
        alpha=0.0 if block == "I" else 0.5,
        weights=weights,
        x0=GaussianInput(),
        width=8,
        depths=(16, 32, 64, 128),
        n_samples=256,
        seed=7,
        limit=lim,
    )
    cpu = run_ladder(block, torch.tanh, device="cpu", **kw)
    gpu = run_ladder(block, torch.tanh, device="cuda", **kw)
    assert gpu.device.startswith("cuda")
    torch.testing.assert_close(gpu.final, cpu.final, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(gpu.coarse, cpu.coarse, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(gpu.limit_final, cpu.limit_final, rtol=1e-10, atol=1e-12)


def test_native_cuda_noise_runs_and_differs() -> None:
    kw = dict(
        alpha=0.0,
        weights={"A": brownian_weights()},
        x0=GaussianInput(),
        width=4,
        depths=(8, 16),
        n_samples=64,
        seed=1,
    )
    a = run_ladder("I", torch.tanh, device="cuda", noise_device="native", **kw)
    b = run_ladder("I", torch.tanh, device="cuda", noise_device="native", **kw)
    c = run_ladder("I", torch.tanh, device="cuda", **kw)
    assert torch.equal(a.final, b.final) and not torch.allclose(a.final, c.final)
