r"""The fused ladder kernel: draw, dyadic sums and every depth's step for a block of samples.

For block I with ``tanh`` and Brownian weights ``A`` (no smooth part, no bias), optionally with
the linear limit SDE ``dH = dW_t H`` by Euler-Maruyama on the fine grid on the same path, the
kernel walks one block of :data:`numerics.blocked.SAMPLE_BLOCK` samples through all ``N`` fine
steps: it draws the step's ``B d^2`` normals from the block's numpy generator (numba's
``Generator`` is numpy's, bit for bit), forms the dyadic tree of pairwise sums (first + second,
as :class:`numerics.noise.DyadicSplitter`) and advances every depth whose increment completes:

.. math:: h_{k+1} = h_k + L^{-\alpha} \tanh(c_L A^{(L)}_k h_k), \qquad
          H_{j+1} = H_j + \Delta_j H_j .

Everything a block touches (``(log2(N/L_min) + 1) B d^2`` increments, the states) stays in
cache; nothing of size ``N`` is ever stored. The numbers are those of
``run_ladder(..., stream="numpy", draw_dtype=float64)`` (the pure torch fallback) up to
round-off: the draws and the dyadic sums are identical, the mat-vec and ``tanh`` may differ in
the last bits (sequential sum, libm ``tanh``).

:func:`fused_available` says whether numba imports; :func:`run_fused` runs the kernel when it
does and the workload is supported, else the torch fallback, and records which in ``meta``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from numerics.blocked import SAMPLE_BLOCK, block_generators
from numerics.laws import Brownian, InputLaw, WeightLaw
from numerics.solvers import EulerMaruyama, LimitSpec, MatrixNoise

__all__ = ["fused_available", "fused_unsupported", "linear_u", "run_fused"]


def linear_u(t: float, h: Tensor) -> Tensor:
    """``u(t, h) = h``: the noise of ``dH = dW_t H``; the kernel recognises this function."""
    return h


try:  # numba is optional: without it the fallback runs
    import numba as _numba
except ImportError:  # pragma: no cover - exercised where numba is absent
    _numba = None


def fused_available() -> bool:
    """True when numba imports (the kernel can run)."""
    return _numba is not None


def fused_unsupported(block: str, sigma, weights: Mapping[str, WeightLaw],
                      limit: LimitSpec | None) -> str | None:
    """Why the kernel cannot run this workload (``None``: it can)."""
    if block != "I":
        return f"block={block!r}: the kernel does block I only"
    if sigma is not torch.tanh:
        return "sigma is not torch.tanh"
    if set(weights) != {"A"}:
        return f"weights {sorted(weights)}: the kernel takes A only (no bias)"
    law = weights["A"]
    if law.smooth is not None or not isinstance(law.rough, Brownian):
        return "weights['A'] must be Brownian without a smooth part"
    if limit is not None:
        noise = limit.noise
        if not (isinstance(limit.solver, EulerMaruyama) and limit.drift is None
                and limit.drift_from_weights is None and isinstance(noise, MatrixNoise)
                and noise.u is linear_u and noise.source == "A"):
            return "limit must be EulerMaruyama of dH = dW H (MatrixNoise(linear_u, 'A'))"
    return None


def _kernel_py(rng, x0, b0, levels, deltas, scales, per_coarse, n_levels, std, with_limit,
               fine_per_coarse, coarse, peak, lcoarse, lpeak):  # pragma: no cover - jitted
    """One block: samples ``b0 .. b0 + B`` of the outputs (see module docstring)."""
    nb, d = x0.shape
    nd = levels.shape[0]
    n_fine = (coarse.shape[1] - 1) * fine_per_coarse
    h = np.empty((nd, nb, d))
    pk = np.empty((nd, nb))
    for i in range(nd):
        for b in range(nb):
            m = 0.0
            for p in range(d):
                h[i, b, p] = x0[b, p]
                a = abs(x0[b, p])
                if m == m and not (a <= m):
                    m = a
            pk[i, b] = m
    lh = x0.copy()
    lpk = pk[0].copy()
    cur = np.empty((n_levels + 1, nb, d, d))
    pend = np.empty((n_levels + 1, nb, d, d))
    pre = np.empty(d)
    for j in range(n_fine):
        for b in range(nb):
            for p in range(d):
                for q in range(d):
                    cur[0, b, p, q] = rng.standard_normal() * std
        lev = 0
        while True:
            for i in range(nd):
                if levels[i] != lev:
                    continue
                c, delta = scales[i], deltas[i]
                k = (j >> lev) + 1
                for b in range(nb):
                    for p in range(d):
                        acc = 0.0
                        for q in range(d):
                            acc += cur[lev, b, p, q] * h[i, b, q]
                        pre[p] = acc * c
                    m = pk[i, b]
                    for p in range(d):
                        v = h[i, b, p] + delta * np.tanh(pre[p])
                        h[i, b, p] = v
                        a = abs(v)
                        if m == m and not (a <= m):
                            m = a
                    pk[i, b] = m
                    if k % per_coarse[i] == 0:
                        for p in range(d):
                            coarse[i, k // per_coarse[i], b0 + b, p] = h[i, b, p]
            if with_limit and lev == 0:
                for b in range(nb):
                    for p in range(d):
                        acc = 0.0
                        for q in range(d):
                            acc += cur[0, b, p, q] * lh[b, q]
                        pre[p] = lh[b, p] + acc
                    m = lpk[b]
                    for p in range(d):
                        lh[b, p] = pre[p]
                        a = abs(pre[p])
                        if m == m and not (a <= m):
                            m = a
                    lpk[b] = m
                    if (j + 1) % fine_per_coarse == 0:
                        for p in range(d):
                            lcoarse[(j + 1) // fine_per_coarse, b0 + b, p] = lh[b, p]
            if lev == n_levels:
                break
            if ((j >> lev) & 1) == 0:
                pend[lev] = cur[lev]
                break
            for b in range(nb):
                for p in range(d):
                    for q in range(d):
                        cur[lev + 1, b, p, q] = pend[lev, b, p, q] + cur[lev, b, p, q]
            lev += 1
    for i in range(nd):
        for b in range(nb):
            peak[i, b0 + b] = pk[i, b]
    for b in range(nb):
        lpeak[b0 + b] = lpk[b]


_kernel = None


def _jitted():
    global _kernel
    if _kernel is None:
        _kernel = _numba.njit(nogil=True, cache=True)(_kernel_py)
    return _kernel


def run_fused(*, alpha: float, weights: Mapping[str, WeightLaw], x0: InputLaw | Tensor,
              depths: Sequence[int], n_samples: int, seed: int, width: int | None = None,
              limit: LimitSpec | None = None, refine: int = 0,
              overflow_threshold: float = 1e8, backend: str = "auto"):
    """The B1 workload (block I, tanh) on the numpy stream: the kernel, or the fallback.

    ``backend``: ``"numba"`` (raise if unavailable or unsupported), ``"torch"``
    (``run_ladder(stream="numpy")``) or ``"auto"`` (the kernel when it can run). Returns a
    :class:`numerics.ladder.LadderResult` (``meta["backend"]`` says which ran).
    """
    from numerics.config import resolve_x0 as _resolve_x0
    from numerics.ladder import LadderResult, run_ladder, validate_depths

    if backend not in ("auto", "numba", "torch"):
        raise ValueError(f"backend={backend!r}; use 'auto', 'numba' or 'torch'")
    why = fused_unsupported("I", torch.tanh, weights, limit)
    if why is None and not fused_available():
        why = "numba is not installed (pip install numba)"
    if backend == "numba" and why is not None:
        raise ValueError(f"backend='numba' cannot run: {why}; use backend='auto' or 'torch'")
    if backend == "torch" or why is not None:
        res = run_ladder("I", torch.tanh, alpha=alpha, weights=weights, x0=x0, depths=depths,
                         n_samples=n_samples, seed=seed, width=width, limit=limit,
                         refine=refine, device="cpu", draw_dtype=torch.float64,
                         overflow_threshold=overflow_threshold, stream="numpy")
        res.meta["backend"] = "torch" if why is None else f"torch ({why})"
        return res
    t_start = time.perf_counter()
    ladder, n_fine = validate_depths(depths, refine)
    x0_cpu, width = _resolve_x0(x0, n_samples, width, seed)
    x = x0_cpu.numpy()
    law = weights["A"]
    var = 1.0 / width if law.rough.variance is None else law.rough.variance
    l_min, m, nd = ladder[0], n_samples, len(ladder)
    n_levels = int(math.log2(n_fine // l_min))
    levels = np.array([int(math.log2(n_fine // L)) for L in ladder], dtype=np.int64)
    deltas = np.array([float(L) ** (-alpha) for L in ladder])
    scales = np.array([law.rough_scale(L) for L in ladder])
    per_coarse = np.array([L // l_min for L in ladder], dtype=np.int64)
    coarse = np.empty((nd, l_min + 1, m, width))
    coarse[:, 0] = x
    lcoarse = np.empty((l_min + 1, m, width))
    lcoarse[0] = x
    peak, lpeak = np.empty((nd, m)), np.empty(m)
    kernel = _jitted()
    std = math.sqrt(var / n_fine)
    for b, g in enumerate(block_generators(seed, "A", m)):
        b0 = b * SAMPLE_BLOCK
        xb = np.ascontiguousarray(x[b0: b0 + SAMPLE_BLOCK])
        kernel(g, xb, b0, levels, deltas, scales, per_coarse, n_levels, std, limit is not None,
               n_fine // l_min, coarse, peak, lcoarse, lpeak)
    peak_t = torch.from_numpy(peak)
    lc = torch.from_numpy(lcoarse) if limit is not None else None
    lp = torch.from_numpy(lpeak) if limit is not None else None
    return LadderResult(
        depths=ladder, x0=x0_cpu, final=torch.from_numpy(coarse[:, -1].copy()),
        coarse=torch.from_numpy(coarse),
        coarse_times=torch.arange(l_min + 1, dtype=torch.float64) / l_min,
        peak=peak_t, overflow=~(peak_t <= overflow_threshold),
        limit_final=None if lc is None else lc[-1].clone(), limit_coarse=lc, limit_peak=lp,
        limit_overflow=None if lp is None else ~(lp <= overflow_threshold),
        seed=seed, n_samples=m, width=width, n_fine=n_fine, device="cpu", dtype="float64",
        draw_dtype="float64", wall_time_s=time.perf_counter() - t_start,
        overflow_threshold=float(overflow_threshold),
        meta={"block": "I", "alpha": float(alpha), "refine": refine, "stream": "numpy",
              "backend": "numba", "limit_solver": None if limit is None else repr(limit.solver)},
    )
