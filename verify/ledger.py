"""The run ledger: one JSON document per run, written so that no finished record is lost.

Layout on disk, for a final ledger ``runs/2025-01-01T12-00-00.json``:

``runs/2025-01-01T12-00-00.<worker>.partial.jsonl``
    One file per process (pytest-xdist worker id such as ``gw0``, or ``main``), written while
    the run goes on. Line 1 is the header ``{"type": "header", ...}``; each further line is
    ``{"type": "record", "record": {...}}``, appended with ``flush`` + ``fsync`` as the record
    arrives. A crash or Ctrl-C leaves every completed line readable; at worst the last line is
    torn, and readers ignore a torn *last* line.
``runs/2025-01-01T12-00-00.json``
    Written by :func:`finalize_ledger` (or :meth:`LedgerWriter.finalize`): all partial files of
    the ledger are merged (workers in name order, records in arrival order), written to a
    temporary file in the same folder, fsynced and moved into place with ``os.replace`` (atomic
    on POSIX and Windows); the partials are removed only afterwards.

Final document::

    {"schema_version": 1, "created": ISO-8601 UTC, "finalized": ISO-8601 UTC,
     "commit": "<git HEAD>" | "unknown", "versions": {"python": ..., "numpy": ..., ...},
     "machine": {"platform": ..., "machine": ..., "cpu_count": ..., "device": ...},
     "profile": "ci", "records": [ {...}, ... ]}

With pytest-xdist each worker appends to its own partial file; only the controller finalizes,
after the workers are done (finalizing while another process still appends would miss its
later records). Values are made JSON-safe on the way in: numpy scalars and arrays become Python
numbers and lists, tuples become lists, objects with ``to_dict()`` are converted, and
non-finite floats become ``None`` (strict JSON has no NaN or Infinity).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
import platform
import re
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "SCHEMA_VERSION",
    "Ledger",
    "LedgerError",
    "LedgerWriter",
    "collect_versions",
    "finalize_ledger",
    "git_commit",
    "iter_records",
    "jsonable",
    "load_ledger",
    "machine_info",
    "make_record",
    "partial_paths",
    "worker_id",
]

SCHEMA_VERSION = 1
_PARTIAL_SUFFIX = ".partial.jsonl"
_VERSIONED_PACKAGES = ("numpy", "scipy", "torch", "sympy", "hypothesis")


class LedgerError(Exception):
    """A ledger file that cannot be read: missing, not JSON, torn header or other schema."""


def _utc_now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def jsonable(value: Any) -> Any:
    """Convert ``value`` to strict-JSON-safe Python data (see the module docstring)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | np.integer) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, float | np.floating):
        x = float(value)
        return x if math.isfinite(x) else None
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return jsonable(to_dict())
    raise TypeError(
        f"value={value!r} of type {type(value).__name__} is not JSON-serialisable; pass numbers, "
        "strings, lists, dicts or objects with a to_dict() method"
    )


def worker_id() -> str:
    """The pytest-xdist worker id (``PYTEST_XDIST_WORKER``, e.g. ``gw0``), else ``"main"``."""
    raw = os.environ.get("PYTEST_XDIST_WORKER", "") or "main"
    return re.sub(r"[^A-Za-z0-9_-]", "_", raw)


def git_commit(cwd: str | os.PathLike[str] | None = None) -> str:
    """``git rev-parse HEAD`` in ``cwd``, or ``"unknown"`` (no git, no repo, no commit)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    sha = out.stdout.strip()
    if out.returncode != 0 or not re.fullmatch(r"[0-9a-f]{40,64}", sha):
        return "unknown"
    return sha


def collect_versions() -> dict[str, str]:
    """Versions of Python and the numeric stack; packages not installed are left out.

    Read from package metadata, so that torch is never imported just to learn its version.
    """
    versions = {"python": platform.python_version()}
    for name in _VERSIONED_PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions


def machine_info(device: str = "cpu") -> dict[str, Any]:
    """Platform string, architecture, CPU count and the caller's device string."""
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python_implementation": platform.python_implementation(),
        "cpu_count": os.cpu_count(),
        "device": str(device),
    }


def make_record(
    *,
    regime: str,
    parameters: Mapping[str, Any],
    seed: int,
    node_id: str = "",
    table: Any = None,
    fit: Any = None,
    verdict: Any = None,
    replay: str = "",
    **extra: Any,
) -> dict[str, Any]:
    """Build one ledger record. ``table``, ``fit`` and ``verdict`` may be dicts or objects with
    ``to_dict()`` (ErrorTable, RateFit, Verdict); ``extra`` keys are kept as given."""
    record: dict[str, Any] = {
        "regime": regime,
        "parameters": dict(parameters),
        "seed": seed,
        "node_id": node_id,
        "table": table,
        "fit": fit,
        "verdict": verdict,
        "replay": replay,
    }
    record.update(extra)
    return jsonable(record)


