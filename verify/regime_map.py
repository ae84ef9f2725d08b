r"""The regime map (BENCHMARKS B2): where a deep ResNet at initialisation explodes, stays
non-trivial or collapses to the identity, as a function of the residual exponent and of the
regularity of the weights in the layer index.

The network is MFBV's ``res-1`` (block S of this suite), depth ``L``, width ``d``:

.. math:: h_{k+1} = h_k + L^{-\alpha}\, V_k\, \sigma(h_k), \qquad k = 0, \dots, L - 1,

with weights of entry variance ``1/d`` in every layer, drawn per row of the map as

* **i.i.d.**: :math:`V_k` independent, :math:`\mathcal N(0, 1/d)` entries (Brownian increments
  of :func:`numerics.brownian_increments`, rescaled by :math:`\sqrt L`);
* **fBm, Hurst H**: :math:`V_k = L^{H} (B^H_{(k+1)/L} - B^H_{k/L})`, each entry an independent
  fractional Brownian motion with :math:`\mathrm{Var}\, B^H_1 = 1/d`
  (:func:`numerics.fbm_increments`), i.e. unit-step fractional Gaussian noise;
* **smooth**: :math:`V_k = \bar V(k / L)` for a smooth Gaussian process :math:`\bar V`
  (:class:`numerics.RBFProcess`, length scale 1/4).

Measured per cell, over ``n_draws`` weight draws x ``n_inputs`` inputs :math:`h_0` (uniform on
the unit sphere), as the median of :math:`\log_{10}` over the samples (robust to the rare
degenerate input, e.g. one with no positive coordinate, a fixed point of ReLU res-1):

* the relative displacement :math:`|h_L - h_0| / |h_0|`;
* the gradient ratio :math:`|\partial\ell/\partial h_0| / |\partial\ell/\partial h_L|` for
  :math:`\ell = \langle u, h_L\rangle` with a fixed random unit vector ``u`` per input (so that
  :math:`|\partial\ell/\partial h_L| = 1`), by torch autograd, one graph for the whole row.

Theoretical boundary (first-order power count; derived here, and the critical scaling of MFBV,
arXiv 2206.06929, section 5): to first order :math:`h_L - h_0 \approx L^{-\alpha} (\sum_k V_k)
\sigma(h_0)`, and :math:`\sum_{k<L} V_k` has standard deviation :math:`L^{H}` for unit-step
fractional Gaussian noise (exactly: :math:`\mathrm{Var} \sum_{k<L} V_k = L^{2H}/d` per entry),
:math:`L^{1/2}` for i.i.d. weights and :math:`L` for smooth ones. Hence
:math:`|h_L - h_0| \sim L^{H - \alpha}`: explosion for :math:`\alpha < \alpha^*`, identity for
:math:`\alpha > \alpha^*`, a non-trivial limit at

.. math:: \alpha^* = H \text{ (fBm)}, \qquad \alpha^* = 1/2 \text{ (i.i.d.)}, \qquad
          \alpha^* = 1 \text{ (smooth)}.

(For :math:`H < 1/2` the second-order terms add :math:`\sim L^{1 - 2\alpha} / d`, small at
the default width.)

Cost. For each row, the weights are drawn once and shared by every column (the exponents
enter only through :math:`L^{-\alpha}`), so the state of a row is one tensor
``(n_draws, d, n_alphas * n_inputs)`` advanced by one batched matrix product per layer; common
random numbers across columns (and, through the same underlying normals, across Hurst rows)
make the map smooth. States are float32 by default: a cell whose state overflows (non-finite)
is reported as exploded (``+inf``).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_ALPHAS",
    "DEFAULT_HURSTS",
    "MapGrid",
    "RegimeMap",
    "compute_map",
    "critical_alpha",
    "default_grid",
    "plot_map",
    "save_map",
]

#: B2: 70 residual exponents on [0, 1.3] and 51 Hurst indices on [0.05, 0.97].
DEFAULT_ALPHAS: tuple[float, ...] = tuple(float(a) for a in np.linspace(0.0, 1.3, 70))
DEFAULT_HURSTS: tuple[float, ...] = tuple(float(h) for h in np.linspace(0.05, 0.97, 51))
SMOOTH_LENGTH_SCALE = 0.25
_DTYPES = ("float32", "float64")


def critical_alpha(kind: str, hurst: float | None = None) -> float:
    """The theoretical boundary ``alpha*`` of a row: ``H`` (fBm), 1/2 (i.i.d.), 1 (smooth).

    >>> critical_alpha("fbm", 0.3), critical_alpha("iid"), critical_alpha("smooth")
    (0.3, 0.5, 1.0)
    """
    if kind == "iid":
        return 0.5
    if kind == "smooth":
        return 1.0
    if kind == "fbm":
        if hurst is None or not 0.0 < hurst < 1.0:
            raise ValueError(f"hurst={hurst!r} must lie in (0, 1) for kind='fbm'")
        return float(hurst)
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

    def __post_init__(self) -> None:
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


def _sigma(spec: str) -> Callable:
    import torch

    from theory.activations import activation, x
    from theory.lambdify import to_torch

    if spec.strip() == "relu":
        return torch.relu
    if spec.strip() == "tanh":
        return torch.tanh
    return to_torch(activation(spec).expr, (x,))


def _row_weights(grid: MapGrid, kind: str, hurst: float | None) -> Any:
    """Weights ``(L, n_draws, d, d)`` of one row, entry variance ``1/d`` in every layer."""
    import torch

    from numerics import RBFProcess, brownian_increments, fbm_increments
    from numerics._util import make_generator
    from numerics.smooth import sample_smooth

    dtype = getattr(torch, grid.dtype)
    L, d, m = grid.depth, grid.width, grid.n_draws
    if kind == "iid":
        inc = brownian_increments(n_samples=m, shape=(d, d), n_steps=L, variance=1.0 / d,
                                  seed=grid.seed, key="map:V", dtype=dtype)
        return inc * math.sqrt(L)
    if kind == "fbm":
        assert hurst is not None
        inc = fbm_increments(n_samples=m, shape=(d, d), n_steps=L, hurst=hurst,
                             variance=1.0 / d, seed=grid.seed, key="map:V", dtype=dtype)
        return inc * L**hurst
    gen = make_generator(grid.seed, "map", "smooth")
    path = sample_smooth(RBFProcess(length_scale=SMOOTH_LENGTH_SCALE), n_samples=m,
                         shape=(d, d), default_variance=1.0 / d, generator=gen,
                         dtype=dtype, device=torch.device("cpu"))
    times = torch.arange(L, dtype=torch.float64) / L
    return path.values(times).contiguous()


def _inputs(grid: MapGrid) -> tuple[Any, Any]:
    """Inputs ``h_0`` and loss directions ``u``, each ``(d, n_inputs)`` with unit columns."""
    import torch

    from numerics._util import make_generator

    gen = make_generator(grid.seed, "map", "inputs")
    x0 = torch.randn(grid.width, grid.n_inputs, generator=gen, dtype=torch.float64)
    u = torch.randn(grid.width, grid.n_inputs, generator=gen, dtype=torch.float64)
    return x0 / x0.norm(dim=0), u / u.norm(dim=0)


def _measure_row(grid: MapGrid, weights: Any, sigma: Callable, x0: Any, u: Any,
                 alphas: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One row: every column and sample advanced together; one backward for the row."""
    import torch

    dtype = getattr(torch, grid.dtype)
    m, d, n_in = grid.n_draws, grid.width, grid.n_inputs
    n_a = alphas.numel()
    cols = n_a * n_in  # column c = (alpha index) * n_inputs + (input index)
    delta = (float(grid.depth) ** -alphas).repeat_interleave(n_in).to(dtype)
    h0 = x0.repeat(1, n_a).to(dtype)[None].expand(m, d, cols).contiguous().requires_grad_(True)
    uu = u.repeat(1, n_a).to(dtype)[None].expand(m, d, cols)
    h = h0
    for k in range(grid.depth):
        h = h + torch.bmm(weights[k], sigma(h)) * delta
    (g0,) = torch.autograd.grad((h * uu).sum(), h0)
    with torch.no_grad():
        ratio = (h - h0).norm(dim=1) / h0.norm(dim=1)  # (m, cols)
        grad = g0.norm(dim=1)  # |dl/dh_L| = |u| = 1
    bad = ~(torch.isfinite(ratio) & torch.isfinite(grad))
    out = []
    for values in (ratio, grad):
        lv = values.to(torch.float64).log10()
        lv = torch.where(bad, torch.full_like(lv, math.inf), lv)
        per_cell = lv.reshape(m, n_a, n_in).permute(1, 0, 2).reshape(n_a, m * n_in).numpy()
        out.append(np.median(per_cell, axis=1))
    exploded = bad.to(torch.float64).reshape(m, n_a, n_in).mean(dim=(0, 2)).numpy()
    return out[0], out[1], exploded


