r"""Verification reports, rendered from stored run ledgers only (numerics are never re-run).

A report is built from one ledger (:func:`verify.ledger.load_ledger`) and, optionally, a
baseline ledger to compare against (:mod:`verify.compare`). It is written as

* ``report.html``: one self-contained static page (inline CSS, figures embedded as base64
  PNG, no script and no network access: it works offline);
* ``report.md`` with its figures beside it in ``figures/*.png``.

Contents: a run summary (per regime: verdict, claims and controls), the failures with the
command that replays each, one section per regime (claim, source, the equations *derived* by
:mod:`theory` for each activation in the ledger, the verdict table, and per example a log-log
plot of the mean error against depth with standard errors, the fitted slope with its interval
and the predicted slope as a reference line), the comparison with a baseline, and provenance
(commit, versions, machine, devices, profile, seeds, the ledger's SHA-256).

What counts as a failure: a *claim* record is expected to be judged ``consistent``; a
*control* record (``role`` starting with ``"control"``, a wrong twin of the claim) is expected
to be judged ``inconsistent`` (rejected). Any other status is a failure of that example.
A regime is ``verified`` when every example met its expectation, ``failed`` when a claim was
judged inconsistent or a control consistent, ``inconclusive`` otherwise (see
:func:`regime_outcomes`).

Bad input (an unreadable or other-schema ledger, malformed records, an unknown regime name)
raises :class:`verify.ledger.LedgerError` or :class:`ReportError` before anything is written.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import html
import io
import math
import os
import re
import textwrap
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from verify.ledger import Ledger, load_ledger

__all__ = [
    "FORMATS",
    "Example",
    "Figure",
    "RegimeOutcome",
    "Report",
    "ReportError",
    "build_report",
    "examples_from_ledger",
    "expected_status",
    "fmt",
    "regime_outcomes",
    "render_html",
    "render_markdown",
    "write_report",
]

FORMATS: tuple[str, ...] = ("html", "md")
PANELS_PER_FIGURE = 10
_COLUMNS = 5
_STATUS_ORDER = ("consistent", "inconsistent", "inconclusive")


class ReportError(ValueError):
    """Input a report cannot be built from (malformed records, unknown regime, bad format)."""


def fmt(x: Any, digits: int = 4) -> str:
    """A number as the report prints it: ``f"{x:.{digits}g}"``; ``None``/NaN as ``"-"``.

    >>> fmt(0.20642058924445775), fmt(None), fmt(float("inf"))
    ('0.2064', '-', 'inf')
    """
    if x is None or isinstance(x, bool):
        return "-"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return "-"
    return f"{v:.{digits}g}"


def _float(x: Any) -> float:
    """Ledger number (None, 'nan', 'inf' strings allowed) -> float."""
    if x is None:
        return math.nan
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def expected_status(role: str) -> str:
    """``"consistent"`` for a claim, ``"inconsistent"`` for a control (``"control: ..."``)."""
    return "inconsistent" if str(role).startswith("control") else "consistent"


@dataclass(frozen=True)
class Example:
    """One ledger record (one Hypothesis example), flattened for the report."""

    index: int
    regime: str
    role: str
    node_id: str
    replay: str
    seed: Any
    sigma: str
    width: Any
    parameters: Mapping[str, Any]
    profile: str
    device: str
    verdict: Mapping[str, Any]
    fit: Mapping[str, Any] | None
    table: Mapping[str, Any] | None

    @property
    def status(self) -> str:
        return str(self.verdict.get("status", "none"))

    @property
    def expected(self) -> str:
        return expected_status(self.role)

    @property
    def met(self) -> bool:
        """Whether the verdict is the expected one (claim consistent, control rejected)."""
        return self.status == self.expected

    @property
    def is_control(self) -> bool:
        return self.role.startswith("control")

    def params_text(self) -> str:
        """``"alpha=0.7"``-style parameters (sigma and width shown separately)."""
        return ", ".join(f"{k}={v}" for k, v in self.parameters.items()) or "-"

    def describe(self) -> str:
        """``"tanh, alpha=0.7, d=2, seed=0"``: the instance in one line."""
        return ", ".join([self.sigma] + ([self.params_text()] if self.parameters else [])
                         + [f"d={self.width}", f"seed={self.seed}"])

    def replay_command(self) -> str:
        """The record's replay command, or the CLI command that reruns its regime."""
        if self.replay:
            return self.replay
        return f"resnet-limits verify --profile {self.profile or 'ci'} --regime {self.regime}"


