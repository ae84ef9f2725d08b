"""Verification reports, rendered from stored run ledgers only (numerics are never re-run).

The implementation lives in :mod:`verify.render` (``outcomes``, ``model``, ``figures``,
``html``, ``markdown``, ``write``); this module keeps the public names importable.

A report is written as ``report.html`` (one self-contained page: inline CSS, figures as
base64 PNG, no script, no network) and ``report.md`` with ``figures/*.png``. Contents: an
INCOMPLETE banner first when the run did not finish (reason, what did not run), the run
summary (per regime its outcome word and tallies, in a stable order), the examples whose
verdict is not the expected one with their replay commands, one section per regime (a refuted
or failed regime's minimal counterexample first, the claim and source, the derivation's
disagreement beside the measured outcome, the equations derived by theory with human names,
the verdict table with the deciding statistics, folded shrink steps, log-log figures), the
comparison with a baseline, and provenance.
"""

from __future__ import annotations

from verify.render.model import (
    Example,
    Report,
    ReportError,
    build_report,
    examples_from_ledger,
    fmt,
)
from verify.render.outcomes import RegimeOutcome, expected_verdict, outcomes
from verify.render.write import FORMATS, write_report


def render_html(report: Report) -> str:
    """See :func:`verify.render.html.render_html`."""
    from verify.render.html import render_html as _render

    return _render(report)


def render_markdown(report: Report, figures_dir: str = "figures") -> str:
    """See :func:`verify.render.markdown.render_markdown`."""
    from verify.render.markdown import render_markdown as _render

    return _render(report, figures_dir)


expected_status = expected_verdict

__all__ = [
    "FORMATS",
    "Example",
    "RegimeOutcome",
    "Report",
    "ReportError",
    "build_report",
    "examples_from_ledger",
    "expected_status",
    "fmt",
    "outcomes",
    "render_html",
    "render_markdown",
    "write_report",
]
