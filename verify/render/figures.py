"""Log-log figures of a regime's examples: mean error (+- s.e.) against depth, the fitted
slope on the fit window with its interval, and the predicted slope as a reference line.

Reads the judged column of each record (``table``: at, mean, se) and its fit (RateFit dict:
depths, mean_errors, mean_stderrs, window, slope, intercept, ci_low, ci_high). Panels are
titled red when the verdict is not the expected one. Large-time records (``table.over ==
"horizon"``) are drawn against the horizon T, with the certified bound (LT2's
lambda |ubar|^2 / T, LT3's teacher norm) as a dotted line where the table keeps one; a
turnpike record (``table.profiles``) is drawn as log E(t) against t for every horizon T, with
the predicted (LQR) late slope as a reference line.
"""

from __future__ import annotations

import io
import math
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from verify.render.model import Example, fmt
from verify.render.model import number as _float

__all__ = ["PANELS_PER_FIGURE", "Figure", "figures_for", "plot_panel"]

PANELS_PER_FIGURE = 10
_COLUMNS = 5
GOOD, BAD = "#1a7f37", "#b42318"
_LABELS = {"strong": "strong error |h_L - H_1|", "sup": "sup error", "weak": "weak error",
           "identity": "|h_L - h_0|", "growth": "|h_L - h_0|", "law": "law statistic",
           "grad-input": "gradient error (input)", "grad-weight": "gradient error (weights)"}


@dataclass(frozen=True)
class Figure:
    """One rendered PNG: the examples it shows and its caption."""

    name: str
    png: bytes
    caption: str
    examples: tuple[int, ...]


def _metric_label(ex: Example) -> str:
    quantity = str(ex.record.get("quantity", ""))
    column = str((ex.table or {}).get("column", ""))
    return _LABELS.get(quantity, column or "mean error")


def _series(ex: Example) -> tuple[list[float], list[float], list[float], str]:
    """Depths, mean errors, standard errors of the judged column, and where they come from."""
    fit = ex.fit
    if fit and fit.get("depths"):
        return ([_float(d) for d in fit["depths"]], [_float(v) for v in fit["mean_errors"]],
                [_float(v) for v in fit.get("mean_stderrs", [])], "fit")
    table = ex.table or {}
    if table.get("at"):
        return ([_float(d) for d in table["at"]], [_float(v) for v in table.get("mean", [])],
                [_float(v) for v in table.get("se", [])], f"table:{table.get('column', '')}")
    return [], [], [], "none"


def _kind(ex: Example) -> str:
    return str(ex.verdict.get("kind", "?")).replace("-", "_")


def _slopes(ex: Example) -> tuple[float, float, float, float]:
    """Fitted slope, its interval, and the predicted slope, in log(error) vs log(depth)."""
    v, fit = ex.verdict, ex.fit or {}
    predicted = _float(v.get("predicted"))
    pred_slope = (predicted if _kind(ex) == "growth" else -predicted) + 0.0  # no "-0"
    slope = _float(fit.get("slope"))
    lo, hi = -_float(fit.get("ci_high")), -_float(fit.get("ci_low"))
    return slope, lo, hi, pred_slope


def _claim_text(ex: Example, pred_slope: float) -> str:
    """The predicted slope as the claim states it (sharp, one-sided or growth)."""
    kind = _kind(ex)
    tol = fmt(ex.verdict.get("tolerance"), 3)
    if kind in ("exact", "monotone"):  # judged per sample (problem), no fitted slope
        text = str((ex.record.get("prediction") or {}).get("text", kind))
        return textwrap.fill(f"{text}: worst {fmt(ex.verdict.get('estimate'))}", 40)
    return {
        "sharp": f"predicted {pred_slope:.3g} (sharp, tol. {tol})",
        "at_least": f"predicted <= {pred_slope:.3g} (rate at least)",
        "at_most": f"predicted >= {pred_slope:.3g} (rate at most)",
        "growth": f"predicted > {pred_slope:.3g} (growth)",
    }.get(kind, f"predicted {pred_slope:.3g} ({kind})")


def _axis_name(ex: Example) -> str:
    table = ex.table or {}
    if table.get("profiles"):
        return "time t, linear scale"
    return "horizon T, log2 scale" if table.get("over") == "horizon" else "depth L, log2 scale"


