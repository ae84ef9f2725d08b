r"""The streaming loop: steppers on one driver, and the forward ladder built from them.

:func:`run` is the whole loop: for every chunk of fine steps of the driver
(:mod:`numerics.driver`), every stepper (:mod:`numerics.steppers`) takes the steps on its
dyadic level that the chunk completes, each on the increments of its own level, and a recorder
observes each new state. :func:`simulate_ladder` builds the forward experiment: a
:class:`~numerics.steppers.resnet.ResNet` stepper per depth of the :class:`~numerics.config.Ladder`
(block I, O or S), the model's limit (ODE/SDE scheme on the fine grid, or the exact solution on
the coarse grid) on the same path, and records, for every stepper, the states on the coarse
grid :math:`t_m = m / L_{\min}` and the running peak :math:`\max_k \max_i |h_{k,i}|` (NaN
propagating; a sample is flagged when it exceeds the overflow threshold or is not finite, and
keeps being computed). Cost ~ drawing ``N M d^2`` normals once per rough path plus ``2N``
batched layer updates; memory independent of ``N``. :func:`run_ladder` is the keyword form.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from numerics._util import resolve_dtype
from numerics.config import (
    BLOCKS,
    DEFAULT_EXECUTION,
    Execution,
    Ladder,
    Model,
    Sampling,
    auto_chunk_steps,
    resolve_x0,
    validate_depths,
)
from numerics.driver import Chunk, Driver, brownian_path, rough_path, smooth_paths, weight_shape
from numerics.driver import weights_at_depth as weights_at_depth
from numerics.laws import InputLaw, WeightLaw
from numerics.noise import FineIncrementSource
from numerics.solvers import Exact, LimitSpec
from numerics.steppers.base import Stepper
from numerics.steppers.limit import limit_stepper
from numerics.steppers.resnet import ResNet

__all__ = ["BLOCKS", "LadderResult", "Recorder", "auto_chunk_steps", "run", "run_ladder",
           "simulate_ladder", "validate_depths", "weights_at_depth"]


@dataclass(frozen=True, eq=False)
class LadderResult:
    """Raw output of :func:`simulate_ladder` (tensors on CPU).

    Attributes:
        depths: the ladder, ascending.
        x0: inputs ``(M, d)``.
        final: ``h_L`` for every depth, ``(n_depths, M, d)``.
        coarse: states on the coarse grid ``t_m = m / L_min``, ``(n_depths, L_min + 1, M, d)``.
        coarse_times: ``(L_min + 1,)``.
        peak: running max over layers of ``max_i |h_i|``, ``(n_depths, M)`` (NaN if non-finite).
        overflow: ``~(peak <= overflow_threshold)``, ``(n_depths, M)``.
        limit_final / limit_coarse / limit_peak / limit_overflow: the same for the limit
            (``None`` without a limit).
    """

    depths: tuple[int, ...]
    x0: Tensor
    final: Tensor
    coarse: Tensor
    coarse_times: Tensor
    peak: Tensor
    overflow: Tensor
    limit_final: Tensor | None
    limit_coarse: Tensor | None
    limit_peak: Tensor | None
    limit_overflow: Tensor | None
    seed: int
    n_samples: int
    width: int
    n_fine: int
    device: str
    dtype: str
    draw_dtype: str
    wall_time_s: float
    overflow_threshold: float
    meta: dict[str, Any] = field(default_factory=dict)


class Recorder:
    """Coarse states ``(n_steppers, L_min + 1, M, d)`` and running peaks of every stepper."""

    def __init__(self, steppers: Sequence[Stepper], x0: Tensor, n_coarse: int) -> None:
        self.per_coarse = [s.n_steps // n_coarse for s in steppers]
        self.coarse = torch.empty((len(steppers), n_coarse + 1, *x0.shape), dtype=x0.dtype,
                                  device=x0.device)
        self.coarse[:, 0] = x0
        self.peaks = [x0.abs().amax(-1) for _ in steppers]

    def observe(self, i: int, k: int, state: Tensor) -> None:
        """Stepper ``i`` has taken ``k`` steps and is at ``state``."""
        self.peaks[i] = torch.maximum(self.peaks[i], state.abs().amax(-1))
        if k % self.per_coarse[i] == 0:
            self.coarse[i, k // self.per_coarse[i]] = state


def run(steppers: Sequence[Stepper], x0: Tensor, chunks: Iterable[Chunk],
        observe: Callable[[int, int, Tensor], None] | None = None, *,
        init: bool = True) -> list[Tensor]:
    """Advance every stepper through ``chunks`` from ``x0``; ``observe(i, k, state)`` after
    step ``k - 1`` of stepper ``i``. Returns the final states. ``init=False``: ``x0`` is
    already every stepper's state (a pass resumed chunk by chunk)."""
    states = [s.init(x0) if init else x0 for s in steppers]
    for ch in chunks:
        for i, s in enumerate(steppers):
            k0, k1 = ch.j0 >> s.level, ch.j1 >> s.level
            if k1 == k0:
                continue
            s.window(k0, k1)
            incs = [(key, ch.parts[key][s.level]) for key in s.sources]
            state = states[i]
            for k in range(k0, k1):
                state = s.step(state, k, {key: v[k - k0] for key, v in incs})
                if observe is not None:
                    observe(i, k + 1, state)
            states[i] = state
    return states


