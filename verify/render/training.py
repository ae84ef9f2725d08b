"""Figures of trained-weight claims beyond the fit against depth (THEORY.md section 5, T5):

- the training curves: median training MSE over the training seeds against step, one line per
  depth (log-log), from the record's ``table.curve``;
- the exponent against training step: at each checkpoint of ``table.history`` (means over
  seeds per depth), the exponent p of ``mean ~ L^-p`` fitted by least squares on log-log
  axes over the record's fit window, every depth and the deepest half of the depths, beside
  the predicted exponent and the final fit's interval: how the measured exponent drifts with
  training time and with the window (the authors' 0.2 for tanh/shared depends on both).

The fitted exponent per checkpoint is a plain least-squares slope of the means (no interval:
the interval of the judged fit is the bootstrap one, drawn at the end).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence

import numpy as np

from verify.render.figures import BAD, GOOD, Figure, _png, _slug
from verify.render.model import Example
from verify.render.model import number as _float

__all__ = ["MAX_PANELS", "exponent_path", "training_figures"]

MAX_PANELS = 5
"""Panels per training figure (the claim's first examples)."""


def exponent_path(at: Sequence[float], means: Sequence[Sequence[float]],
                  depths: Sequence[float]) -> list[float]:
    """Per checkpoint, the exponent p of ``mean ~ L^-p`` by least squares on log-log axes over
    ``depths`` (a subset of ``at``); NaN where fewer than two depths have a positive mean."""
    at_arr = np.asarray([_float(x) for x in at], dtype=float)
    keep = np.isin(at_arr, np.asarray([_float(x) for x in depths], dtype=float))
    out = []
    for row in means:
        m = np.asarray([_float(v) for v in row], dtype=float)
        ok = keep & np.isfinite(m) & (m > 0)
        if ok.sum() < 2:
            out.append(math.nan)
            continue
        slope = np.polyfit(np.log(at_arr[ok]), np.log(m[ok]), 1)[0]
        out.append(float(-slope) + 0.0)
    return out


def _trained(ex: Example) -> bool:
    table = ex.table or {}
    return not ex.is_control and bool(table.get("history") or table.get("curve"))


def _title(ax, ex: Example) -> None:
    ax.set_title(f"#{ex.index} claim: {ex.status}" + ("" if ex.met else " (NOT expected)"),
                 fontsize=7.5, color=GOOD if ex.met else BAD, pad=2, fontweight="bold")
    ax.tick_params(which="both", labelsize=6, pad=1, length=2)


def _curve_panel(ax, ex: Example) -> None:
    from matplotlib import colormaps

    table = ex.table or {}
    curve = table.get("curve") or {}
    steps = np.asarray([_float(s) for s in curve.get("step", [])], dtype=float)
    loss = np.asarray([[_float(v) for v in row] for row in curve.get("loss", [])], dtype=float)
    _title(ax, ex)
    at = table.get("at", [])
    cmap = colormaps["viridis"]
    for j, depth in enumerate(at):
        if loss.ndim != 2 or j >= loss.shape[1]:
            break
        ok = np.isfinite(loss[:, j]) & (loss[:, j] > 0)
        ax.plot(steps[ok], loss[ok, j], "-", lw=1.0, color=cmap(j / max(len(at) - 1, 1)),
                label=f"L={int(_float(depth))}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.legend(fontsize=5, frameon=False, ncol=2, handlelength=1.2)
    ax.set_xlabel(f"{ex.describe()}\ntraining step", fontsize=6, labelpad=2)


def _window_label(name: str, depths: Sequence) -> str:
    d = [int(_float(x)) for x in depths]
    return f"{name} L = {','.join(map(str, d))}" if len(d) <= 6 else f"{name} L = {d[0]}..{d[-1]}"


def _exponent_panel(ax, ex: Example) -> None:
    table, fit, verdict = ex.table or {}, ex.fit or {}, ex.verdict
    history = table.get("history") or {}
    steps = [_float(s) for s in history.get("step", [])]
    means = history.get("mean", [])
    at = table.get("at", [])
    window = fit.get("window") or at
    _title(ax, ex)
    lines = [(_window_label("fit window", window), window, "-")]
    half = list(at)[len(at) // 2:]
    for label, depths, style in (("every depth", list(at), ":"), ("deepest half", half, "-.")):
        if len(depths) >= 2 and [int(_float(x)) for x in depths] not in (
                [int(_float(x)) for x in w] for _, w, _ in lines):
            lines.append((_window_label(label, depths), depths, style))
    for label, depths, style in lines:
        path = exponent_path(at, means, depths)
        ax.plot(steps, path, style, marker="o", ms=2.5, lw=1.0, label=label)
    predicted = _float(verdict.get("predicted"))
    if math.isfinite(predicted):
        ax.axhline(predicted, ls="--", color="#c2410c", lw=1.0, label=f"predicted {predicted:g}")
    lo, hi = _float(fit.get("ci_low")), _float(fit.get("ci_high"))
    if steps and math.isfinite(lo) and math.isfinite(hi):
        ax.errorbar([steps[-1]], [(lo + hi) / 2], yerr=[[(hi - lo) / 2]], fmt="s", ms=3,
                    color="#1f4e99", capsize=2, label="final fit, 95% interval")
    ax.set_xscale("log")
    ax.legend(fontsize=5, frameon=False, title=history.get("of"), title_fontsize=5)
    ax.set_xlabel(f"{ex.describe()}\ntraining step", fontsize=6, labelpad=2)


def _figure(name: str, examples: Sequence[Example], panel, ylabel: str, title: str) -> Figure:
    from matplotlib.figure import Figure as MplFigure

    n = len(examples)
    fig = MplFigure(figsize=(2.6 * n + 0.4, 2.9))
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, ex in zip(axes, examples, strict=True):
        panel(ax, ex)
    axes[0].set_ylabel(ylabel, fontsize=6.5, labelpad=1)
    fig.text(0.5, 0.01, textwrap.fill(title, int(44 * n)), ha="center", va="bottom",
             fontsize=7, color="0.3")
    fig.subplots_adjust(left=0.5 / (2.6 * n + 0.4) + 0.03, right=0.99, top=0.9, bottom=0.3,
                        wspace=0.35)
    caption = f"{title}: examples " + ", ".join(f"#{e.index}" for e in examples)
    return Figure(name=name, png=_png(fig), caption=caption,
                  examples=tuple(e.index for e in examples))


def training_figures(examples: Sequence[Example]) -> list[Figure]:
    """Per trained claim id: its training curves and its exponent against training step, on
    the claim's first :data:`MAX_PANELS` examples that kept them."""
    groups: dict[str, list[Example]] = {}
    for ex in examples:
        if _trained(ex):
            groups.setdefault(str(ex.record.get("claim", "")), []).append(ex)
    out = []
    for claim, exs in groups.items():
        shown = exs[:MAX_PANELS]
        if any((e.table or {}).get("curve") for e in shown):
            out.append(_figure(f"{_slug(claim)}-training-curves.png", shown, _curve_panel,
                               "training MSE (median over seeds)",
                               f"{claim} - training curves per depth (log-log)"))
        if any((e.table or {}).get("history") for e in shown):
            out.append(_figure(f"{_slug(claim)}-exponent-vs-step.png", shown, _exponent_panel,
                               "fitted exponent p (mean ~ L^-p)",
                               f"{claim} - exponent against training step (fit window and "
                               "other windows)"))
    return out