def plot_profiles(ax: Any, ex: Example) -> None:
    """A turnpike example: the mean over problems of log E_T(t) against t for each horizon
    T (semi-log), and the predicted late slope (the mean LQR slope over problems) through
    the longest horizon's profile where it has fallen to 1e-3 of E(0)."""
    import numpy as np

    table, v = ex.table or {}, ex.verdict
    h = _float(table.get("h"))
    role = "control" if ex.is_control else "claim"
    ax.set_title(f"#{ex.index} {role}: {ex.status}" + ("" if ex.met else " (NOT expected)"),
                 fontsize=7.5, color=GOOD if ex.met else BAD, pad=2, fontweight="bold")
    ax.tick_params(which="both", labelsize=6, pad=1, length=2)
    profiles = {float(k): np.array([_float(x) for x in vals], dtype=float)
                for k, vals in (table.get("profiles") or {}).items()}
    shades = ["#9db4d8", "#5b80bd", "#1f4e99", "#0b2a5c"]
    for k, (horizon, logs) in enumerate(sorted(profiles.items())):
        t = np.arange(logs.size) * h
        ax.plot(t, np.exp(logs), "-", color=shades[min(k, len(shades) - 1)], lw=1.1,
                label=f"T = {horizon:g}")
    predicted = [_float(x) for x in table.get("predicted_slope") or []]
    if profiles and predicted:
        logs = profiles[max(profiles)]
        t = np.arange(logs.size) * h
        start = int(np.argmax(logs - logs[0] <= math.log(1e-3)))
        slope = float(np.mean(predicted)) * (v.get("predicted") or 1.0)
        tt = t[start:]
        ax.plot(tt, np.exp(logs[start] + slope * (tt - tt[0])), "--", color="#c2410c", lw=1.0)
    ax.set_yscale("log")
    ax.legend(fontsize=5, frameon=False, loc="lower left")
    ax.set_xlabel(f"{ex.describe()}\n{textwrap.fill(str(v.get('summary') or ''), 40)}\n"
                  f"predicted slope {fmt(v.get('predicted'))} x LQR (dashed)", fontsize=6,
                  labelpad=2)


def plot_panel(ax: Any, ex: Example) -> None:
    """One example: mean error +- s.e. against depth (log-log), the fitted line on the fit
    window, the predicted slope through the fit's centre, and the numbers as the x label."""
    import numpy as np

    if (ex.table or {}).get("profiles"):
        plot_profiles(ax, ex)
        return
    depths, means, ses, origin = _series(ex)
    d = np.array(depths, dtype=float)
    m = np.array(means, dtype=float)
    s = np.array(ses if len(ses) == len(means) else [math.nan] * len(means), dtype=float)
    ok = np.isfinite(d) & np.isfinite(m) & (m > 0) & (d > 0)
    role = "control" if ex.is_control else "claim"
    ax.set_title(f"#{ex.index} {role}: {ex.status}" + ("" if ex.met else " (NOT expected)"),
                 fontsize=7.5, color=GOOD if ex.met else BAD, pad=2,
                 fontweight="bold")
    ax.tick_params(which="both", labelsize=6, pad=1, length=2)
    slope, lo, hi, pred = _slopes(ex)
    head = ex.describe()
    if origin != "fit" and ok.sum() < 2:  # nothing to draw against depth (a law test ...)
        v = ex.verdict
        text = (f"no depth ladder to plot\n{v.get('kind', '?')}: estimate {fmt(v.get('estimate'))}"
                f"\n[{fmt(v.get('ci_low'))}, {fmt(v.get('ci_high'))}]\n\n"
                + textwrap.fill(str(v.get("summary") or v.get("advice") or ""), 34))
        ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=5.5, transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(f"{head}\n{_claim_text(ex, pred)}", fontsize=6, labelpad=2)
        return
    window = {int(w) for w in (ex.fit or {}).get("window", [])}
    in_win = np.array([bool(np.isfinite(x)) and int(x) in window for x in d], dtype=bool) & ok
    err = np.where(np.isfinite(s) & ok, s, 0.0)
    lower = np.minimum(err, 0.9 * np.where(ok, m, 1.0))
    ax.errorbar(d[ok], m[ok], yerr=[lower[ok], err[ok]], fmt="none", ecolor="0.35",
                elinewidth=0.8, capsize=2)
    ax.plot(d[ok & ~in_win], m[ok & ~in_win], "o", mfc="white", mec="0.3", ms=3.5)
    ax.plot(d[in_win], m[in_win], "o", color="#1f4e99", ms=3.5)
    bound = [_float(b) for b in (ex.table or {}).get("bound") or []]
    at = [_float(x) for x in (ex.table or {}).get("at") or []]
    if bound and len(bound) == len(at):
        ax.plot(at, bound, ":", color="0.25", lw=1.0)  # the certified bound
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    fit = ex.fit or {}
    if origin == "fit" and math.isfinite(slope) and in_win.any():
        a = _float(fit.get("intercept"))
        xs = d[in_win]
        xx = np.array([xs.min(), xs.max()])
        ax.plot(xx, np.exp(a) * xx**slope, "-", color="#1f4e99", lw=1.3)
        centre = math.exp(np.log(xs).mean())
        yc = math.exp(a) * centre**slope
        if math.isfinite(pred):
            xr = np.array([d[ok].min(), d[ok].max()])
            ax.plot(xr, yc * (xr / centre) ** pred, "--", color="#c2410c", lw=1.0)
        fitted = f"slope {slope:.3f} [{lo:.3f}, {hi:.3f}]"
    else:
        why = "overflow" if ex.verdict.get("overflow") else (
            "judged per problem" if _kind(ex) in ("exact", "monotone") else "no usable fit")
        fitted = f"no fit ({why}); points: {origin.removeprefix('table:')}"
    ax.set_xlabel(f"{head}\n{fitted}\n{_claim_text(ex, pred)}", fontsize=6, labelpad=2)


