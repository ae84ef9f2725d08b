r"""Batched ResNet forward for every depth of a ladder, in one streaming pass over the fine grid.

Blocks (``delta_L = L^{-alpha}``, ``sigma`` elementwise, ``t_k = k / L``):

* ``"I"``: :math:`h_{k+1} = h_k + \delta_L\,\sigma(A_k h_k + b_k)` (weights ``A``, optional
  bias ``b``);
* ``"O"``: :math:`h_{k+1} = h_k + \delta_L\,V_k\,\sigma(W_k h_k)` (weights ``V``, ``W``);
* ``"S"``: :math:`h_{k+1} = h_k + \delta_L\,V_k\,\sigma(h_k)` (weight ``V``).

Each weight follows its :class:`numerics.laws.WeightLaw`:
:math:`A^{(L)}_k = L^{-\beta_s}\bar A(t_k) + L^{H-\beta_r}\Delta^{(L)}_k B` with its own path
``B`` (independent across weight names). With depths ``L_min = L_0 < ... < L_max`` (every
``L_max / L`` a power of two) the fine grid has ``N = L_max 2^{refine}`` steps; the pass draws
the ``N`` fine increments of each path chunk by chunk (:mod:`numerics.noise`), forms the
increments of every depth by the dyadic tree of pairwise sums, and advances each depth's
``M`` samples by one layer whenever one of its increments completes. A limit solver
(:class:`numerics.solvers.LimitSpec`) is advanced on the fine grid in the same pass, on the same
fine increments. Cost ~ drawing ``N M d^2`` normals once per rough path plus ``2N`` batched
layer updates; memory independent of ``N``.

States are recorded on the coarse grid ``t_m = m / L_min`` (``m = 0..L_min``) for every depth
and for the limit. Overflow: a sample is flagged when ``max_i |h_i|`` exceeds
``overflow_threshold`` or is not finite after *any* layer (a running maximum, NaN-propagating);
flagged samples keep being computed (no exception is ever raised for them).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from numerics._util import (
    is_power_of_two,
    make_generator,
    matvec,
    resolve_device,
    resolve_dtype,
)
from numerics.blocked import STREAMS, BlockedNumpyPath
from numerics.fbm import FractionalPath
from numerics.laws import Brownian, FractionalBrownian, InputLaw, WeightLaw
from numerics.noise import DEFAULT_CHUNK_STEPS, BrownianPath, DyadicSplitter, FineIncrementSource
from numerics.smooth import SmoothPath, sample_smooth
from numerics.solvers import Exact, LimitSpec, ODESolver, SDESolver

__all__ = [
    "BLOCKS",
    "LadderResult",
    "run_ladder",
    "weights_at_depth",
    "validate_depths",
    "auto_chunk_steps",
]

# block -> (required weight names, optional weight names)
BLOCKS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "I": (frozenset({"A"}), frozenset({"b"})),
    "O": (frozenset({"V", "W"}), frozenset()),
    "S": (frozenset({"V"}), frozenset()),
}


def _weight_shape(name: str, width: int) -> tuple[int, ...]:
    return (width,) if name == "b" else (width, width)


@dataclass(frozen=True, eq=False)
class LadderResult:
    """Raw output of :func:`run_ladder` (tensors on CPU).

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