def examples_from_ledger(ledger: Ledger, source: str = "ledger") -> list[Example]:
    """Flatten and validate the records of ``ledger`` (:class:`ReportError` if malformed)."""
    out = []
    for i, rec in enumerate(ledger.records, start=1):
        where = f"{source}: record {i}"
        if not isinstance(rec, Mapping):
            raise ReportError(f"{where} is a {type(rec).__name__}, not an object; the ledger is "
                              "malformed (re-run `resnet-limits verify`)")
        regime = rec.get("regime")
        if not isinstance(regime, str) or not regime:
            raise ReportError(f"{where} has regime={regime!r}; every record needs a regime name")
        verdict = rec.get("verdict")
        if not isinstance(verdict, Mapping) or "status" not in verdict:
            raise ReportError(f"{where} ({regime}) has no verdict with a status; the ledger is "
                              "from another schema or was not written by the plugin")
        params = rec.get("parameters") or {}
        if not isinstance(params, Mapping):
            raise ReportError(f"{where} ({regime}) has parameters={params!r}; expected an object")
        fit, table = rec.get("fit"), rec.get("table")
        if fit is not None and not isinstance(fit, Mapping):
            raise ReportError(f"{where} ({regime}) has a fit that is not an object")
        if table is not None and not isinstance(table, Mapping):
            raise ReportError(f"{where} ({regime}) has a table that is not an object")
        rest = {k: v for k, v in params.items() if k not in ("sigma", "width")}
        out.append(Example(
            index=i, regime=regime, role=str(rec.get("role", "claim")),
            node_id=str(rec.get("node_id", "")), replay=str(rec.get("replay", "")),
            seed=rec.get("seed"), sigma=str(params.get("sigma", "-")),
            width=params.get("width", "-"), parameters=rest,
            profile=str(rec.get("profile", ledger.profile)),
            device=str(rec.get("device", (table or {}).get("device", "-"))),
            verdict=verdict, fit=fit, table=table,
        ))
    return out


@dataclass(frozen=True)
class RegimeOutcome:
    """The verdict of one regime over its examples."""

    regime: str
    verdict: str
    claims: Mapping[str, int]
    controls: Mapping[str, int]

    @property
    def n_examples(self) -> int:
        return sum(self.claims.values()) + sum(self.controls.values())

    def describe(self) -> str:
        """e.g. ``"claims 10/10 consistent; controls 10/10 rejected"``."""
        parts = []
        n = sum(self.claims.values())
        if n:
            other = ", ".join(f"{v} {k}" for k, v in sorted(self.claims.items())
                              if k != "consistent")
            parts.append(f"claims {self.claims.get('consistent', 0)}/{n} consistent"
                         + (f" ({other})" if other else ""))
        n = sum(self.controls.values())
        if n:
            other = ", ".join(f"{v} {k}" for k, v in sorted(self.controls.items())
                              if k != "inconsistent")
            parts.append(f"controls {self.controls.get('inconsistent', 0)}/{n} rejected"
                         + (f" ({other})" if other else ""))
        return "; ".join(parts) or "no examples"


def regime_outcomes(examples: Iterable[Example]) -> dict[str, RegimeOutcome]:
    """Per regime (first-appearance order): ``failed`` if a claim was judged inconsistent or a
    control consistent; else ``inconclusive`` if any example missed its expectation; else
    ``verified``."""
    groups: dict[str, list[Example]] = {}
    for ex in examples:
        groups.setdefault(ex.regime, []).append(ex)
    out = {}
    for name, exs in groups.items():
        claims = Counter(e.status for e in exs if not e.is_control)
        controls = Counter(e.status for e in exs if e.is_control)
        if claims.get("inconsistent") or controls.get("consistent"):
            verdict = "failed"
        elif all(e.met for e in exs):
            verdict = "verified"
        else:
            verdict = "inconclusive"
        out[name] = RegimeOutcome(name, verdict, dict(claims), dict(controls))
    return out


# --------------------------------------------------------------------------- theory (derived)


@dataclass(frozen=True)
class Derivation:
    """What theory says about one regime and activation (derivation only, no numerics)."""

    sigma: str
    kind: str = ""
    equation: str = ""
    latex: str = ""
    rates: tuple[str, ...] = ()
    error: str = ""


@dataclass(frozen=True)
class RegimeInfo:
    """The regime's declaration from the registry (empty when not registered here)."""

    name: str
    registered: bool
    claim: str = ""
    source: str = ""
    status: str = ""
    block: str = ""
    metric: str = ""
    claimed_kind: str = ""
    parameters: tuple[str, ...] = ()