def _render_group(name: str, examples: Sequence[Example], title: str) -> Figure:
    """Small multiples, one panel per example, at most :data:`PANELS_PER_FIGURE`."""
    from matplotlib.figure import Figure as MplFigure
    from matplotlib.lines import Line2D

    n = len(examples)
    cols = min(_COLUMNS, n)
    rows = math.ceil(n / cols)
    has_bound = any((e.table or {}).get("bound") for e in examples)
    row_h, top_h, bottom_h = 2.35, (0.35 if cols > 2 else 0.5 + 0.2 * has_bound), 0.3
    height = row_h * rows + top_h + bottom_h
    fig = MplFigure(figsize=(2.3 * cols + 0.35, height))
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k < n:
            plot_panel(ax, examples[k])
        else:
            ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(_metric_label(examples[0]), fontsize=6.5, labelpad=1)
    handles = [
        Line2D([], [], marker="o", ls="", color="#1f4e99", ms=3.5,
               label="mean +- s.e., fitted"),
        Line2D([], [], marker="o", ls="", mfc="white", mec="0.3", ms=3.5, label="not fitted"),
        Line2D([], [], ls="-", color="#1f4e99", label="fitted slope [95% interval]"),
        Line2D([], [], ls="--", color="#c2410c", label="predicted slope"),
    ]
    if has_bound:
        handles.append(Line2D([], [], ls=":", color="0.25", label="certified bound"))
    fig.legend(handles=handles, loc="upper center", ncol=len(handles) if cols > 2 else 2,
               fontsize=6.5 if cols > 1 else 5.5, frameon=False, bbox_to_anchor=(0.5, 1.0),
               columnspacing=1.0, handletextpad=0.4)
    fig.text(0.5, 0.01, f"{title}  (x: {_axis_name(examples[0])}; y: log scale)", ha="center",
             va="bottom", fontsize=7, color="0.3")
    fig.subplots_adjust(left=0.45 / (2.3 * cols + 0.35) + 0.02, right=0.99,
                        top=1 - top_h / height, bottom=bottom_h / height + 0.55 / height,
                        wspace=0.3, hspace=0.9 / row_h)
    caption = f"{title}: examples " + ", ".join(f"#{e.index}" for e in examples)
    return Figure(name=name, png=_png(fig), caption=caption,
                  examples=tuple(e.index for e in examples))


def _png(fig: Any, dpi: int = 92) -> bytes:
    """PNG bytes of a matplotlib figure, reduced to a 48-colour palette (plots use few colours;
    this keeps a report's figures about 3x smaller than true-colour PNGs)."""
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    buf.seek(0)
    with Image.open(buf) as img:
        small = img.convert("RGB").quantize(colors=48, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    small.save(out, format="png", optimize=True)
    return out.getvalue()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "x"


def figures_for(regime: str, examples: Sequence[Example]) -> list[Figure]:
    """One figure per claim id and role of the regime, at most :data:`PANELS_PER_FIGURE`
    panels each, in the examples' (stable) order; then a trained claim's training curves and
    exponent against training step (:mod:`verify.render.training`)."""
    from verify.render.training import training_figures

    groups: dict[tuple[str, str], list[Example]] = {}
    for ex in examples:
        groups.setdefault((str(ex.record.get("claim", regime)), str(ex.role)), []).append(ex)
    out = []
    for (claim, role), exs in groups.items():
        for start in range(0, len(exs), PANELS_PER_FIGURE):
            chunk = exs[start:start + PANELS_PER_FIGURE]
            name = f"{_slug(claim)}-{_slug(role)}-{chunk[0].index}.png"
            out.append(_render_group(name, chunk, f"{claim} - {role}"))
    return out + training_figures(examples)