def validate_depths(depths: Sequence[int], refine: int = 0) -> tuple[tuple[int, ...], int]:
    """Sorted ladder and fine-grid size ``N = max(depths) * 2**refine``; raises if a depth does
    not divide ``max(depths)`` by a power of two."""
    ds = [int(x) for x in depths]
    if not ds:
        raise ValueError("depths=() is empty; pass e.g. depths=(16, 32, 64)")
    if any(x < 1 for x in ds) or any(x != y for x, y in zip(ds, depths, strict=True)):
        raise ValueError(f"depths={tuple(depths)} must be positive integers")
    if len(set(ds)) != len(ds):
        raise ValueError(f"depths={tuple(depths)} has repeated depths")
    ds.sort()
    top = ds[-1]
    bad = [x for x in ds if top % x or not is_power_of_two(top // x)]
    if bad:
        raise ValueError(
            f"depths={tuple(depths)}: max depth {top} / depth must be a power of two, not for "
            f"{bad}; use a dyadic ladder such as (16, 32, 64, ...)"
        )
    if refine < 0:
        raise ValueError(f"refine={refine} must be >= 0 (fine grid = max depth * 2**refine)")
    return tuple(ds), top * 2**refine


def _make_rough_path(
    name: str,
    law: WeightLaw,
    shape: tuple[int, ...],
    *,
    width: int,
    n_samples: int,
    n_fine: int,
    seed: int,
    dtype: torch.dtype,
    draw_dtype: torch.dtype,
    device: torch.device,
    noise_device: str,
    stream: str = "torch",
) -> FineIncrementSource:
    rough = law.rough
    assert rough is not None
    variance = 1.0 / width if rough.variance is None else rough.variance
    if isinstance(rough, Brownian):
        return _brownian(stream, n_samples=n_samples, shape=shape, n_steps=n_fine,
                         variance=variance, seed=seed, key=name, dtype=dtype,
                         draw_dtype=draw_dtype, device=device, noise_device=noise_device)
    if isinstance(rough, FractionalBrownian):
        return FractionalPath(
            n_samples=n_samples,
            shape=shape,
            n_steps=n_fine,
            hurst=rough.hurst,
            variance=variance,
            seed=seed,
            key=name,
            dtype=dtype,
            device=device,
        )
    raise TypeError(f"weights[{name!r}].rough={rough!r} is not Brownian/FractionalBrownian")


def _brownian(stream: str, **kw: Any) -> FineIncrementSource:
    """The Brownian path of ``stream`` (:data:`numerics.blocked.STREAMS`)."""
    if stream == "torch":
        return BrownianPath(**kw)
    if stream == "numpy":
        kw.pop("noise_device")
        if kw.pop("draw_dtype") != torch.float64:
            raise ValueError("stream='numpy' draws float64 only; pass draw_dtype=torch.float64")
        return BlockedNumpyPath(**kw)
    raise ValueError(f"stream={stream!r}; use one of {STREAMS}")


CHUNK_BYTES = 64 * 2**20  # auto chunk: at most this many bytes of float64 increments per path


def auto_chunk_steps(n_samples: int, numel: int, itemsize: int = 8) -> int:
    """Largest power of two <= DEFAULT_CHUNK_STEPS with ``chunk * M * numel * itemsize`` within
    ``CHUNK_BYTES`` (at least 1). Results never depend on the chunk size."""
    c = DEFAULT_CHUNK_STEPS
    while c > 1 and c * n_samples * numel * itemsize > CHUNK_BYTES:
        c //= 2
    return c


def _chunk_len(n_fine: int, chunk_steps: int) -> int:
    if not is_power_of_two(chunk_steps):
        raise ValueError(f"chunk_steps={chunk_steps} must be a power of two")
    c = 1
    while c < chunk_steps and n_fine % (2 * c) == 0:
        c *= 2
    return c


def coupled_smooth_path(law: WeightLaw, name: str, *, seed: int, n_samples: int,
                        shape: tuple[int, ...], width: int, dtype: torch.dtype,
                        device: torch.device) -> SmoothPath:
    """The smooth part ``Mbar`` of weight ``name``: one random function per sample from the
    stream ``(seed, "smooth", name)``, entry variance 1/width unless the process sets one.
    Every consumer (the ladder, :func:`weights_at_depth`, the gradient ladder) draws it here,
    so that all depths and the limit see the same Mbar."""
    return sample_smooth(law.smooth.process, n_samples=n_samples, shape=shape,
                         default_variance=1.0 / width,
                         generator=make_generator(seed, "smooth", name), dtype=dtype,
                         device=device)


def weights_at_depth(
    law: WeightLaw,
    depth: int,
    *,
    name: str = "A",
    width: int,
    n_samples: int,
    seed: int,
    n_fine: int,
    dtype: torch.dtype | str = torch.float64,
    draw_dtype: torch.dtype | str = torch.float32,
    device: str | torch.device | None = "cpu",
    noise_device: str = "cpu",
    chunk_steps: int | None = None,
) -> Tensor:
    r"""All weights ``A^{(L)}_k``, ``k < L``, of weight ``name`` at ``depth`` L: shape
    ``(L, M, *shape)``, exactly the numbers :func:`run_ladder` uses with the same ``seed``,
    ``n_fine`` (= max depth * 2**refine), ``n_samples``, ``width``, dtypes and ``noise_device``.

    For tests and small cases (memory ``L M d^2``). With ``beta_r = 1/2`` and no smooth part
    these are the raw increments and ``weights_at_depth(L) == block_sums(weights_at_depth(2L),
    2)`` bit for bit.
    """
    dtype = resolve_dtype(dtype)
    draw_dtype = resolve_dtype(draw_dtype, "draw_dtype")
    dev = resolve_device(device)
    if n_fine % depth or not is_power_of_two(n_fine // depth):
        raise ValueError(f"n_fine={n_fine} / depth={depth} must be a power of two")
    shape = _weight_shape(name, width)
    level = int(math.log2(n_fine // depth))
    out = torch.zeros((depth, n_samples, *shape), dtype=dtype, device=dev)
    if law.rough is not None:
        path = _make_rough_path(
            name,
            law,
            shape,
            width=width,
            n_samples=n_samples,
            n_fine=n_fine,
            seed=seed,
            dtype=dtype,
            draw_dtype=draw_dtype,
            device=dev,
            noise_device=noise_device,
        )
        splitter = DyadicSplitter(level)
        if chunk_steps is None:
            chunk_steps = auto_chunk_steps(n_samples, math.prod(shape))
        chunks = path.chunks(_chunk_len(n_fine, chunk_steps))
        parts = [splitter.split(ch)[level].clone() for ch in chunks]
        out = out + law.rough_scale(depth) * torch.cat(parts, dim=0)
    if law.smooth is not None:
        sm = coupled_smooth_path(law, name, seed=seed, n_samples=n_samples, shape=shape,
                                 width=width, dtype=dtype, device=dev)
        times = torch.arange(depth, dtype=torch.float64, device=dev) / depth
        out = out + law.smooth_scale(depth) * sm.values(times)
    return out


class _Weight:
    """Per-depth view of one weight: rough scale, smooth scale, smooth path."""

    def __init__(self, law: WeightLaw, depth: int, smooth: SmoothPath | None) -> None:
        self.c = law.rough_scale(depth) if law.rough is not None else None
        self.s = law.smooth_scale(depth) if law.smooth is not None else None
        self.smooth = smooth


def _apply(w: _Weight, rough: Tensor | None, smooth: Tensor | None, x: Tensor) -> Tensor:
    """``(c * rough + s * smooth) @ x`` without forming the matrix."""
    out: Tensor | None = None
    if rough is not None:
        out = matvec(rough, x)
        if w.c != 1.0:
            out = out.mul_(w.c)
    if smooth is not None:
        y = matvec(smooth, x)
        out = y.mul_(w.s) if out is None else out.add_(y, alpha=w.s)
    assert out is not None
    return out


def _add_vec(w: _Weight, rough: Tensor | None, smooth: Tensor | None, pre: Tensor) -> Tensor:
    if rough is not None:
        pre = pre.add_(rough, alpha=w.c)
    if smooth is not None:
        pre = pre.add_(smooth, alpha=w.s)
    return pre


def _layer_fn(
    block: str, sigma: Callable[[Tensor], Tensor], delta: float, ws: Mapping[str, _Weight]
) -> Callable[[Tensor, Mapping[str, Tensor | None], Mapping[str, Tensor | None]], Tensor]:
    if block == "I":
        wa, wb = ws["A"], ws.get("b")

        def layer_i(h: Tensor, r: Mapping[str, Tensor | None], s: Mapping[str, Tensor | None]):
            pre = _apply(wa, r["A"], s["A"], h)
            if wb is not None:
                pre = _add_vec(wb, r["b"], s["b"], pre)
            return torch.add(h, sigma(pre), alpha=delta)

        return layer_i
    if block == "O":
        wv, ww = ws["V"], ws["W"]

        def layer_o(h: Tensor, r: Mapping[str, Tensor | None], s: Mapping[str, Tensor | None]):
            u = sigma(_apply(ww, r["W"], s["W"], h))
            return torch.add(h, _apply(wv, r["V"], s["V"], u), alpha=delta)

        return layer_o
    wv = ws["V"]

    def layer_s(h: Tensor, r: Mapping[str, Tensor | None], s: Mapping[str, Tensor | None]):
        return torch.add(h, _apply(wv, r["V"], s["V"], sigma(h)), alpha=delta)

    return layer_s


def _resolve_x0(
    x0: InputLaw | Tensor, n_samples: int, width: int | None, seed: int
) -> tuple[Tensor, int]:
    if isinstance(x0, Tensor):
        x = x0.detach().to(device="cpu", dtype=torch.float64)
        if x.ndim == 1:
            x = x.expand(n_samples, x.shape[0]).clone()
        if x.ndim != 2 or x.shape[0] != n_samples:
            raise ValueError(
                f"x0 has shape {tuple(x0.shape)}; expected (d,) or (n_samples={n_samples}, d)"
            )
        if width is not None and x.shape[1] != width:
            raise ValueError(f"x0 has width {x.shape[1]} but width={width}")
        return x, x.shape[1]
    if isinstance(x0, InputLaw):
        if width is None:
            raise ValueError("x0 is an input law: pass width=<d>")
        return x0.sample(n_samples, width, make_generator(seed, "x0")), width
    raise TypeError(f"x0={x0!r} must be a Tensor (d,) / (M, d) or an InputLaw")


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
    """Simulate ``n_samples`` ResNets of every depth in ``depths`` (and the limit) on one path.

    Args:
        block: ``"I"``, ``"O"`` or ``"S"`` (module docstring).
        sigma: elementwise activation, a plain torch callable.
        alpha: residual scaling exponent, ``delta_L = L^{-alpha}``.
        weights: ``{"A": law}`` (+ optional ``"b"``) for I, ``{"V", "W"}`` for O, ``{"V"}`` for S.
        x0: an :class:`numerics.laws.InputLaw` (drawn from stream ``(seed, "x0")``, needs
            ``width``) or a tensor ``(d,)``/``(M, d)``.
        depths: dyadic ladder, e.g. ``(16, 32, ..., 4096)``.
        n_samples: Monte-Carlo samples ``M``.
        seed: master seed; every random draw derives from it.
        limit: optional limit solved on the fine grid on the same path.
        refine: fine grid ``N = max(depths) * 2**refine``.
        device: ``None`` = CUDA if available, else CPU.
        dtype: state and accumulation dtype (float64 default).
        draw_dtype: dtype of the standard normals (float32 default; ``torch.float64`` for
            float64 draws); sums are always in ``dtype``.
        noise_device: ``"cpu"`` (draws on CPU generators, same numbers on every device) or
            ``"native"`` (draws on ``device``: faster on CUDA, different numbers).
        overflow_threshold: ``max_i |h_i|`` above this (or non-finite) flags the sample.
        chunk_steps: fine steps per drawn chunk (power of two; results do not depend on it);
            ``None``: the largest power of two <= 16 keeping one path's chunk within 64 MiB.
            Memory ~ (2 chunk + 2 log2(L_max / L_min)) M d^2 floats per rough path.
        stream: random stream of the Brownian paths: ``"torch"`` (default) or ``"numpy"``
            (:mod:`numerics.blocked`, float64 draws only; the stream of the fused kernel).
    """
    t_start = time.perf_counter()
    if block not in BLOCKS:
        raise ValueError(f"block={block!r}; use one of {sorted(BLOCKS)}")
    if not callable(sigma):
        raise TypeError(f"sigma={sigma!r} must be a callable Tensor -> Tensor")
    if not math.isfinite(alpha):
        raise ValueError(f"alpha={alpha} must be finite")
    required, optional = BLOCKS[block]
    names = set(weights)
    if not required <= names or not names <= required | optional:
        raise ValueError(
            f"block={block!r} takes weights {sorted(required)} (optional {sorted(optional)}); "
            f"got {sorted(names)}"
        )
    for nm, law in weights.items():
        if not isinstance(law, WeightLaw):
            raise TypeError(f"weights[{nm!r}]={law!r} must be a WeightLaw")
    if n_samples < 1:
        raise ValueError(f"n_samples={n_samples} must be >= 1")
    if not overflow_threshold > 0:
        raise ValueError(f"overflow_threshold={overflow_threshold} must be > 0")
    if limit is not None and not isinstance(limit, LimitSpec):
        raise TypeError(f"limit={limit!r} must be a LimitSpec or None")
    ladder, n_fine = validate_depths(depths, refine)
    dtype = resolve_dtype(dtype)
    draw_dtype = resolve_dtype(draw_dtype, "draw_dtype")
    dev = resolve_device(device)
    x0_cpu, width = _resolve_x0(x0, n_samples, width, seed)
    x0_t = x0_cpu.to(device=dev, dtype=dtype)
    m = n_samples
    l_min = ladder[0]
    n_levels = int(math.log2(n_fine // l_min))
    if chunk_steps is None:
        chunk_steps = auto_chunk_steps(m, width * width)
    chunk = _chunk_len(n_fine, chunk_steps)

    # --- paths and smooth functions ------------------------------------------------------
    path_kw: dict[str, Any] = dict(
        width=width,
        n_samples=m,
        n_fine=n_fine,
        seed=seed,
        dtype=dtype,
        draw_dtype=draw_dtype,
        device=dev,
        noise_device=noise_device,
        stream=stream,
    )
    paths: dict[str, FineIncrementSource] = {}
    splitters: dict[str, DyadicSplitter] = {}
    smooth: dict[str, SmoothPath] = {}
    for nm in sorted(weights):
        law = weights[nm]
        shape = _weight_shape(nm, width)
        if law.rough is not None:
            paths[nm] = _make_rough_path(nm, law, shape, **path_kw)
            splitters[nm] = DyadicSplitter(n_levels)
        if law.smooth is not None:
            smooth[nm] = coupled_smooth_path(law, nm, seed=seed, n_samples=m, shape=shape,
                                             width=width, dtype=dtype, device=dev)

    # --- limit --------------------------------------------------------------------------
    lim_source: str | None = None
    lim_var = 1.0
    lim_drift = None
    if limit is not None:
        solver = limit.solver
        if isinstance(solver, Exact):
            lim_source = solver.source
        elif limit.noise is not None:
            lim_source = limit.noise.source
        if lim_source is not None:
            if lim_source in weights:
                if lim_source not in paths:
                    raise ValueError(
                        f"limit noise source={lim_source!r} has no rough part in its weight "
                        "law; give it rough=Brownian(...) or use an independent source name"
                    )
                p = paths[lim_source]
                if p.hurst != 0.5:
                    raise ValueError(
                        f"limit noise source={lim_source!r} is fractional (H={p.hurst}); "
                        "the SDE solvers need a Brownian driver"
                    )
                lim_var = p.variance
            else:
                noise = None if isinstance(solver, Exact) else limit.noise
                if noise is not None:
                    shape = noise.path_shape(width)
                    var = noise.variance
                else:
                    shape = (width, width)
                    var = getattr(solver, "variance", None)
                if var is None:
                    var = 1.0 / width
                key = "limit:" + lim_source
                paths[key] = _brownian(
                    stream,
                    n_samples=m,
                    shape=shape,
                    n_steps=n_fine,
                    variance=var,
                    seed=seed,
                    key=key,
                    dtype=dtype,
                    draw_dtype=draw_dtype,
                    device=dev,
                    noise_device=noise_device,
                )
                splitters[key] = DyadicSplitter(n_levels)
                lim_source = key
                lim_var = var
        if limit.drift_from_weights is not None:
            lim_drift = limit.drift_from_weights(dict(smooth))
        else:
            lim_drift = limit.drift

    # --- per-depth state ------------------------------------------------------------------
    n_d = len(ladder)
    coarse = torch.empty((n_d, l_min + 1, m, width), dtype=dtype, device=dev)
    coarse[:, 0] = x0_t
    states = [x0_t.clone() for _ in ladder]
    peaks = [x0_t.abs().amax(-1) for _ in ladder]
    levels = [int(math.log2(n_fine // d)) for d in ladder]
    layer_fns = []
    for d in ladder:
        ws = {nm: _Weight(weights[nm], d, smooth.get(nm)) for nm in weights}
        layer_fns.append(_layer_fn(block, sigma, float(d) ** (-alpha), ws))

    lim_h = x0_t.clone() if limit is not None else None
    lim_peak = x0_t.abs().amax(-1) if limit is not None else None
    lim_coarse = None
    if limit is not None:
        lim_coarse = torch.empty((l_min + 1, m, width), dtype=dtype, device=dev)
        lim_coarse[0] = x0_t
    w_run: Tensor | None = None  # running W_t for Exact
    exact_level = n_levels
    fine_per_coarse = n_fine // l_min
    dt = 1.0 / n_fine

    iters: dict[str, Iterator[Tensor]] = {k: p.chunks(chunk) for k, p in paths.items()}
    for q in range(n_fine // chunk):
        j0, j1 = q * chunk, (q + 1) * chunk
        split: dict[str, list[Tensor]] = {}
        for key, it in iters.items():
            split[key] = splitters[key].split(next(it))
        # ResNets of every depth
        for i, d in enumerate(ladder):
            lev = levels[i]
            k0, k1 = j0 >> lev, j1 >> lev
            if k1 == k0:
                continue
            svals: dict[str, Tensor | None] = {nm: None for nm in weights}
            if smooth:
                times = torch.arange(k0, k1, dtype=torch.float64, device=dev) / d
                for nm, sp in smooth.items():
                    svals[nm] = sp.values(times)
            rvals: dict[str, Tensor | None] = {nm: None for nm in weights}
            h, peak, fn = states[i], peaks[i], layer_fns[i]
            per_coarse = d // l_min
            for kk in range(k1 - k0):
                for nm in weights:
                    if nm in split:
                        rvals[nm] = split[nm][lev][kk]
                s_k = {nm: (None if v is None else v[kk]) for nm, v in svals.items()}
                h = fn(h, rvals, s_k)
                peak = torch.maximum(peak, h.abs().amax(-1))
                k = k0 + kk + 1
                if k % per_coarse == 0:
                    coarse[i, k // per_coarse] = h
            states[i], peaks[i] = h, peak
        # limit on the fine grid
        if limit is not None:
            assert lim_h is not None and lim_peak is not None and lim_coarse is not None
            solver = limit.solver
            if isinstance(solver, Exact):
                if lim_source is not None:
                    incs = split[lim_source][exact_level]
                    for r in range(incs.shape[0]):
                        w_run = incs[r].clone() if w_run is None else w_run + incs[r]
                        mm = (j0 // fine_per_coarse) + r + 1
                        lim_coarse[mm] = solver.solution(mm / l_min, x0_t, w_run)
                else:
                    for mm in range(j0 // fine_per_coarse + 1, j1 // fine_per_coarse + 1):
                        lim_coarse[mm] = solver.solution(mm / l_min, x0_t, None)
                if j1 % fine_per_coarse == 0:
                    lim_h = lim_coarse[j1 // fine_per_coarse]
                    lim_peak = torch.maximum(lim_peak, lim_h.abs().amax(-1))
            else:
                fine = split[lim_source][0] if lim_source is not None else None
                for r in range(j1 - j0):
                    t = (j0 + r) * dt
                    if isinstance(solver, ODESolver):
                        assert lim_drift is not None
                        lim_h = solver.step(lim_drift, t, dt, lim_h)
                    else:
                        assert isinstance(solver, SDESolver)
                        dw = None if fine is None else fine[r]
                        lim_h = solver.step(lim_drift, limit.noise, t, dt, lim_h, dw, lim_var)
                    lim_peak = torch.maximum(lim_peak, lim_h.abs().amax(-1))
                    if (j0 + r + 1) % fine_per_coarse == 0:
                        lim_coarse[(j0 + r + 1) // fine_per_coarse] = lim_h

    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    final = torch.stack(states).cpu()
    peak_t = torch.stack(peaks).cpu()
    overflow = ~(peak_t <= overflow_threshold)
    lf = lp = lo = lc = None
    if limit is not None:
        assert lim_h is not None and lim_peak is not None and lim_coarse is not None
        lf = lim_h.cpu()
        lp = lim_peak.cpu()
        lo = ~(lp <= overflow_threshold)
        lc = lim_coarse.cpu()
    wall = time.perf_counter() - t_start
    return LadderResult(
        depths=ladder,
        x0=x0_cpu.to(dtype),
        final=final,
        coarse=coarse.cpu(),
        coarse_times=torch.arange(l_min + 1, dtype=torch.float64) / l_min,
        peak=peak_t,
        overflow=overflow,
        limit_final=lf,
        limit_coarse=lc,
        limit_peak=lp,
        limit_overflow=lo,
        seed=seed,
        n_samples=m,
        width=width,
        n_fine=n_fine,
        device=str(dev),
        dtype=str(dtype).removeprefix("torch."),
        draw_dtype=str(draw_dtype).removeprefix("torch."),
        wall_time_s=wall,
        overflow_threshold=float(overflow_threshold),
        meta={
            "block": block,
            "alpha": float(alpha),
            "refine": refine,
            "chunk_steps": chunk,
            "noise_device": noise_device,
            "stream": stream,
            "limit_solver": None if limit is None else repr(limit.solver),
        },
    )