@lru_cache(maxsize=256)
def _regime_info(name: str) -> RegimeInfo:
    from theory.regimes import registry

    forward, _, quantity = name.partition("/grad-")
    regime = registry().get(forward)
    if regime is None:
        return RegimeInfo(name, registered=False)
    if quantity:  # a backward claim of a forward regime (theory/backward.py)
        return RegimeInfo(
            name=name, registered=True,
            claim=f"Backpropagation through the ResNets of {forward}: the {quantity} gradient "
            "converges to its limit (adjoint ODE, or the first-variation SDE with its Ito "
            f"term) at the forward rate. Forward claim: {regime.claim}",
            source="derived (theory/backward.py; THEORY.md section 4, CRX22)",
            status=regime.status, block=regime.block.value, metric=f"grad-{quantity}",
            claimed_kind="adjoint-ode / fbsde",
            parameters=tuple(f"{k} in {v.interval()} (typical {list(v.typical)})"
                             for k, v in regime.parameters.items()),
        )
    return RegimeInfo(
        name=name, registered=True, claim=regime.claim, source=regime.source,
        status=regime.status, block=regime.block.value, metric=regime.metric,
        claimed_kind=regime.claimed_kind,
        parameters=tuple(f"{k} in {v.interval()} (typical {list(v.typical)})"
                         for k, v in regime.parameters.items()),
    )


@lru_cache(maxsize=256)
def _derivation(name: str, sigma: str) -> Derivation:
    """``theory.regimes.get(name).limit(sigma)`` (generic in the regime's parameters)."""
    from theory.regimes import get

    forward, _, quantity = name.partition("/grad-")
    try:
        limit = get(forward).limit(sigma)
        if quantity:
            from theory.backward import derive_backward

            back = derive_backward(limit)
            return Derivation(sigma=sigma, kind=back.kind, equation=back.equation(),
                              latex="",
                              rates=tuple(r.describe() for r in back.rates))
        return Derivation(sigma=sigma, kind=limit.kind, equation=limit.equation(),
                          latex=limit.latex(), rates=tuple(r.describe() for r in limit.rates))
    except Exception as exc:  # the report shows why, it does not fail on theory's problems
        return Derivation(sigma=sigma, error=f"{type(exc).__name__}: {exc}")


def _merge(derivations: Sequence[Derivation]) -> tuple[Derivation, ...]:
    """Activations with the same derived limit and rates share one entry (``sigma`` lists
    them, comma-separated)."""
    groups: dict[tuple, list[str]] = {}
    for d in derivations:
        groups.setdefault((d.kind, d.equation, d.latex, d.rates, d.error), []).append(d.sigma)
    return tuple(Derivation(", ".join(sigmas), *key) for key, sigmas in groups.items())


# ------------------------------------------------------------------------------------ figures


@dataclass(frozen=True)
class Figure:
    """One rendered PNG: the examples it shows and its caption."""

    name: str
    png: bytes
    caption: str
    examples: tuple[int, ...]


def _metric_label(ex: Example) -> str:
    """The y axis: the regime's metric (or the record's ``metric`` parameter)."""
    info = _regime_info(ex.regime)
    if not info.registered and "metric" in ex.parameters:
        return f"mean error ({ex.parameters['metric']})"
    if ex.verdict.get("kind") == "growth" or info.claimed_kind == "explosion" or (
            info.metric == "growth"):
        return "|h_L - h_0|"
    return {"strong": "strong error |h_L - H_1|", "sup": "sup error", "identity": "|h_L - h_0|",
            "weak": "weak error"}.get(info.metric, "mean error")


def _series(ex: Example) -> tuple[list[float], list[float], list[float], str]:
    """Depths, mean errors, standard errors of the plotted metric, and where they come from."""
    fit = ex.fit
    if fit and fit.get("depths"):
        return ([_float(d) for d in fit["depths"]], [_float(v) for v in fit["mean_errors"]],
                [_float(v) for v in fit.get("mean_stderrs", [])], "fit")
    table = ex.table or {}
    means, ses = table.get("means") or {}, table.get("stderrs") or {}
    for metric in ("identity", *means):
        if metric in means:
            return ([_float(d) for d in table.get("depths", [])],
                    [_float(v) for v in means[metric]],
                    [_float(v) for v in ses.get(metric, [])], f"table:{metric}")
    return [], [], [], "none"


def _slopes(ex: Example) -> tuple[float, float, float, float]:
    """Fitted slope, its interval, and the predicted slope, in log(error) vs log(depth)."""
    v, fit = ex.verdict, ex.fit or {}
    predicted = _float(v.get("predicted"))
    pred_slope = (predicted if v.get("kind") == "growth" else -predicted) + 0.0  # no "-0"
    slope = _float(fit.get("slope"))
    lo, hi = -_float(fit.get("ci_high")), -_float(fit.get("ci_low"))
    return slope, lo, hi, pred_slope


_STATUS_COLOUR = {"consistent": "#1a7f37", "inconsistent": "#b42318", "inconclusive": "#b54708"}


