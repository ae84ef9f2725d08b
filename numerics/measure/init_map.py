r"""The regime map (BENCHMARKS B2) as a measurement: where a deep ResNet at initialisation
explodes, stays non-trivial or collapses to the identity, against the residual exponent
``alpha`` and the regularity of the weights in the layer index.

Two networks of MFBV (arXiv 2206.06929), depth ``L``, width ``d``, ``delta = L^{-alpha}``:

* block S, their ``res-1``: :math:`h_{k+1} = h_k + \delta V_k \sigma(h_k)`;
* block O, their ``res-3`` (their Figure 7): :math:`h_{k+1} = h_k + \delta V_k
  \sigma(W_k h_k)`, ``V`` and ``W`` independent with the same law.

Weights per row (i.i.d., fBm of Hurst index H, smooth) as in
:mod:`numerics.measure.map_rows`. Measured per cell over ``n_draws`` weight draws x
``n_inputs`` unit inputs, as the median of ``log10`` over the samples: the displacement
:math:`|h_L - h_0| / |h_0|` and the gradient ratio :math:`|\partial\ell/\partial h_0|` for
:math:`\ell = \langle u, h_L\rangle`, ``|u| = 1``.

Boundary (first-order power count, derived here): :math:`h_L - h_0 \approx \delta \sum_k
V_k \sigma(\cdot)`. Block S: :math:`\sum_{k<L} V_k` has standard deviation :math:`L^H`
(fBm), :math:`L^{1/2}` (i.i.d.), :math:`L` (smooth), so :math:`\alpha^* = H, 1/2, 1`.
Block O: :math:`\sum_k V_k \sigma(W_k h_0) = \sum_k V_k \mu + \sum_k V_k (\sigma(W_k h_0)
- \mu)` with :math:`\mu = E\sigma(W_k h_0) \ne 0` for ReLU; the first sum is
:math:`\sim L^H`, the second has summable covariances :math:`\rho_V(n)\rho_\sigma(n) \sim
n^{4H-4}` for :math:`H < 3/4`, hence :math:`\sim L^{1/2}`: :math:`\alpha^* = \max(H, 1/2)`
for fBm (1/2 i.i.d., 1 smooth). (For an odd activation, :math:`\mu = 0` and the first sum
vanishes: :math:`\alpha^* = \max(1/2, 2H - 1)`; the map plots the ReLU line.)

Cost: the weights of a row are drawn once and shared by all its columns (exponents enter only
through ``delta``), the fBm normals once per map for all Hurst rows; one state
``(n_draws, d, n_alphas * n_inputs)`` per row, one (S) or two (O) batched products per layer
forward and backward. Rows run in ``workers`` processes. float32 by default: a cell whose
state overflows is reported as exploded (``+inf``).

Why this measurement has its own layer loop instead of the driver and the ``ResNet``
stepper: a row has one depth (no dyadic coupling across depths to share), its weights are
shared by all ``n_alphas * n_inputs`` columns of one state, and its backward pass is written
by hand over a compact store of ``delta sigma'`` (a ``uint8`` mask for ReLU,
:mod:`numerics.measure.scaled_step`); through the stepper engine and autograd the same row
moves about twice the memory and keeps every state.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

__all__ = [
    "BLOCK_NAMES",
    "DEFAULT_ALPHAS",
    "DEFAULT_HURSTS",
    "MapGrid",
    "RegimeMap",
    "MapRows",
    "assemble_map",
    "compute_map",
    "critical_alpha",
    "default_grid",
]

BLOCK_NAMES = {"S": "res-1 (block S)", "O": "res-3 (block O)"}

#: B2: 70 residual exponents on [0, 1.3] and 51 Hurst indices on [0.05, 0.97].
DEFAULT_ALPHAS: tuple[float, ...] = tuple(float(a) for a in np.linspace(0.0, 1.3, 70))
DEFAULT_HURSTS: tuple[float, ...] = tuple(float(h) for h in np.linspace(0.05, 0.97, 51))
_DTYPES = ("float32", "float64")


def critical_alpha(kind: str, hurst: float | None = None, block: str = "S") -> float:
    """The theoretical boundary ``alpha*`` of a row: ``H`` (fBm; ``max(H, 1/2)`` for block O
    with ReLU, module docstring), 1/2 (i.i.d.), 1 (smooth).

    >>> critical_alpha("fbm", 0.3), critical_alpha("iid"), critical_alpha("fbm", 0.3, "O")
    (0.3, 0.5, 0.5)
    """
    if block not in BLOCK_NAMES:
        raise ValueError(f"block={block!r}; use one of {sorted(BLOCK_NAMES)}")
    if kind == "iid":
        return 0.5
    if kind == "smooth":
        return 1.0
    if kind == "fbm":
        if hurst is None or not 0.0 < hurst < 1.0:
            raise ValueError(f"hurst={hurst!r} must lie in (0, 1) for kind='fbm'")
        return float(hurst) if block == "S" else max(float(hurst), 0.5)
    raise ValueError(f"kind={kind!r} is unknown; use 'iid', 'fbm' or 'smooth'")


@dataclass(frozen=True)
class MapGrid:
    """What to measure: the exponents, the weight rows and the per-cell budget.

    ``activation`` is a library name or an expression in one variable (see
    :func:`theory.activations.activation`).
    """

    alphas: tuple[float, ...] = DEFAULT_ALPHAS
    hursts: tuple[float, ...] = DEFAULT_HURSTS
    include_iid: bool = True
    include_smooth: bool = True
    depth: int = 1000
    width: int = 40
    n_draws: int = 5
    n_inputs: int = 10
    activation: str = "relu"
    seed: int = 0
    dtype: str = "float32"
    block: str = "S"

    def __post_init__(self) -> None:
        if self.block not in BLOCK_NAMES:
            raise ValueError(f"block={self.block!r}; use one of {sorted(BLOCK_NAMES)} "
                             "(S: res-1, O: res-3)")
        object.__setattr__(self, "alphas", tuple(float(a) for a in self.alphas))
        object.__setattr__(self, "hursts", tuple(float(h) for h in self.hursts))
        if not self.alphas or not all(math.isfinite(a) and a >= 0 for a in self.alphas):
            raise ValueError(f"alphas={self.alphas!r} must be a non-empty list of finite "
                             "exponents >= 0, e.g. 0,0.5,1")
        bad = [h for h in self.hursts if not 0.0 < h < 1.0]
        if bad:
            raise ValueError(f"hursts={bad!r} must lie in (0, 1); use the i.i.d. row for H = 1/2 "
                             "white noise and the smooth row for H -> 1")
        if not (self.hursts or self.include_iid or self.include_smooth):
            raise ValueError("the grid has no rows: give hursts or keep the i.i.d./smooth rows")
        for name in ("depth", "width", "n_draws", "n_inputs"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive integer")
        if self.depth < 2:
            raise ValueError(f"depth={self.depth} must be >= 2")
        if self.dtype not in _DTYPES:
            raise ValueError(f"dtype={self.dtype!r} must be one of {_DTYPES}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed={self.seed!r} must be a non-negative integer")

    def rows(self) -> list[tuple[str, float | None]]:
        """``(kind, hurst)`` per row, bottom to top: i.i.d., fBm by increasing H, smooth."""
        out: list[tuple[str, float | None]] = []
        if self.include_iid:
            out.append(("iid", None))
        out += [("fbm", h) for h in sorted(self.hursts)]
        if self.include_smooth:
            out.append(("smooth", None))
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        d = asdict(self)
        d["alphas"] = list(self.alphas)
        d["hursts"] = list(self.hursts)
        return d


def default_grid(**overrides: Any) -> MapGrid:
    """The B2 grid (70 x 51 + i.i.d. and smooth rows, depth 1000, width 40, 5 x 10 samples)."""
    return MapGrid(**overrides)


@dataclass(frozen=True, eq=False)
class RegimeMap:
    """The measured map: arrays of shape ``(n_rows, n_alphas)``, rows as in ``row_kinds``.

    ``hidden`` and ``gradient`` hold the median over samples of ``log10`` of the displacement
    ratio and the gradient ratio (``+inf`` where a sample overflowed); ``exploded`` the fraction
    of samples that overflowed; ``boundary`` the theoretical ``alpha*`` per row.
    """

    grid: MapGrid
    row_kinds: tuple[str, ...]
    row_hursts: tuple[float | None, ...]
    boundary: tuple[float, ...]
    hidden: np.ndarray
    gradient: np.ndarray
    exploded: np.ndarray
    wall_time_s: float
    threads: int
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def row_labels(self) -> list[str]:
        """``"i.i.d."``, ``"H=0.05"``, ..., ``"smooth"``."""
        return [_row_label(k, h) for k, h in zip(self.row_kinds, self.row_hursts, strict=True)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``+inf`` as the string ``"inf"``)."""

        def enc(a: np.ndarray) -> list:
            return [[_enc(float(v)) for v in row] for row in np.asarray(a)]

        return {
            "grid": self.grid.to_dict(),
            "rows": self.row_labels,
            "row_kinds": list(self.row_kinds),
            "row_hursts": list(self.row_hursts),
            "boundary": list(self.boundary),
            "log10_hidden_ratio": enc(self.hidden),
            "log10_gradient_ratio": enc(self.gradient),
            "exploded_fraction": enc(self.exploded),
            "wall_time_s": self.wall_time_s,
            "threads": self.threads,
            "meta": self.meta,
        }


