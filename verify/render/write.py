"""Write a report to a folder: everything rendered in memory first, then each file written
atomically (temporary file, fsync, ``os.replace``), as the ledger is."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from verify.ledger import Ledger
from verify.render.model import Report, ReportError, build_report

__all__ = ["FORMATS", "write_report"]

FORMATS: tuple[str, ...] = ("html", "md")


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_report(
    ledger: str | os.PathLike[str] | Ledger | Report,
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

    Bad input (see :func:`~verify.render.model.build_report`, or a format not in
    :data:`FORMATS`) raises before anything is written.
    """
    from verify.render.html import render_html
    from verify.render.markdown import render_markdown

    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ReportError(f"formats={list(formats)!r}: use one or more of {list(FORMATS)}, "
                          "e.g. --format html,md")
    report = ledger if isinstance(ledger, Report) else build_report(
        ledger, baseline=baseline, regimes=regimes, title=title, command=command)
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