def _claim_text(ex: Example, pred_slope: float) -> str:
    """The predicted slope as the claim states it (sharp, one-sided or growth)."""
    kind = str(ex.verdict.get("kind", "?"))
    tol = fmt(ex.verdict.get("tolerance"), 3)
    if kind == "sharp":
        return f"predicted {pred_slope:.3g} (sharp, tol. {tol})"
    if kind == "at_least":
        return f"predicted <= {pred_slope:.3g} (rate at least)"
    if kind == "at_most":
        return f"predicted >= {pred_slope:.3g} (rate at most)"
    if kind == "growth":
        return f"predicted > {pred_slope:.3g} (growth)"
    return f"predicted {pred_slope:.3g} ({kind})"


def _plot_panel(ax: Any, ex: Example) -> None:
    """One example: mean error +- s.e. against depth (log-log), the fitted line on the fit
    window, the predicted slope through the fit's centre, and the numbers as the x label."""
    import numpy as np

    depths, means, ses, origin = _series(ex)
    d = np.array(depths, dtype=float)
    m = np.array(means, dtype=float)
    s = np.array(ses if len(ses) == len(means) else [math.nan] * len(means), dtype=float)
    ok = np.isfinite(d) & np.isfinite(m) & (m > 0) & (d > 0)
    role = "control" if ex.is_control else "claim"
    ax.set_title(f"#{ex.index} {role}: {ex.status}" + ("" if ex.met else " (fail)"),
                 fontsize=7.5, color=_STATUS_COLOUR.get(ex.status, "k"), pad=2,
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
    in_win = np.array([int(x) in window for x in d]) & ok
    err = np.where(np.isfinite(s) & ok, s, 0.0)
    lower = np.minimum(err, 0.9 * np.where(ok, m, 1.0))
    ax.errorbar(d[ok], m[ok], yerr=[lower[ok], err[ok]], fmt="none", ecolor="0.35",
                elinewidth=0.8, capsize=2)
    ax.plot(d[ok & ~in_win], m[ok & ~in_win], "o", mfc="white", mec="0.3", ms=3.5)
    ax.plot(d[in_win], m[in_win], "o", color="#1f4e99", ms=3.5)
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
        why = "overflow" if ex.verdict.get("overflow") else "no usable fit"
        fitted = f"no fit ({why}); points: {origin.removeprefix('table:')}"
    ax.set_xlabel(f"{head}\n{fitted}\n{_claim_text(ex, pred)}", fontsize=6, labelpad=2)


def _render_group(name: str, examples: Sequence[Example], title: str) -> Figure:
    """Small multiples, one panel per example, at most :data:`PANELS_PER_FIGURE`."""
    from matplotlib.figure import Figure as MplFigure
    from matplotlib.lines import Line2D

    n = len(examples)
    cols = min(_COLUMNS, n)
    rows = math.ceil(n / cols)
    row_h, top_h, bottom_h = 2.35, (0.35 if cols > 2 else 0.5), 0.3
    height = row_h * rows + top_h + bottom_h
    fig = MplFigure(figsize=(2.3 * cols + 0.35, height))
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k < n:
            _plot_panel(ax, examples[k])
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
    fig.legend(handles=handles, loc="upper center", ncol=4 if cols > 2 else 2,
               fontsize=6.5 if cols > 1 else 5.5, frameon=False, bbox_to_anchor=(0.5, 1.0),
               columnspacing=1.0, handletextpad=0.4)
    fig.text(0.5, 0.01, f"{title}  (x: depth L, log2 scale; y: log scale)", ha="center",
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


def _figures_for(regime: str, examples: Sequence[Example]) -> list[Figure]:
    """One figure per test (node id) of the regime, at most :data:`PANELS_PER_FIGURE`
    panels each, in ledger order."""
    groups: dict[str, list[Example]] = {}
    for ex in examples:
        groups.setdefault(ex.node_id, []).append(ex)
    out = []
    for node, exs in groups.items():
        test = node.split("::")[-1].split("[")[0] if node else "examples"
        for start in range(0, len(exs), PANELS_PER_FIGURE):
            chunk = exs[start:start + PANELS_PER_FIGURE]
            name = f"{_slug(regime)}-{_slug(test)}-{chunk[0].index}.png"
            out.append(_render_group(name, chunk, f"{regime} - {test}"))
    return out


# ------------------------------------------------------------------------------------- report


@dataclass(frozen=True)
class RegimeSection:
    """Everything shown for one regime."""

    info: RegimeInfo
    outcome: RegimeOutcome
    examples: tuple[Example, ...]
    derivations: tuple[Derivation, ...]
    figures: tuple[Figure, ...]


@dataclass(frozen=True)
class Report:
    """A report, fully rendered in memory (figures as PNG bytes)."""

    title: str
    ledger: Ledger
    ledger_name: str
    ledger_sha256: str
    examples: tuple[Example, ...]
    outcomes: Mapping[str, RegimeOutcome]
    sections: tuple[RegimeSection, ...]
    comparison: Any = None
    baseline_name: str = ""
    command: str = ""
    generated: str = field(
        default_factory=lambda: _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))

    @property
    def failures(self) -> list[Example]:
        return [e for e in self.examples if not e.met]

    @property
    def figures(self) -> list[Figure]:
        return [f for s in self.sections for f in s.figures]


def _sha256(ledger: Ledger) -> str:
    h = hashlib.sha256()
    for src in ledger.sources:
        try:
            h.update(Path(src).read_bytes())
        except OSError:
            return "unavailable"
    return h.hexdigest()


def build_report(
    ledger: Ledger | str | os.PathLike[str],
    *,
    baseline: Ledger | str | os.PathLike[str] | None = None,
    regimes: Sequence[str] | None = None,
    title: str = "resnet-limits verification report",
    command: str = "",
) -> Report:
    """Build the report of ``ledger`` (a :class:`~verify.ledger.Ledger` or a path), compared
    with ``baseline`` when given, restricted to ``regimes`` when given.

    Raises :class:`~verify.ledger.LedgerError` (unreadable, other schema) or
    :class:`ReportError` (malformed records; a regime name unknown to the registry or absent
    from the ledger). Nothing is written.
    """
    from verify.compare import compare_examples

    led = ledger if isinstance(ledger, Ledger) else load_ledger(ledger)
    name = Path(led.sources[0]).name if led.sources else "ledger"
    base = None
    if baseline is not None:
        base = baseline if isinstance(baseline, Ledger) else load_ledger(baseline)
    examples = examples_from_ledger(led, name)
    if regimes:
        present = {e.regime for e in examples}
        for r in regimes:
            if r not in present:
                from theory.regimes import registry

                known = ", ".join(registry()) if r not in registry() else ""
                if known:
                    raise ReportError(f"unknown regime {r!r}; known: {known}")
                raise ReportError(f"regime={r!r} has no records in {name}; it holds "
                                  f"{', '.join(sorted(present)) or 'none'}")
        examples = [e for e in examples if e.regime in set(regimes)]
    comparison = None
    if base is not None:
        base_examples = examples_from_ledger(base, "baseline")
        if regimes:
            base_examples = [e for e in base_examples if e.regime in set(regimes)]
        comparison = compare_examples(base_examples, examples)
    outcomes = regime_outcomes(examples)
    sections = []
    for regime, outcome in outcomes.items():
        exs = tuple(e for e in examples if e.regime == regime)
        info = _regime_info(regime)
        sigmas = list(dict.fromkeys(e.sigma for e in exs if e.sigma != "-"))
        derivations = _merge([_derivation(regime, s) for s in sigmas]) if info.registered \
            else ()
        sections.append(RegimeSection(info, outcome, exs, derivations,
                                      tuple(_figures_for(regime, exs))))
    return Report(
        title=title, ledger=led, ledger_name=name, ledger_sha256=_sha256(led),
        examples=tuple(examples), outcomes=outcomes, sections=tuple(sections),
        comparison=comparison,
        baseline_name=(Path(base.sources[0]).name if base is not None and base.sources else ""),
        command=command,
    )


# --------------------------------------------------------------------------------------- HTML

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2328;
background:#fff}
main{max-width:1180px;margin:0 auto;padding:16px 28px 48px}
h1{font-size:24px;margin:12px 0 4px}h2{font-size:19px;margin:30px 0 8px;padding-top:8px;
border-top:2px solid #d0d7de}h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;margin:6px 0 12px;font-size:12.5px}
th,td{border:1px solid #d0d7de;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums;
white-space:nowrap}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f6f8fa;
border-radius:4px}code{padding:1px 4px}pre{padding:8px 10px;overflow-x:auto;white-space:pre-wrap}
.consistent,.verified{color:#1a7f37;font-weight:600}.inconsistent,.failed{color:#b42318;
font-weight:600}.inconclusive{color:#b54708;font-weight:600}
.ok{color:#1a7f37}.bad{color:#b42318;font-weight:700}
.flag{background:#ffebe9;color:#b42318;font-weight:700;padding:1px 6px;border-radius:10px}
.muted{color:#656d76}.claim{font-size:15px}figure{margin:10px 0 18px}
figure img{max-width:100%;border:1px solid #d0d7de}figcaption{font-size:12px;color:#656d76}
nav a{margin-right:10px}details{margin:4px 0}dl{display:grid;grid-template-columns:max-content
auto;gap:2px 14px;margin:6px 0}dt{font-weight:600}dd{margin:0}
"""


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _anchor(regime: str) -> str:
    return "regime-" + _slug(regime)


def _verdict_cells(ex: Example) -> list[tuple[str, str]]:
    """(text, css class) per column of the verdict table."""
    v = ex.verdict
    interval = f"[{fmt(v.get('ci_low'))}, {fmt(v.get('ci_high'))}]"
    return [
        (f"#{ex.index}", "num"), (ex.role, ""), (ex.sigma, ""), (ex.params_text(), ""),
        (str(ex.width), "num"), (str(ex.seed), "num"), (fmt(v.get("n_samples")), "num"),
        (str(v.get("kind", "-")), ""), (fmt(v.get("predicted")), "num"),
        (fmt(v.get("estimate")), "num"), (interval, "num"), (fmt(v.get("tolerance")), "num"),
        (ex.status, ex.status), (ex.expected, ""),
        ("yes" if ex.met else "NO", "ok" if ex.met else "bad"),
    ]


_VERDICT_HEAD = ["#", "role", "sigma", "parameters", "d", "seed", "M", "kind", "predicted",
                 "estimate", "95% interval", "tol.", "verdict", "expected", "met"]


def _summary_rows(report: Report) -> list[list[Any]]:
    rows = []
    changes = {c.regime: c for c in (report.comparison or [])}
    for regime, o in report.outcomes.items():
        wall = sum(_float((e.table or {}).get("wall_time_s")) for e in report.examples
                   if e.regime == regime)
        row: list[Any] = [regime, (o.verdict, o.verdict), o.describe(), (str(o.n_examples), "num"),
                          (fmt(wall, 3), "num")]
        if report.comparison is not None:
            c = changes.get(regime)
            row.append(c.before_verdict if c else "-")
            row.append("CHANGED" if c and c.changed else "")
        rows.append(row)
    return rows


def _summary_head(report: Report) -> list[str]:
    head = ["regime", "verdict", "examples", "n", "sim. time (s)"]
    if report.comparison is not None:
        head += [f"baseline ({report.baseline_name})", "change"]
    return head


def _run_facts(report: Report) -> list[tuple[str, str]]:
    led = report.ledger
    statuses = Counter(e.status for e in report.examples)
    wall = sum(_float((e.table or {}).get("wall_time_s")) for e in report.examples)
    verdicts = Counter(o.verdict for o in report.outcomes.values())
    return [
        ("ledger", report.ledger_name + ("" if led.complete else " (partial: run interrupted "
                                         "or still running)")),
        ("profile", led.profile or "-"),
        ("run", f"created {led.created or '-'}, finalized {led.finalized or '-'}"),
        ("examples", f"{len(report.examples)} ("
         + ", ".join(f"{statuses.get(s, 0)} {s}" for s in _STATUS_ORDER) + ")"),
        ("regimes", f"{len(report.outcomes)} ("
         + ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items())) + ")"),
        ("failures", f"{len(report.failures)} example(s) whose verdict is not the expected one"),
        ("simulation time", f"{fmt(wall, 3)} s (sum of the error tables' wall times)"),
    ]


def _provenance(report: Report) -> list[tuple[str, str]]:
    led = report.ledger
    devices = Counter(e.device for e in report.examples)
    profiles = Counter(e.profile for e in report.examples)
    machine = ", ".join(f"{k}={v}" for k, v in led.machine.items())
    versions = ", ".join(f"{k} {v}" for k, v in led.versions.items())
    return [
        ("commit", led.commit),
        ("versions", versions or "-"),
        ("machine", machine or "-"),
        ("devices", ", ".join(f"{k} ({v})" for k, v in devices.items()) or "-"),
        ("profiles", ", ".join(f"{k} ({v})" for k, v in profiles.items()) or "-"),
        ("schema", f"ledger schema_version {led.schema_version}"),
        ("ledger files", ", ".join(led.sources) or "-"),
        ("ledger SHA-256", report.ledger_sha256),
        ("report generated", report.generated + " from the ledger only (no numerics re-run)"),
        ("rendered by", report.command or "resnet-limits report"),
    ]


def _seeds_by_regime(report: Report) -> list[tuple[str, str]]:
    out = []
    for regime in report.outcomes:
        seeds = [str(e.seed) for e in report.examples if e.regime == regime]
        out.append((regime, ", ".join(seeds)))
    return out


def _html_table(head: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    parts = ["<table><thead><tr>", "".join(f"<th>{_e(h)}</th>" for h in head),
             "</tr></thead><tbody>"]
    for row in rows:
        cells = []
        for cell in row:
            text, cls = cell if isinstance(cell, tuple) else (cell, "")
            if text == "CHANGED":
                cells.append('<td><span class="flag">CHANGED</span></td>')
            else:
                attr = f' class="{cls}"' if cls else ""
                cells.append(f"<td{attr}>{_e(text)}</td>")
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def _html_dl(items: Iterable[tuple[str, str]]) -> str:
    return "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items) + "</dl>"


def _html_failures(report: Report) -> str:
    if not report.failures:
        return "<p class=ok>No failures: every claim was judged consistent and every control " \
               "was rejected.</p>"
    items = []
    for ex in report.failures:
        v = ex.verdict
        items.append(
            f'<li><a href="#{_anchor(ex.regime)}">{_e(ex.regime)}</a> #{ex.index} '
            f"{_e(ex.role)}: <span class={_e(ex.status)}>{_e(ex.status)}</span> "
            f"(expected {_e(ex.expected)}), {_e(ex.describe())}"
            f"<br>advice: {_e(v.get('advice', '-'))}"
            f"<br>replay: <code>{_e(ex.replay_command())}</code></li>"
        )
    return "<ol>" + "".join(items) + "</ol>"


def _html_comparison(report: Report) -> str:
    from verify.compare import comparison_rows

    if report.comparison is None:
        return ""
    changed = sum(c.changed for c in report.comparison)
    head, rows = comparison_rows(report.comparison)
    return (f'<h2 id="comparison">Comparison with baseline {_e(report.baseline_name)}</h2>'
            f"<p>{changed} regime(s) changed verdict"
            + (' <span class="flag">CHANGED</span>' if changed else "") + "</p>"
            + _html_table(head, rows))


def _html_section(section: RegimeSection, figure_src: Mapping[str, str]) -> str:
    info, o = section.info, section.outcome
    out = [f'<h2 id="{_anchor(info.name)}">{_e(info.name)}: '
           f'<span class="{_e(o.verdict)}">{_e(o.verdict)}</span></h2>']
    if info.registered:
        out.append(f'<p class="claim">{_e(info.claim)}</p>')
        out.append(_html_dl([
            ("source", info.source), ("status", info.status), ("block", info.block),
            ("claimed limit", info.claimed_kind), ("metric", info.metric),
            ("parameters", "; ".join(info.parameters) or "none"),
            ("examples", o.describe()),
        ]))
        out.append("<h3>Derived limit (theory, exact)</h3>")
        for d in section.derivations:
            if d.error:
                out.append(f"<p>sigma = <code>{_e(d.sigma)}</code>: derivation unavailable "
                           f"({_e(d.error)})</p>")
                continue
            rates = "".join(f"<li>{_e(r)}</li>" for r in d.rates)
            out.append(
                f"<p>sigma = <code>{_e(d.sigma)}</code> [{_e(d.kind)}]</p>"
                f"<pre>{_e(d.equation)}</pre><ul>{rates}</ul>"
                + (f"<details><summary>LaTeX</summary><pre>{_e(d.latex)}</pre></details>"
                   if d.latex else "")
            )
    else:
        out.append(f"<p class=muted>Regime {_e(info.name)} is not registered in this checkout: "
                   "its claim and derivation cannot be shown.</p>")
    out.append("<h3>Verdicts</h3>")
    out.append(_html_table(_VERDICT_HEAD, (_verdict_cells(e) for e in section.examples)))
    out.append("<h3>Error against depth (log-log)</h3>")
    for f in section.figures:
        out.append(f'<figure><img alt="{_e(f.caption)}" src="{figure_src[f.name]}">'
                   f"<figcaption>{_e(f.caption)}</figcaption></figure>")
    return "".join(out)


def render_html(report: Report) -> str:
    """The self-contained HTML page (figures embedded as base64 PNG)."""
    src = {f.name: "data:image/png;base64," + base64.b64encode(f.png).decode("ascii")
           for f in report.figures}
    nav = " ".join(f'<a href="#{_anchor(r)}">{_e(r)}</a>' for r in report.outcomes)
    body = [
        f"<h1>{_e(report.title)}</h1>",
        f'<p class="muted">{_e(report.ledger_name)} - profile {_e(report.ledger.profile)} - '
        f"commit {_e(report.ledger.commit[:12])}</p>",
        f"<nav>{nav} <a href='#provenance'>provenance</a></nav>",
        '<h2 id="summary">Run summary</h2>', _html_dl(_run_facts(report)),
        _html_table(_summary_head(report), _summary_rows(report)),
        '<h2 id="failures">Failures and replay commands</h2>', _html_failures(report),
        _html_comparison(report),
    ]
    body += [_html_section(s, src) for s in report.sections]
    body += ['<h2 id="provenance">Provenance</h2>', _html_dl(_provenance(report)),
             "<h3>Seeds per regime (in example order)</h3>",
             _html_table(["regime", "seeds"], _seeds_by_regime(report))]
    return ("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
            '<meta name=viewport content="width=device-width,initial-scale=1">'
            f"<title>{_e(report.title)}</title><style>{_CSS}</style></head><body><main>"
            + "\n".join(body) + "</main></body></html>\n")


# ----------------------------------------------------------------------------------- Markdown


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(head: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(_md(h) for h in head) + " |",
             "|" + "|".join("---" for _ in head) + "|"]
    for row in rows:
        cells = [c[0] if isinstance(c, tuple) else c for c in row]
        cells = ["**CHANGED**" if c == "CHANGED" else _md(c) for c in cells]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _md_dl(items: Iterable[tuple[str, str]]) -> str:
    return "\n".join(f"- **{k}**: {_md(v)}" for k, v in items)


def render_markdown(report: Report, figures_dir: str = "figures") -> str:
    """The Markdown report; figures are referenced as ``{figures_dir}/<name>.png``."""
    out = [f"# {report.title}", "",
           f"{report.ledger_name} - profile {report.ledger.profile} - commit "
           f"{report.ledger.commit[:12]}", "", "## Run summary", "", _md_dl(_run_facts(report)),
           "", _md_table(_summary_head(report), _summary_rows(report)), "",
           "## Failures and replay commands", ""]
    if not report.failures:
        out.append("No failures: every claim was judged consistent and every control was "
                   "rejected.")
    for ex in report.failures:
        out += [f"1. {ex.regime} #{ex.index} {ex.role}: **{ex.status}** (expected "
                f"{ex.expected}), {ex.describe()}; "
                f"advice: {_md(ex.verdict.get('advice', '-'))}",
                f"   replay: `{ex.replay_command()}`"]
    if report.comparison is not None:
        from verify.compare import comparison_rows

        changed = sum(c.changed for c in report.comparison)
        head, rows = comparison_rows(report.comparison)
        out += ["", f"## Comparison with baseline {report.baseline_name}", "",
                f"{changed} regime(s) changed verdict" + (" **CHANGED**" if changed else ""), "",
                _md_table(head, rows)]
    for s in report.sections:
        info, o = s.info, s.outcome
        out += ["", f"## {info.name}: {o.verdict}", ""]
        if info.registered:
            out += [info.claim, "", _md_dl([
                ("source", info.source), ("status", info.status), ("block", info.block),
                ("claimed limit", info.claimed_kind), ("metric", info.metric),
                ("parameters", "; ".join(info.parameters) or "none"),
                ("examples", o.describe())]), "", "### Derived limit (theory, exact)", ""]
            for d in s.derivations:
                if d.error:
                    out += [f"sigma = `{d.sigma}`: derivation unavailable ({_md(d.error)})", ""]
                    continue
                out += [f"sigma = `{d.sigma}` [{d.kind}]: `{d.equation}`", ""]
                out += [f"$$ {d.latex} $$", ""] if d.latex else []
                out += [f"- {r}" for r in d.rates] + [""]
        else:
            out += [f"Regime {info.name} is not registered in this checkout: its claim and "
                    "derivation cannot be shown.", ""]
        out += ["### Verdicts", "", _md_table(_VERDICT_HEAD, (_verdict_cells(e)
                                                            for e in s.examples)), "",
                "### Error against depth (log-log)", ""]
        out += [f"![{_md(f.caption)}]({figures_dir}/{f.name})\n\n*{_md(f.caption)}*\n"
                for f in s.figures]
    out += ["", "## Provenance", "", _md_dl(_provenance(report)), "",
            "### Seeds per regime (in example order)", "",
            _md_table(["regime", "seeds"], _seeds_by_regime(report)), ""]
    return "\n".join(out)


# -------------------------------------------------------------------------------------- write


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_report(
    ledger: str | os.PathLike[str] | Ledger,
    out_dir: str | os.PathLike[str],
    *,
    baseline: str | os.PathLike[str] | Ledger | None = None,
    formats: Sequence[str] = FORMATS,
    regimes: Sequence[str] | None = None,
    title: str = "resnet-limits verification report",
    command: str = "",
) -> list[Path]:
    """Render the report of ``ledger`` into ``out_dir`` (``report.html``, ``report.md`` and
    ``figures/``, whose older PNGs are replaced) and return the paths written.

    Everything is rendered in memory first: bad input (see :func:`build_report`, or a format
    not in :data:`FORMATS`) raises before anything is written.
    """
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ReportError(f"formats={list(formats)!r}: use one or more of {list(FORMATS)}, "
                          "e.g. --format html,md")
    report = build_report(ledger, baseline=baseline, regimes=regimes, title=title,
                          command=command)
    documents: dict[str, bytes] = {}
    if "html" in formats:
        documents["report.html"] = render_html(report).encode("utf-8")
    if "md" in formats:
        documents["report.md"] = render_markdown(report).encode("utf-8")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ReportError(f"out={os.fspath(out)!r} exists and is not a folder; pass a folder")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if "md" in formats:
        fig_dir = out / "figures"
        fig_dir.mkdir(exist_ok=True)
        for f in report.figures:
            _atomic_write(fig_dir / f.name, f.png)
            written.append(fig_dir / f.name)
        for stale in set(fig_dir.glob("*.png")) - set(written):
            stale.unlink()  # figures of an earlier report in the same folder
    for name, data in documents.items():
        _atomic_write(out / name, data)
        written.append(out / name)
    return written