def compute_map(
    grid: MapGrid | None = None,
    *,
    progress: Callable[[str], None] | None = None,
    threads: int | None = 1,
) -> RegimeMap:
    """Measure the regime map on ``grid`` (default: B2). ``progress`` receives one line per
    row; ``threads`` sets ``torch.set_num_threads`` for the run (restored afterwards; ``None``
    keeps torch's setting). One thread is the default: the per-layer products are small, and
    on a shared 2-core machine two threads waiting on each other at every layer measured
    about 40x slower per row (46 s against 1.2 s), while one thread is unaffected.

    Raises ValueError (or :class:`theory.activations.ActivationError`) for a bad grid or
    activation before any work is done.
    """
    import torch

    grid = grid or default_grid()
    sigma = _sigma(grid.activation)  # validates the activation first
    if threads is not None and threads < 1:
        raise ValueError(f"threads={threads!r} must be >= 1 (or None: torch's default)")
    old_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        t0 = time.perf_counter()
        rows = grid.rows()
        x0, u = _inputs(grid)
        alphas = torch.tensor(grid.alphas, dtype=torch.float64)
        hidden, gradient, exploded = [], [], []
        for i, (kind, hurst) in enumerate(rows):
            t_row = time.perf_counter()
            weights = _row_weights(grid, kind, hurst)
            hr, gr, ex = _measure_row(grid, weights, sigma, x0, u, alphas)
            del weights
            hidden.append(hr)
            gradient.append(gr)
            exploded.append(ex)
            if progress is not None:
                progress(f"row {i + 1}/{len(rows)} {_row_label(kind, hurst):>8}: "
                         f"{time.perf_counter() - t_row:.2f} s")
        wall = time.perf_counter() - t0
        used = torch.get_num_threads()
    finally:
        torch.set_num_threads(old_threads)
    return RegimeMap(
        grid=grid,
        row_kinds=tuple(k for k, _ in rows),
        row_hursts=tuple(h for _, h in rows),
        boundary=tuple(critical_alpha(k, h) for k, h in rows),
        hidden=np.array(hidden),
        gradient=np.array(gradient),
        exploded=np.array(exploded),
        wall_time_s=wall,
        threads=used,
        meta={"torch": torch.__version__, "cells": len(rows) * len(grid.alphas),
              "samples_per_cell": grid.n_draws * grid.n_inputs, "model": "res-1 (block S)"},
    )