def _enc(x: float) -> float | str:
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _row_label(kind: str, hurst: float | None) -> str:
    if kind == "fbm":
        return f"H={hurst:.3g}"
    return {"iid": "i.i.d.", "smooth": "smooth"}[kind]




def _inputs(grid: MapGrid) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs ``h_0`` and loss directions ``u``, each ``(d, n_inputs)`` with unit columns."""
    from numerics._util import make_generator

    gen = make_generator(grid.seed, "map", "inputs")
    x0 = torch.randn(grid.width, grid.n_inputs, generator=gen, dtype=torch.float64)
    u = torch.randn(grid.width, grid.n_inputs, generator=gen, dtype=torch.float64)
    return x0 / x0.norm(dim=0), u / u.norm(dim=0)


class MapRows:
    """Everything a process needs to measure rows of one map (built once per process)."""

    def __init__(self, grid: MapGrid, sigma: Callable) -> None:
        from numerics.measure.map_rows import RowWeights, derivative

        self.grid, self.rows = grid, grid.rows()
        self.sigma_d = derivative(sigma)
        self.x0, self.u = _inputs(grid)
        self.alphas = torch.tensor(grid.alphas, dtype=torch.float64)
        self.weights = RowWeights(names=("V", "W") if grid.block == "O" else ("V",),
                                  depth=grid.depth, width=grid.width, n_draws=grid.n_draws,
                                  seed=grid.seed, dtype=getattr(torch, grid.dtype))
        self.store: torch.Tensor | None = None

    def measure(self, i: int) -> tuple[int, float, tuple[np.ndarray, ...]]:
        """Row ``i``: (i, seconds, (hidden, gradient, exploded)), each of len(alphas). A row
        is seeded by the grid's seed and its own kind, never by the order rows run in."""
        from numerics.measure.map_rows import measure_row

        if not 0 <= i < len(self.rows):
            raise ValueError(f"row index {i} outside 0..{len(self.rows) - 1}")
        t0 = time.perf_counter()
        w = self.weights(*self.rows[i])
        g = self.grid
        if self.store is None:  # zeros: faulted in at once (the layer loop's first touch of
            # fresh pages, spread over 1000 layers, measured 3x slower)
            self.store = torch.zeros((g.depth, g.n_draws, g.width, len(g.alphas) * g.n_inputs),
                                     dtype=self.sigma_d.store_dtype or getattr(torch, g.dtype))
        out = measure_row(g.block, w, self.sigma_d, self.x0, self.u, self.alphas, g.depth,
                          self.store)
        return i, time.perf_counter() - t0, out