def partial_paths(path: str | os.PathLike[str]) -> list[Path]:
    """The partial files (all workers) belonging to the final ledger ``path``, sorted."""
    final = Path(path)
    pattern = f"{final.stem}.*{_PARTIAL_SUFFIX}"
    stem_re = re.compile(re.escape(final.stem) + r"\.[A-Za-z0-9_-]+" + re.escape(_PARTIAL_SUFFIX))
    if not final.parent.is_dir():
        return []
    return sorted(p for p in final.parent.glob(pattern) if stem_re.fullmatch(p.name))


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Ledger:
    """A loaded ledger. ``complete`` is False when read from partial files (an interrupted or
    still-running run); ``sources`` names the files read."""

    schema_version: int
    created: str
    commit: str
    versions: Mapping[str, str]
    machine: Mapping[str, Any]
    profile: str
    records: tuple[dict[str, Any], ...]
    complete: bool
    finalized: str | None = None
    sources: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The final-ledger document."""
        return {
            "schema_version": self.schema_version,
            "created": self.created,
            "finalized": self.finalized,
            "commit": self.commit,
            "versions": dict(self.versions),
            "machine": dict(self.machine),
            "profile": self.profile,
            "records": list(self.records),
        }


class LedgerWriter:
    """Append-only writer of this process's partial ledger file.

    >>> w = LedgerWriter("runs/run.json", profile="ci")       # doctest: +SKIP
    >>> w.append(make_record(regime="linear", parameters={}, seed=0))  # doctest: +SKIP
    >>> w.finalize()                                           # doctest: +SKIP

    Each :meth:`append` writes one JSON line and fsyncs it before returning. Usable as a
    context manager, which closes (not finalizes) the partial file on exit.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        profile: str,
        device: str = "cpu",
        worker: str | None = None,
        commit: str | None = None,
    ) -> None:
        self.path = Path(path)
        if self.path.suffix != ".json":
            raise ValueError(f"path={os.fspath(path)!r} must end in .json (the final ledger)")
        wid = worker if worker is not None else worker_id()
        if not re.fullmatch(r"[A-Za-z0-9_-]+", wid):
            raise ValueError(f"worker={wid!r} must match [A-Za-z0-9_-]+ (e.g. 'gw0')")
        self.worker = wid
        self.partial_path = self.path.with_name(f"{self.path.stem}.{wid}{_PARTIAL_SUFFIX}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.header = {
            "type": "header",
            "schema_version": SCHEMA_VERSION,
            "created": _utc_now(),
            "commit": commit if commit is not None else git_commit(self.path.parent),
            "versions": collect_versions(),
            "machine": machine_info(device),
            "profile": profile,
            "worker": wid,
        }
        self.n_records = 0
        self._fh = open(self.partial_path, "a", encoding="utf-8")
        if self._fh.tell() == 0:
            self._write_line(self.header)
        _fsync_dir(self.path.parent)

    def _write_line(self, obj: Mapping[str, Any]) -> None:
        line = json.dumps(obj, allow_nan=False, separators=(",", ":"))
        self._fh.write(line + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def append(self, record: Mapping[str, Any]) -> None:
        """Write one record durably (one JSON line, flush, fsync)."""
        if self._fh.closed:
            raise LedgerError(f"ledger writer for {self.partial_path} is closed; open a new one")
        if not isinstance(record, Mapping):
            raise TypeError(f"record={record!r} must be a mapping (use make_record)")
        data = jsonable(record)
        data.setdefault("worker", self.worker)
        self._write_line({"type": "record", "record": data})
        self.n_records += 1

    def close(self) -> None:
        """Close the partial file (records stay in it, readable by :func:`load_ledger`)."""
        if not self._fh.closed:
            self._fh.close()

    def finalize(self) -> Path:
        """Close and merge *all* workers' partial files into the final JSON (see module doc)."""
        self.close()
        return finalize_ledger(self.path)

    def __enter__(self) -> LedgerWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_partial(path: Path) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """Header and complete records of one partial file; a torn last line is ignored.

    A file without a single complete line (the writer died while writing its header) gives
    ``(None, [])``.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LedgerError(f"cannot read partial ledger {path}: {exc}") from None
    lines = text.split("\n")
    # A complete file ends with "\n", leaving a final empty string; anything else is torn.
    complete_lines, tail = lines[:-1], lines[-1]
    parsed: list[Any] = []
    for number, line in enumerate(complete_lines, start=1):
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if number == len(complete_lines) and not tail:
                break  # torn last line whose newline made it to disk: ignore
            raise LedgerError(
                f"corrupt line {number} in partial ledger {path}: {exc.msg}"
            ) from None
    del tail  # a last line without newline is a torn write: ignored by design
    if not parsed:
        return None, []
    if not isinstance(parsed[0], dict) or parsed[0].get("type") != "header":
        raise LedgerError(f"partial ledger {path} has no complete header line")
    header = parsed[0]
    _check_schema(header, path)
    records = []
    for number, obj in enumerate(parsed[1:], start=2):
        if not (isinstance(obj, dict) and obj.get("type") == "record" and "record" in obj):
            raise LedgerError(f"line {number} of partial ledger {path} is not a record line")
        records.append(obj["record"])
    return header, records


def _check_schema(doc: Mapping[str, Any], path: Path) -> None:
    version = doc.get("schema_version")
    if version != SCHEMA_VERSION:
        raise LedgerError(
            f"ledger {path} has schema_version={version!r}; this code reads {SCHEMA_VERSION} "
            "(re-run, or read it with the matching version of verify)"
        )


def _merge_partials(paths: list[Path], sources_for: Path) -> Ledger:
    if not paths:
        raise LedgerError(f"no ledger at {sources_for} and no partial files beside it")
    headers, records, used = [], [], []
    for p in paths:
        header, recs = _read_partial(p)
        if header is None:
            continue
        headers.append(header)
        records.extend(recs)
        used.append(p)
    if not headers:
        raise LedgerError(f"partial ledger(s) {[str(p) for p in paths]} hold no complete header")
    first = min(headers, key=lambda h: str(h.get("created", "")))
    profiles = {str(h.get("profile")) for h in headers}
    profile = ",".join(sorted(profiles))
    return Ledger(
        schema_version=SCHEMA_VERSION,
        created=str(first.get("created", "")),
        commit=str(first.get("commit", "unknown")),
        versions=dict(first.get("versions", {})),
        machine=dict(first.get("machine", {})),
        profile=profile,
        records=tuple(records),
        complete=False,
        sources=tuple(str(p) for p in used),
    )


def load_ledger(path: str | os.PathLike[str]) -> Ledger:
    """Read a final ledger (``*.json``) or partial ledger(s).

    * ``*.partial.jsonl``: that one partial file (complete records, torn last line ignored).
    * ``*.json`` that exists: the final document.
    * ``*.json`` that does not exist: all its partial files merged (an interrupted run).

    Raises :class:`LedgerError` with a one-line message for missing or unreadable files, a torn
    header, a corrupt line before the last, or a ``schema_version`` other than
    :data:`SCHEMA_VERSION`.
    """
    p = Path(path)
    if p.name.endswith(_PARTIAL_SUFFIX):
        if not p.is_file():
            raise LedgerError(f"no partial ledger at {p}")
        return _merge_partials([p], p)
    if not p.exists():
        return _merge_partials(partial_paths(p), p)
    try:
        with open(p, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, UnicodeDecodeError) as exc:
        raise LedgerError(f"cannot read ledger {p}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise LedgerError(
            f"ledger {p} is not valid JSON ({exc.msg} at line {exc.lineno}); a torn final file "
            "should not happen (it is written by os.replace): check the path"
        ) from None
    if not isinstance(doc, dict):
        raise LedgerError(f"ledger {p} holds a {type(doc).__name__}, not a ledger object")
    _check_schema(doc, p)
    records = doc.get("records")
    if not isinstance(records, list):
        raise LedgerError(f"ledger {p} has no 'records' list")
    return Ledger(
        schema_version=SCHEMA_VERSION,
        created=str(doc.get("created", "")),
        commit=str(doc.get("commit", "unknown")),
        versions=dict(doc.get("versions", {})),
        machine=dict(doc.get("machine", {})),
        profile=str(doc.get("profile", "")),
        records=tuple(records),
        complete=True,
        finalized=doc.get("finalized"),
        sources=(str(p),),
    )


def _atomic_write_json(path: Path, doc: Mapping[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, allow_nan=False, indent=1)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def finalize_ledger(path: str | os.PathLike[str]) -> Path:
    """Merge every partial file of ``path`` into the final JSON ledger, then remove them.

    Write order: temporary file, fsync, ``os.replace``, fsync of the folder, and only then the
    partials are deleted, so a crash at any point leaves either the partials or the final file
    (or both). Call it once, after every writer has closed (the xdist controller does it).
    """
    final = Path(path)
    paths = partial_paths(final)
    ledger = _merge_partials(paths, final)
    doc = ledger.to_dict()
    doc["finalized"] = _utc_now()
    _atomic_write_json(final, doc)
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    return final


def iter_records(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Iterate over the records of a final or partial ledger (see :func:`load_ledger`)."""
    yield from load_ledger(path).records