# ----------------------------------------------------------------------------------- plotting

_VMAX = 3.0


def _edges(centres: Sequence[float]) -> np.ndarray:
    c = np.asarray(centres, dtype=float)
    if c.size == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5]) if c[0] == 0 else c[0] * np.array([0.9, 1.1])
    mid = (c[1:] + c[:-1]) / 2
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


def _panel(fig: Any, spec: Any, rmap: RegimeMap, values: np.ndarray, title: str) -> Any:
    """One column of the figure: smooth row (top), fBm block, i.i.d. row (bottom)."""
    from matplotlib import colors
    from matplotlib.gridspec import GridSpecFromSubplotSpec

    kinds = np.array(rmap.row_kinds)
    alphas = np.array(rmap.grid.alphas)
    xe = _edges(alphas)
    cmap = colors.LinearSegmentedColormap.from_list(
        "rb", ["#2166ac", "#92c5de", "#f7f7f7", "#f4a582", "#b2182b"]
    ).with_extremes(over="#3d0008", under="#08203d", bad="#3d0008")
    norm = colors.Normalize(vmin=-_VMAX, vmax=_VMAX)
    shown = np.where(np.isfinite(values), values, 10 * _VMAX)  # overflow: the "over" colour
    parts = [("smooth", 1.0), ("fbm", 10.0), ("iid", 1.0)]
    present = [(k, r) for k, r in parts if (kinds == k).any()]
    sub = GridSpecFromSubplotSpec(len(present), 1, subplot_spec=spec,
                                  height_ratios=[r for _, r in present], hspace=0.08)
    axes, mesh = [], None
    for j, (kind, _) in enumerate(present):
        ax = fig.add_subplot(sub[j])
        rows = np.flatnonzero(kinds == kind)
        vals = shown[rows]
        if kind == "fbm":
            hs = np.array([rmap.row_hursts[i] for i in rows], dtype=float)
            mesh = ax.pcolormesh(xe, _edges(hs), vals, cmap=cmap, norm=norm, shading="flat")
            ye = _edges(hs)
            ax.plot(ye, ye, color="k", ls="--", lw=1.6, label=r"theory $\alpha^* = H$")
            ax.axhline(0.5, color="k", ls=":", lw=0.8)
            ax.set_ylabel("Hurst index H of fBm weights")
            ax.set_ylim(ye[0], ye[-1])
            ax.legend(loc="lower right", fontsize=8, framealpha=0.85)
        else:
            mesh = ax.pcolormesh(xe, [0, 1], vals, cmap=cmap, norm=norm, shading="flat")
            a_star = critical_alpha(kind)
            ax.axvline(a_star, color="k", ls="--", lw=1.6)
            ax.set_yticks([0.5], [{"iid": "i.i.d.", "smooth": "smooth"}[kind]])
            ax.text(a_star, 0.5, rf" $\alpha^* = {'1/2' if kind == 'iid' else '1'}$",
                    va="center", ha="left", fontsize=8,
                    bbox={"facecolor": "white", "alpha": 0.7, "lw": 0, "pad": 1})
        ax.set_xlim(xe[0], xe[-1])
        if j < len(present) - 1:
            ax.tick_params(labelbottom=False)
        axes.append(ax)
    axes[0].set_title(title, fontsize=10)
    axes[-1].set_xlabel(r"residual exponent $\alpha$ ($\delta = L^{-\alpha}$; MFBV's $\beta$)")
    cbar = fig.colorbar(mesh, ax=axes, extend="both", fraction=0.05, pad=0.02)
    cbar.set_label(r"median of $\log_{10}$ (top: overflow)", fontsize=8)
    return axes