def _limit_path(limit: LimitSpec, weights: Mapping[str, WeightLaw],
                paths: dict[str, FineIncrementSource], width: int,
                path_kw: dict[str, Any]) -> tuple[str | None, float]:
    """The driver key of the limit's noise and its variance; adds an independent path."""
    solver = limit.solver
    source = solver.source if isinstance(solver, Exact) else \
        (limit.noise.source if limit.noise is not None else None)
    if source is None:
        return None, 1.0
    if source in weights:
        if source not in paths:
            raise ValueError(
                f"limit noise source={source!r} has no rough part in its weight "
                "law; give it rough=Brownian(...) or use an independent source name"
            )
        p = paths[source]
        if p.hurst != 0.5:
            raise ValueError(f"limit noise source={source!r} is fractional (H={p.hurst}); "
                             "the SDE solvers need a Brownian driver")
        return source, p.variance
    noise = None if isinstance(solver, Exact) else limit.noise
    if noise is not None:
        shape, var = noise.path_shape(width), noise.variance
    else:
        shape, var = (width, width), getattr(solver, "variance", None)
    var = 1.0 / width if var is None else var
    key = "limit:" + source
    paths[key] = brownian_path(shape=shape, variance=var, key=key, **path_kw)
    return key, var


def simulate_ladder(model: Model, ladder: Ladder, sampling: Sampling,
                    execution: Execution = DEFAULT_EXECUTION) -> LadderResult:
    """Simulate ``sampling.n_samples`` ResNets of every depth of ``ladder`` and the limit on
    one coupled path (module docstring)."""
    t_start = time.perf_counter()
    depths, n_fine = ladder.depths, ladder.n_fine
    dtype = resolve_dtype(execution.dtype)
    draw_dtype = resolve_dtype(execution.draw_dtype, "draw_dtype")
    dev = execution.torch_device()
    m, seed = sampling.n_samples, sampling.seed
    x0_cpu, width = resolve_x0(sampling.inputs, m, sampling.width, seed)
    x0_t = x0_cpu.to(device=dev, dtype=dtype)
    l_min = depths[0]
    n_levels = int(math.log2(n_fine // l_min))
    weights, limit = model.weights, model.limit
    path_kw: dict[str, Any] = dict(n_samples=m, n_steps=n_fine, seed=seed, dtype=dtype,
                                   draw_dtype=draw_dtype, device=dev,
                                   noise_device=execution.noise_device)
    paths: dict[str, FineIncrementSource] = {}
    for nm in sorted(weights):
        if weights[nm].rough is not None:
            paths[nm] = rough_path(nm, weights[nm], weight_shape(nm, width), width=width,
                                   n_samples=m, n_fine=n_fine, seed=seed, dtype=dtype,
                                   draw_dtype=draw_dtype, device=dev,
                                   noise_device=execution.noise_device,
                                   stream=execution.stream)
    smooth = smooth_paths(weights, seed=seed, n_samples=m, width=width, dtype=dtype,
                          device=dev)
    steppers: list[Stepper] = [
        ResNet(model.block, model.sigma, alpha=model.alpha, depth=d, n_fine=n_fine,
               weights=weights, smooth=smooth, rough=tuple(paths), device=dev)
        for d in depths]
    if limit is not None:
        source, var = _limit_path(limit, weights, paths, width,
                                  dict(path_kw, stream=execution.stream))
        drift = limit.drift_from_weights(dict(smooth)) if limit.drift_from_weights \
            is not None else limit.drift
        steppers.append(limit_stepper(limit, drift, n_fine=n_fine, n_coarse=l_min,
                                      source=source, variance=var))
    driver = Driver.auto_chunk(paths, n_fine=n_fine, n_levels=n_levels, n_samples=m,
                               width=width, chunk_steps=execution.chunk_steps)
    rec = Recorder(steppers, x0_t, l_min)
    states = run(steppers, x0_t, driver.chunks(), rec.observe)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    nd, thr = len(depths), execution.overflow
    peak_t = torch.stack(rec.peaks[:nd]).cpu()
    lf = lp = lo = lc = None
    if limit is not None:
        lf, lp, lc = states[nd].cpu(), rec.peaks[nd].cpu(), rec.coarse[nd].cpu()
        lo = ~(lp <= thr)
    return LadderResult(
        depths=depths, x0=x0_cpu.to(dtype), final=torch.stack(states[:nd]).cpu(),
        coarse=rec.coarse[:nd].cpu(),
        coarse_times=torch.arange(l_min + 1, dtype=torch.float64) / l_min,
        peak=peak_t, overflow=~(peak_t <= thr), limit_final=lf, limit_coarse=lc,
        limit_peak=lp, limit_overflow=lo, seed=seed, n_samples=m, width=width, n_fine=n_fine,
        device=str(dev), dtype=str(dtype).removeprefix("torch."),
        draw_dtype=str(draw_dtype).removeprefix("torch."),
        wall_time_s=time.perf_counter() - t_start, overflow_threshold=float(thr),
        meta={"block": model.block, "alpha": float(model.alpha), "refine": ladder.refine,
              "chunk_steps": driver.chunk, "noise_device": execution.noise_device,
              "stream": execution.stream,
              "limit_solver": None if limit is None else repr(limit.solver),
              "steppers": [type(s).__name__ for s in steppers]},
    )


def run_ladder(
    block: str,
    sigma: Callable[[Tensor], Tensor],
    *,
    alpha: float,
    weights: Mapping[str, WeightLaw],
    x0: InputLaw | Tensor,
    depths: Sequence[int],
    n_samples: int,
    seed: int,
    width: int | None = None,
    limit: LimitSpec | None = None,
    refine: int = 0,
    device: str | torch.device | None = None,
    dtype: torch.dtype | str = torch.float64,
    draw_dtype: torch.dtype | str = torch.float32,
    noise_device: str = "cpu",
    overflow_threshold: float = 1e8,
    chunk_steps: int | None = None,
    stream: str = "torch",
) -> LadderResult:
    """The keyword form of :func:`simulate_ladder`: builds :class:`~numerics.config.Model`
    (block, sigma, alpha, weights, limit), :class:`~numerics.config.Ladder` (depths, refine),
    :class:`~numerics.config.Sampling` (n_samples, seed, x0, width) and
    :class:`~numerics.config.Execution` (device, dtype, draw_dtype, noise_device,
    overflow_threshold, chunk_steps, stream) and runs it. ``x0`` is an input law (drawn from
    the stream ``(seed, "x0")``, needs ``width``) or a tensor ``(d,)``/``(M, d)``."""
    model = Model(block=block, sigma=sigma, alpha=alpha, weights=weights, limit=limit)
    if n_samples < 1:
        raise ValueError(f"n_samples={n_samples} must be >= 1")
    execution = Execution(device=device, dtype=dtype, draw_dtype=draw_dtype,
                          noise_device=noise_device, chunk_steps=chunk_steps,
                          overflow=overflow_threshold, stream=stream)
    return simulate_ladder(model, Ladder(depths=tuple(depths), refine=refine),
                           Sampling(n_samples=n_samples, seed=seed, inputs=x0, width=width),
                           execution)
