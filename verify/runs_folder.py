"""The runs folder (``reports/runs``): list runs, recover a killed run, prune old runs.

A *run* is one ledger stem: its final ledger ``<stem>.json`` and/or its partial files
``<stem>.<worker>.partial.jsonl`` (a run without a final ledger was killed, or is still
running). Runs are ordered newest first by their header's ``created`` time (file time when
unreadable).
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass
from pathlib import Path

from verify.ledger import LedgerError, load_ledger, partial_paths
from verify.ledger_writer import finalize_ledger

__all__ = ["RunInfo", "list_runs", "prune_runs", "recover_run"]

_PARTIAL = ".partial.jsonl"


@dataclass(frozen=True)
class RunInfo:
    """One run of the folder, as ``resnet-limits runs`` lists it."""

    stem: str
    final: Path | None  # the final ledger, if written
    partials: tuple[Path, ...]
    created: str
    profile: str
    state: str  # "complete", "incomplete (<reason>)" or "unreadable: <why>"
    records: int
    regimes: tuple[str, ...]
    mtime: float

    @property
    def complete(self) -> bool:
        return self.final is not None and self.state == "complete"

    @property
    def incomplete(self) -> bool:
        """Not a complete final ledger: killed (partials only), interrupted, crashed, ..."""
        return not self.complete

    @property
    def path(self) -> Path:
        """The path to pass to ``report`` (the final ledger, else its first partial)."""
        return self.final if self.final is not None else self.partials[0]

    @property
    def files(self) -> tuple[Path, ...]:
        return ((self.final,) if self.final is not None else ()) + self.partials


def _stems(folder: Path) -> dict[str, None]:
    stems: dict[str, None] = {}
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or not p.is_file():
            continue
        if p.name.endswith(_PARTIAL):
            stems.setdefault(p.name[: -len(_PARTIAL)].rsplit(".", 1)[0], None)
        elif p.suffix == ".json":
            stems.setdefault(p.stem, None)
    return stems


def _info(folder: Path, stem: str) -> RunInfo:
    final = folder / f"{stem}.json"
    partials = tuple(partial_paths(final))
    final_or_none = final if final.is_file() else None
    files = ((final,) if final_or_none else ()) + partials
    mtime = max((f.stat().st_mtime for f in files), default=0.0)
    try:
        led = load_ledger(final)
    except LedgerError as exc:
        stamp = _dt.datetime.fromtimestamp(mtime, _dt.UTC).isoformat(timespec="seconds")
        return RunInfo(stem, final_or_none, partials, stamp, "-", f"unreadable: {exc}", 0, (),
                       mtime)
    state = led.state.word
    return RunInfo(stem, final_or_none, partials, led.created, led.profile, state,
                   len(led.records), tuple(sorted({str(r["regime"]) for r in led.records})),
                   mtime)


def list_runs(folder: str | os.PathLike[str]) -> list[RunInfo]:
    """Every run in ``folder``, newest first (an absent folder has none)."""
    root = Path(folder)
    if not root.is_dir():
        return []
    runs = [_info(root, stem) for stem in _stems(root)]
    return sorted(runs, key=lambda r: (r.created, r.mtime, r.stem), reverse=True)


def recover_run(folder: str | os.PathLike[str], target: str | None = None) -> Path:
    """Merge a killed run's partial files into its final ledger (marked recovered; its state
    stays incomplete) and return the ledger's path.

    ``target``: a partial file, a ``.json`` path or a run stem; default the newest run that
    has partial files and no final ledger.
    """
    root = Path(folder)
    if target is None:
        pending = [r for r in list_runs(root) if r.final is None and r.partials]
        if not pending:
            raise LedgerError(f"no run in {root} has partial files without a final ledger; "
                              "nothing to recover")
        final = root / f"{pending[0].stem}.json"
    else:
        p = Path(target)
        if p.name.endswith(_PARTIAL):
            final = p.with_name(p.name[: -len(_PARTIAL)].rsplit(".", 1)[0] + ".json")
        elif p.suffix == ".json":
            final = p
        else:
            final = (p.parent if p.parent != Path(".") else root) / f"{p.name}.json"
    if not partial_paths(final):
        raise LedgerError(f"no partial files for {final}; `resnet-limits runs` lists the runs "
                          "that can be recovered")
    if final.exists():
        raise LedgerError(f"{final} already exists beside partial files of the same run (a "
                          "finalize stopped before removing them); its records are in the "
                          "final ledger: delete the partials or run `resnet-limits runs prune`")
    return finalize_ledger(final, recovered=True)


def prune_runs(folder: str | os.PathLike[str], *, keep: int | None = None,
               older_than_days: float | None = None, dry_run: bool = False,
               now: float | None = None) -> list[Path]:
    """Delete old runs (final ledgers and their partial files) and return the files deleted
    (or, with ``dry_run``, that would be). A run goes when it is beyond the ``keep`` newest,
    or older than ``older_than_days``; the newest run is never deleted."""
    if keep is None and older_than_days is None:
        raise ValueError("give --keep N and/or --older-than DAYS (nothing to prune otherwise)")
    if keep is not None and keep < 1:
        raise ValueError(f"--keep={keep}: keep at least 1 run (the newest is never deleted)")
    if older_than_days is not None and not older_than_days >= 0:
        raise ValueError(f"--older-than={older_than_days}: give a number of days >= 0")
    runs = list_runs(folder)
    cutoff = None
    if older_than_days is not None:
        cutoff = (now if now is not None else _dt.datetime.now(_dt.UTC).timestamp()) \
            - older_than_days * 86400.0
    doomed: list[Path] = []
    for rank, run in enumerate(runs):
        if rank == 0:
            continue
        beyond = keep is not None and rank >= keep
        old = cutoff is not None and run.mtime < cutoff
        if (keep is None or beyond) and (cutoff is None or old):
            doomed.extend(run.files)
    if not dry_run:
        for f in doomed:
            f.unlink(missing_ok=True)
    return doomed
