r"""The regime map (BENCHMARKS B2): the sweep over its rows, plotting and saving; the
measurement of one row is :mod:`numerics.measure.init_map` (blocks S = MFBV's res-1 and O =
their res-3, the maths, the boundaries and the cost are documented there).

:func:`compute_map` runs one :class:`verify.sweep.Task` per row (:func:`map_row`: the grid's
fields and the row index, names and numbers only) on any executor of :mod:`verify.sweep`
(in-process, ``process:N``, Dask), optionally through a resumable
:class:`verify.sweep_store.JsonLinesStore`: an interrupted map computes only its missing rows.
A row's numbers do not depend on where or when it ran.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
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
    "map_row",
    "map_rows_store",
    "plot_map",
    "save_map",
]

from numerics.measure.init_map import (  # the computation lives in numerics
    DEFAULT_ALPHAS,
    DEFAULT_HURSTS,
    MapGrid,
    MapRows,
    RegimeMap,
    assemble_map,
    critical_alpha,
    default_grid,
)


def _sigma(spec: str) -> Callable:
    import torch

    if spec.strip() == "relu":  # before importing sympy: a worker does not need it then
        return torch.relu
    if spec.strip() == "tanh":
        return torch.tanh
    from theory.activations import activation, x
    from theory.lambdify import to_torch

    return to_torch(activation(spec).expr, (x,))


_ROWS: dict[MapGrid, MapRows] = {}


def map_row(*, index: int, **fields: Any) -> dict[str, Any]:
    """The sweep task of one row: rebuilds the grid from its fields (a worker builds the
    weights of a grid once and keeps them for its next rows) and measures row ``index``."""
    import torch

    grid = MapGrid(**fields)
    if grid not in _ROWS:
        _ROWS.clear()
        _ROWS[grid] = MapRows(grid, _sigma(grid.activation))
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(_THREADS.get("n", 1))
        _, seconds, (hidden, gradient, exploded) = _ROWS[grid].measure(int(index))
    finally:
        torch.set_num_threads(threads)
    return {"index": int(index), "seconds": seconds, "hidden": hidden, "gradient": gradient,
            "exploded": exploded}


_THREADS: dict[str, int] = {}


def _decode_row(stored: dict[str, Any]) -> dict[str, Any]:
    """A row read back from a store: JSON nulls were non-finite cells (overflowed: inf)."""
    out = dict(stored)
    for key in ("hidden", "gradient"):
        out[key] = np.array([np.inf if v is None else v for v in stored[key]], dtype=float)
    out["exploded"] = np.asarray(stored["exploded"], dtype=float)
    return out


def map_rows_store(path: str | os.PathLike[str]):
    """A resumable store of map rows (``.jsonl``) for :func:`compute_map`."""
    from verify.sweep_store import JsonLinesStore

    return JsonLinesStore(path, decode=_decode_row)


def compute_map(
    grid: MapGrid | None = None,
    *,
    progress: Callable[[str], None] | None = None,
    threads: int | None = 1,
    executor: Any = None,
    store: Any = None,
) -> RegimeMap:
    """Measure the regime map on ``grid`` (default: B2), one sweep task per row.

    ``executor``: None/``"inline"`` (this process), ``"process:N"``, ``"dask-local:N"``,
    ``"dask:ADDRESS"`` or any ``concurrent.futures.Executor`` (see :func:`verify.sweep.sweep`).
    ``store``: a :func:`map_rows_store` to resume from and append to. One torch thread per
    row is the default: the per-layer products are small, and on a shared 2-core machine two
    threads waiting on each other at every layer measured about 40x slower per row.

    Raises ValueError (or :class:`theory.activations.ActivationError`) for a bad grid or
    activation before any work is done.
    """
    import time

    from verify.executors import ExecutorSpec
    from verify.sweep import Task, sweep

    spec = ExecutorSpec.parse(executor) if executor is None or isinstance(executor, str) \
        else executor
    if threads is not None and threads < 1:
        raise ValueError(f"threads={threads!r} must be >= 1 (or None: torch's default)")
    grid = grid or default_grid()
    _sigma(grid.activation)  # validates the activation first
    fields = grid.to_dict()
    fields["alphas"], fields["hursts"] = tuple(grid.alphas), tuple(grid.hursts)
    labels = grid.rows()
    tasks = [Task.of("verify.regime_map:map_row", index=i, **fields)
             for i in range(len(labels))]
    if threads is not None:
        _THREADS["n"] = threads
    rows: dict[int, dict[str, Any]] = {}
    t0 = time.perf_counter()
    for done in sweep(tasks, executor=spec, store=store):
        row = done.result
        rows[int(row["index"])] = row
        if progress is not None:
            kind, hurst = labels[int(row["index"])]
            label = kind if hurst is None else f"H={hurst:.3g}"
            how = "stored" if done.cached else f"{float(row['seconds']):.2f} s"
            progress(f"row {len(rows)}/{len(labels)} {label:>8}: {how}")
    ordered = [(rows[i]["hidden"], rows[i]["gradient"], rows[i]["exploded"])
               for i in range(len(labels))]
    workers = spec.workers if isinstance(spec, ExecutorSpec) else 1
    return assemble_map(grid, ordered, wall_time_s=time.perf_counter() - t0,
                        threads=threads or 1, workers=workers)


# ----------------------------------------------------------------------------------- plotting

_VMAX = 3.0
_FORMULA = {"S": r"res-1 $h_{k+1} = h_k + L^{-\alpha} V_k \sigma(h_k)$",
            "O": r"res-3 $h_{k+1} = h_k + L^{-\alpha} V_k \sigma(W_k h_k)$"}


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
            star = np.array([rmap.boundary[i] for i in rows], dtype=float)
            label = (r"theory $\alpha^* = H$" if rmap.grid.block == "S"
                     else r"theory $\alpha^* = \max(H, 1/2)$")
            ax.plot(star, hs, color="k", ls="--", lw=1.6, label=label)
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
        f"Regime map at initialisation: {_FORMULA[g.block]}, $\\sigma$ = {g.activation}, "
        f"L = {g.depth}, d = {g.width}, "
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