def assemble_map(grid: MapGrid, rows: Sequence[tuple[np.ndarray, ...]], *, wall_time_s: float,
                 threads: int, workers: int = 1) -> RegimeMap:
    """The :class:`RegimeMap` from its measured rows, in :meth:`MapGrid.rows` order."""
    kinds = grid.rows()
    if len(rows) != len(kinds):
        raise ValueError(f"{len(rows)} rows measured for a grid of {len(kinds)} rows")
    hidden, gradient, exploded = (np.array([np.asarray(r[j], dtype=float) for r in rows])
                                  for j in range(3))
    return RegimeMap(
        grid=grid, row_kinds=tuple(k for k, _ in kinds), row_hursts=tuple(h for _, h in kinds),
        boundary=tuple(critical_alpha(k, h, grid.block) for k, h in kinds),
        hidden=hidden, gradient=gradient, exploded=exploded, wall_time_s=wall_time_s,
        threads=threads,
        meta={"torch": torch.__version__, "cells": len(kinds) * len(grid.alphas),
              "samples_per_cell": grid.n_draws * grid.n_inputs,
              "model": BLOCK_NAMES[grid.block], "workers": workers},
    )


def compute_map(grid: MapGrid, sigma: Callable, *,
                progress: Callable[[str], None] | None = None,
                threads: int | None = 1) -> RegimeMap:
    """Measure the regime map on ``grid`` with activation ``sigma`` (a torch callable), row
    after row in this process (``threads``: ``torch.set_num_threads``, restored afterwards;
    ``None`` keeps torch's). Sweeps over processes or a cluster, resumable, are
    :func:`verify.regime_map.compute_map`. ``progress`` receives one line per row."""
    if threads is not None and threads < 1:
        raise ValueError(f"threads={threads!r} must be >= 1 (or None: torch's default)")
    n_threads = threads or torch.get_num_threads()
    old_threads = torch.get_num_threads()
    rows = grid.rows()
    results = []
    t0 = time.perf_counter()
    try:
        torch.set_num_threads(n_threads)
        local = MapRows(grid, sigma)
        for i in range(len(rows)):
            _, dt, out = local.measure(i)
            results.append(out)
            if progress is not None:
                progress(f"row {i + 1}/{len(rows)} {_row_label(*rows[i]):>8}: {dt:.2f} s")
    finally:
        torch.set_num_threads(old_threads)
    return assemble_map(grid, results, wall_time_s=time.perf_counter() - t0, threads=n_threads)
