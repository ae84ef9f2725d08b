r"""Gradients of the batched ResNet and their large-depth limits, on one coupled path.

Network (block I): :math:`h_{k+1} = h_k + L^{-\alpha}\sigma(A_k h_k + b_k)`, loss
:math:`\ell(h_L)` (``"square"``: :math:`\tfrac12|h|^2`, or a fixed linear functional
:math:`c^\top h`). For every depth of a dyadic ladder this module computes, by autograd on ONE
graph holding all ``M`` samples (loss = sum over samples; the samples share no parameter, so
one backward pass returns every per-sample gradient):

* the input gradient :math:`p_0 = \partial\ell/\partial h_0`, ``(M, d)``;
* the weight gradients :math:`\partial\ell/\partial A_k`, rescaled by :math:`L^{e}` (``e`` =
  ``weight_exponent``, alpha for the claims), at the layers :math:`k = m L / L_{\min}` of the
  coarse grid :math:`t_m = m / L_{\min}`, ``m < L_min``.

The weights are exactly those of :func:`numerics.driver.weights_at_depth` /
:func:`numerics.ladder.run_ladder` for the same seed: they come from the same driver
(:class:`numerics.driver.Driver`: the path keyed ``"A"``, the dyadic tree, the same smooth
path), so depth ``L``, ``2L`` and the limit share one path. The limit is the
:class:`numerics.steppers.variation.FirstVariationStepper`, run by :func:`numerics.ladder.run`
in the same streaming pass on the fine grid
(``N = L_max 2^refine`` steps): the state :math:`H` and its first variation
:math:`J_t = \partial H_t / \partial h_0` (``J_0 = I``),

.. math::

    dH = f(a, q)\,dt \;[+\, g\,dM_t\,c(H)], \qquad
    dJ = D_h f\,J\,dt \;[+\, g\,dM_t\,(c'(H) \odot J)], \qquad
    D_h f = \mathrm{diag}(f_a)\,\bar A(t) + f_q\,2v\,\mathbf 1 H^\top,

with ``a = Abar(t) H + bbar(t)``, ``q = v |H|^2`` (:mod:`theory.backward`), by Heun (ODE; order 2,
so the reference error is negligible against the ResNet's) or Euler-Maruyama (SDE; ``refine``
= 4 by default: 16 fine steps per layer of the deepest network, as the forward claims).
Then :math:`P_0 = J_1^\top \nabla\ell(H_1)`, :math:`P_{t_m} = J_{t_m}^{-\top} J_1^\top
\nabla\ell(H_1)` (the adjoint, :math:`J_{t\to1}^\top\nabla\ell(H_1)`), and the weight-gradient
limit :math:`G(t_m) = \mathrm{diag}(w(a_{t_m}, q_{t_m}))\,P_{t_m} H_{t_m}^\top`.

Errors (an :class:`numerics.metrics.ErrorTable`, per sample and depth):

* ``"grad-input"``: :math:`|p_0^{(L)} - P_0|`;
* ``"grad-weight"``: :math:`\max_{m < L_{\min}} \| L^{e} \partial\ell/\partial A_{mL/L_{\min}}
  - G(t_m) \|_F`;
* ``"grad-input:<v>"`` / ``"grad-weight:<v>"`` against a *variant* first variation (another
  Jacobian, e.g. without the Ito term: a control), solved on the same path beside ``J``;
* ``"grad-weight:<name>"`` for extra weight exponents (``weight_exponents``, a control of the
  scaling).

Cost: one draw of the fine path (``N M d^2`` normals), ``sum(depths)`` autograd layers, ``N``
limit steps of ``(M, d, d)`` products. Memory ``O(L_max M d^2)`` (autograd keeps the weights).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from numerics._util import resolve_device, resolve_dtype
from numerics.config import resolve_x0, validate_depths
from numerics.driver import Chunk, Driver, rough_path, smooth_paths, tap
from numerics.laws import Brownian, InputLaw, WeightLaw
from numerics.losses import LossSpec, loss_fns
from numerics.measure.adjoint import (
    LimitGradients,
    VariationRecorder,
    advance,
    network_gradients,
    solve_first_variation,
)
from numerics.metrics import ErrorTable
from numerics.smooth import SmoothPath
from numerics.steppers.variation import FirstVariation, FirstVariationStepper

__all__ = [
    "LimitGradients",
    "coupled_weights",
    "gradient_table",
    "network_gradients",
    "solve_first_variation",
]

Fn1 = Callable[[Tensor], Tensor]


def _check_weights(weights: Mapping[str, WeightLaw]) -> None:
    names = set(weights)
    if "A" not in names or names - {"A", "b"}:
        raise ValueError(f"weights={sorted(names)}: block I gradients need 'A' and optionally "
                         "'b' (blocks O and S are not supported)")
    for nm, law in weights.items():
        if law.rough is not None and not isinstance(law.rough, Brownian):
            raise ValueError(f"weights[{nm!r}].rough={law.rough!r}: only Brownian rough parts "
                             "have a strong first-variation limit here")
    if weights.get("b") is not None and weights["b"].rough is not None:
        raise ValueError("weights['b'] with a rough part is not supported (no limit noise term)")


def _mean_se(vals: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    means, ses = [], []
    for row, ok in zip(vals, valid, strict=True):
        v = row[ok]
        means.append(float(v.mean()) if v.size else math.nan)
        ses.append(float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else math.nan)
    return np.array(means), np.array(ses)


def _ro(arr: np.ndarray) -> np.ndarray:
    out = np.array(arr, copy=True)
    out.flags.writeable = False
    return out


def _block_i_pass(weights: Mapping[str, WeightLaw], ladder: tuple[int, ...], n_fine: int, *,
                  width: int, m: int, seed: int, dtype: torch.dtype, draw_dtype: torch.dtype,
                  dev: torch.device, chunk_steps: int | None,
                  on_chunk: Callable[[Mapping[str, SmoothPath]], Callable[[Chunk], None]]
                  | None = None) -> tuple[dict[str, SmoothPath], dict[int, list[Tensor]]]:
    """One pass of the driver over the path of ``A``: every depth's increments kept, and
    ``on_chunk(smooth)(chunk)`` called on each chunk (one chunk of ``n_fine`` steps when ``A``
    has no rough part)."""
    law_a = weights["A"]
    smooth = smooth_paths(weights, seed=seed, n_samples=m, width=width, dtype=dtype,
                          device=dev)
    levels = [int(math.log2(n_fine // dd)) for dd in ladder]
    incs: dict[int, list[Tensor]] = {dd: [] for dd in ladder}
    if law_a.rough is not None:
        path = rough_path("A", law_a, (width, width), width=width, n_samples=m, n_fine=n_fine,
                          seed=seed, dtype=dtype, draw_dtype=draw_dtype, device=dev)
        driver = Driver.auto_chunk({"A": path}, n_fine=n_fine, n_levels=max(levels),
                                   n_samples=m, width=width, chunk_steps=chunk_steps or None)
    else:
        driver = Driver({}, n_fine=n_fine, n_levels=max(levels), chunk=n_fine)
    consume = on_chunk(smooth) if on_chunk is not None else None

    def keep(ch: Chunk) -> None:
        if "A" in ch.parts:
            for dd, lev in zip(ladder, levels, strict=True):
                if ch.parts["A"][lev].shape[0]:
                    incs[dd].append(ch.parts["A"][lev].clone())
        if consume is not None:
            consume(ch)

    for _ in tap(driver.chunks(), keep):
        pass
    return smooth, incs


def _assemble(weights: Mapping[str, WeightLaw], ladder: tuple[int, ...],
              smooth: Mapping[str, SmoothPath], incs: dict[int, list[Tensor]], *, width: int,
              m: int, dtype: torch.dtype,
              dev: torch.device) -> dict[int, tuple[Tensor, Tensor | None]]:
    law_a, law_b = weights["A"], weights.get("b")
    out: dict[int, tuple[Tensor, Tensor | None]] = {}
    for dd in ladder:
        amat = torch.zeros((dd, m, width, width), dtype=dtype, device=dev)
        if law_a.rough is not None:
            amat = amat + law_a.rough_scale(dd) * torch.cat(incs.pop(dd), dim=0)
        times = torch.arange(dd, dtype=torch.float64, device=dev) / dd
        if law_a.smooth is not None:
            amat = amat + law_a.smooth_scale(dd) * smooth["A"].values(times)
        bvec = None
        if law_b is not None:
            bvec = torch.zeros((dd, m, width), dtype=dtype, device=dev)
            bvec = bvec + law_b.smooth_scale(dd) * smooth["b"].values(times)
        out[dd] = (amat, bvec)
    return out


def coupled_weights(
    weights: Mapping[str, WeightLaw],
    depths: Sequence[int],
    *,
    width: int,
    n_samples: int,
    seed: int,
    refine: int = 0,
    dtype: torch.dtype | str = torch.float64,
    draw_dtype: torch.dtype | str = torch.float32,
    device: str | torch.device | None = "cpu",
    chunk_steps: int | None = None,
    on_fine: Callable[[Mapping[str, SmoothPath]], Callable[[Tensor | None, int], None]]
    | None = None,
) -> dict[int, tuple[Tensor, Tensor | None]]:
    """The block I weights ``(A, b)`` of every depth, ``A``: ``(L, M, d, d)``, ``b``:
    ``(L, M, d)`` or None, in one pass over the fine path (``N = max(depths) 2^refine``).

    Bit for bit the numbers of :func:`numerics.ladder.weights_at_depth` (same streams: the
    ``BrownianPath`` keyed ``"A"``, the dyadic tree of pairwise sums, the smooth paths keyed
    ``("smooth", name)``), so all depths share one path. ``on_fine(smooth)`` is called once
    with the sampled smooth paths and returns a consumer called with every chunk of fine
    increments ``(c, M, d, d)`` (None without a rough part) and its length: the hook through
    which a limit solver walks the same path in the same pass.
    """
    _check_weights(weights)
    ladder, n_fine = validate_depths(depths, refine)
    dtype = resolve_dtype(dtype)
    draw_dtype = resolve_dtype(draw_dtype, "draw_dtype")
    dev = resolve_device(device)
    m = int(n_samples)

    def on_chunk(smooth: Mapping[str, SmoothPath]) -> Callable[[Chunk], None]:
        consume = on_fine(smooth) if on_fine is not None else None

        def feed(ch: Chunk) -> None:
            if consume is not None:
                consume(ch.parts["A"][0] if "A" in ch.parts else None, ch.j1 - ch.j0)

        return feed

    smooth, incs = _block_i_pass(weights, ladder, n_fine, width=width, m=m, seed=seed,
                                 dtype=dtype, draw_dtype=draw_dtype, dev=dev,
                                 chunk_steps=chunk_steps, on_chunk=on_chunk)
    return _assemble(weights, ladder, smooth, incs, width=width, m=m, dtype=dtype, dev=dev)


def gradient_table(
    sigma: Fn1,
    *,
    alpha: float,
    weights: Mapping[str, WeightLaw],
    limit: FirstVariation,
    x0: InputLaw | Tensor,
    depths: Sequence[int],
    n_samples: int,
    seed: int,
    width: int,
    weight_exponent: float | None = None,
    weight_exponents: Mapping[str, float] | None = None,
    loss: LossSpec = "square",
    refine: int | None = None,
    device: str | torch.device | None = "cpu",
    dtype: torch.dtype | str = torch.float64,
    draw_dtype: torch.dtype | str = torch.float32,
    overflow_threshold: float = 1e8,
    chunk_steps: int | None = None,
) -> ErrorTable:
    """Network gradients at every depth and their limits on one coupled path: the errors.

    Args:
        sigma, alpha, weights: the block I ResNet (``weights`` = {"A": law, "b": law?}, as
            :func:`numerics.ladder.run_ladder`).
        limit: the backward limit's coefficients (:func:`gradient_inputs` builds them).
        weight_exponent: ``e`` in ``L^e dl/dA_k`` (default ``alpha``).
        weight_exponents: extra exponents name -> e, each giving a ``"grad-weight:<name>"``
            column (controls of the scaling).
        loss: ``"square"`` or a vector c (``c^T h``).
        refine: fine grid = max depth * 2**refine (default 4 for SDE limits, 1 for ODEs).
        Others as :func:`numerics.ladder.run_ladder`.

    Returns an :class:`numerics.metrics.ErrorTable` with the columns of the module docstring
    (per-sample values ``(n_depths, M)``; NaN where the network or the limit overflowed).
    """
    t_start = time.perf_counter()
    _check_weights(weights)
    if not isinstance(width, int) or width < 1:
        raise ValueError(f"width={width!r} must be a positive int")
    if n_samples < 2:
        raise ValueError(f"n_samples={n_samples} must be >= 2 (errors are bootstrapped)")
    if refine is None:
        refine = 4 if limit.is_sde else 1
    ladder, n_fine = validate_depths(depths, refine)
    dtype = resolve_dtype(dtype)
    draw_dtype = resolve_dtype(draw_dtype, "draw_dtype")
    dev = resolve_device(device)
    e_main = float(alpha if weight_exponent is None else weight_exponent)
    extra = dict(weight_exponents or {})
    for name in extra:
        if not name or ":" in name or name in limit.variants:
            raise ValueError(f"weight_exponents name {name!r} must be non-empty, without ':', "
                             "and differ from the variant names")
    m, l_min = int(n_samples), ladder[0]
    x0_t = resolve_x0(x0, m, width, seed)[0].to(device=dev, dtype=dtype)

    if limit.is_sde and weights["A"].rough is None:
        raise ValueError("limit is an SDE (noise_row set) but weights['A'] has no rough part")
    _, grad_l = loss_fns(loss, width, dtype, dev)
    recs: list[VariationRecorder] = []

    def on_chunk(smooth: Mapping[str, SmoothPath]) -> Callable[[Chunk], None]:
        st = FirstVariationStepper(limit, a_path=smooth.get("A"), b_path=smooth.get("b"),
                                   n_fine=n_fine, source="A")
        x = st.init(x0_t)
        rec = VariationRecorder(st, x, l_min=l_min, grad_l=grad_l,
                                 overflow_threshold=overflow_threshold)
        recs.append(rec)
        return lambda ch: advance(st, rec, ch)

    smooth, incs = _block_i_pass(weights, ladder, n_fine, width=width, m=m, seed=seed,
                                 dtype=dtype, draw_dtype=draw_dtype, dev=dev,
                                 chunk_steps=chunk_steps, on_chunk=on_chunk)
    per_depth = _assemble(weights, ladder, smooth, incs, width=width, m=m, dtype=dtype,
                          dev=dev)
    lim = recs[0].finish()

    names = ["grad-input", "grad-weight"]
    names += [f"grad-{q}:{v}" for v in limit.variants for q in ("input", "weight")]
    names += [f"grad-weight:{n}" for n in extra]
    nd = len(ladder)
    samples = {n: np.full((nd, m), np.nan) for n in names}
    overflow = np.zeros((nd, m), dtype=bool)
    for i, dd in enumerate(ladder):
        amat, bvec = per_depth.pop(dd)
        layers = [k * (dd // l_min) for k in range(l_min)]
        h_l, p0, ga = network_gradients(sigma, amat, x0_t, alpha=alpha, b=bvec, loss=loss,
                                        layers=layers)
        over = ~(h_l.abs().amax(-1) <= overflow_threshold) | ~torch.isfinite(p0).all(-1)
        overflow[i] = over.cpu().numpy()

        def werr(g_lim: Tensor, e: float, ga: Tensor = ga, dd: int = dd) -> Tensor:
            diff = float(dd) ** e * ga - g_lim
            return diff.flatten(-2).norm(dim=-1).amax(0)

        cols = {"grad-input": (p0 - lim.P[0]).norm(dim=-1), "grad-weight": werr(lim.G, e_main)}
        for v, (pv, gv) in lim.variants.items():
            cols[f"grad-input:{v}"] = (p0 - pv[0]).norm(dim=-1)
            cols[f"grad-weight:{v}"] = werr(gv, e_main)
        for n, e in extra.items():
            cols[f"grad-weight:{n}"] = werr(lim.G, float(e))
        for n, col in cols.items():
            samples[n][i] = col.detach().cpu().numpy()
    lim_over = lim.overflow.cpu().numpy()
    valid = ~overflow & ~lim_over[None, :]
    means, ses = {}, {}
    for n in names:
        samples[n][~valid] = np.nan
        mu, se = _mean_se(samples[n], valid)
        means[n], ses[n] = _ro(mu), _ro(se)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    return ErrorTable(
        depths=ladder,
        samples={n: _ro(v) for n, v in samples.items()},
        means=means,
        stderrs=ses,
        n_valid=_ro(valid.sum(axis=1).astype(np.int64)),
        overflow=_ro(overflow),
        limit_overflow=_ro(lim_over.astype(bool)),
        seed=seed,
        n_samples=m,
        width=width,
        n_fine=n_fine,
        device=str(dev),
        dtype=str(dtype).removeprefix("torch."),
        draw_dtype=str(draw_dtype).removeprefix("torch."),
        wall_time_s=time.perf_counter() - t_start,
        meta={
            "block": "I",
            "alpha": float(alpha),
            "refine": refine,
            "limit_solver": "EulerMaruyama" if limit.is_sde else "Heun",
            "loss": loss if isinstance(loss, str) else "linear",
            "weight_exponent": e_main,
            "weight_exponents": extra,
            "variants": sorted(limit.variants),
            "quantities": names,
        },
    )