def plot_map(rmap: RegimeMap, path: str | os.PathLike[str] | None = None, *,
             dpi: int = 110) -> bytes:
    """Render the two heatmaps with the theoretical boundaries; returns the PNG bytes and
    writes them to ``path`` when given. Uses matplotlib's Agg canvas (no pyplot state)."""
    import io

    from matplotlib.figure import Figure
    from matplotlib.gridspec import GridSpec

    g = rmap.grid
    fig = Figure(figsize=(13.5, 6.4), layout=None)
    outer = GridSpec(1, 2, figure=fig, left=0.07, right=0.96, bottom=0.1, top=0.86, wspace=0.25)
    _panel(fig, outer[0], rmap, rmap.hidden, r"$|h_L - h_0| \,/\, |h_0|$")
    _panel(fig, outer[1], rmap, rmap.gradient,
           r"$|\partial \ell / \partial h_0| \,/\, |\partial \ell / \partial h_L|$")
    fig.suptitle(
        f"Regime map at initialisation: res-1 $h_{{k+1}} = h_k + L^{{-\\alpha}} V_k "
        f"\\sigma(h_k)$, $\\sigma$ = {g.activation}, L = {g.depth}, d = {g.width}, "
        f"{g.n_draws} weight draws x {g.n_inputs} inputs per cell, {g.dtype}\n"
        f"dashed: theoretical boundary $\\alpha^*$ (explosion left, identity right); "
        f"{rmap.wall_time_s:.0f} s on {rmap.threads} thread(s)",
        fontsize=10,
    )
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    data = buf.getvalue()
    if path is not None:
        _atomic_write(Path(path), data)
    return data


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def save_map(rmap: RegimeMap, png: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write the heatmap PNG and, beside it, the numbers as JSON (same stem). Both are
    rendered in memory first, so a failure leaves nothing half written."""
    png = Path(png)
    if png.suffix.lower() != ".png":
        raise ValueError(f"png={os.fspath(png)!r} must end in .png, e.g. reports/regime_map.png")
    image = plot_map(rmap)
    text = json.dumps(rmap.to_dict(), indent=1, allow_nan=False)
    data = png.with_suffix(".json")
    _atomic_write(png, image)
    _atomic_write(data, text.encode())
    return png, data
