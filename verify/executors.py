"""Where a sweep runs: ``inline``, ``process:N``, ``dask-local:N`` or a Dask scheduler.

:class:`ExecutorSpec` is the value the command line gives (``--executor``, ``--scheduler``);
:meth:`ExecutorSpec.open` turns it into a :class:`Pool` (a ``concurrent.futures.Executor``
plus what the sweep needs to know about it) and closes it afterwards:

``inline``         no executor: the sweep runs tasks in this process, one after the other.
``process:N``      a ``ProcessPoolExecutor`` of N fresh (spawned) processes on this machine;
                   at most N tasks are submitted at once, so a worker that dies takes only its
                   own task down, and the sweep rebuilds the pool and submits it again.
``dask-local:N``   a ``distributed.LocalCluster`` of N single-threaded worker processes (with
                   the dashboard, whose address is announced), and its client's executor.
``dask:ADDRESS``   (``--scheduler ADDRESS``) ``distributed.Client(ADDRESS).get_executor()``: a
                   running Dask scheduler, e.g. one that dask-jobqueue started on SLURM. Its
                   workers need the same resnet-limits installed.

``distributed`` is an optional extra (``pip install 'resnet-limits[dask]'``), imported only
when a Dask executor is opened.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import multiprocessing
import os
import re
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

__all__ = ["KINDS", "ExecutorError", "ExecutorSpec", "Pool", "add_executor_arguments"]

KINDS = ("inline", "process", "dask-local", "dask")
MAX_WORKERS = 4096
_ADDRESS = re.compile(r"[A-Za-z0-9_.:/\[\]@%+-]{1,200}")
_USAGE = "use inline, process:N, dask-local:N or --scheduler ADDRESS"


class ExecutorError(ValueError):
    """An executor that cannot be set up: a malformed spec, a missing optional package, a
    scheduler that does not answer. The message says how to fix it."""


class Pool:
    """An open executor for a sweep: ``executor``, ``window`` (most tasks submitted at once;
    None: all) and, for process pools, :meth:`rebuild` after a worker died."""

    def __init__(self, executor: Executor, *, window: int | None = None,
                 make: Callable[[], Executor] | None = None) -> None:
        self.executor = executor
        self.window = window
        self._make = make

    @property
    def can_rebuild(self) -> bool:
        return self._make is not None

    def rebuild(self) -> Executor:
        """Shut the broken executor down (without waiting) and start a fresh one."""
        if self._make is None:
            raise ExecutorError("this executor was given by the caller and cannot be rebuilt")
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.executor = self._make()
        return self.executor


@dataclass(frozen=True)
class ExecutorSpec:
    """``kind`` in :data:`KINDS`, ``workers`` for process and dask-local, ``address`` for dask.

    >>> ExecutorSpec.parse("process:2")
    ExecutorSpec(kind='process', workers=2, address='')
    >>> ExecutorSpec.parse(None, scheduler="tcp://10.0.0.5:8786").kind
    'dask'
    """

    kind: str = "inline"
    workers: int = 1
    address: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ExecutorError(f"executor kind {self.kind!r} is unknown; {_USAGE}")
        if not isinstance(self.workers, int) or not 1 <= self.workers <= MAX_WORKERS:
            raise ExecutorError(f"workers={self.workers!r} must be an integer 1..{MAX_WORKERS}")
        if self.kind == "dask" and not _ADDRESS.fullmatch(self.address):
            raise ExecutorError(f"scheduler address {self.address[:60]!r} must look like "
                                "tcp://HOST:8786 (letters, digits and :/._-@[]%+ only)")

    @classmethod
    def parse(cls, text: str | None, scheduler: str | None = None) -> ExecutorSpec:
        """The spec of ``--executor TEXT`` and ``--scheduler ADDRESS`` (at most one of them
        beyond ``inline``); ``dask:ADDRESS`` is the same as ``--scheduler ADDRESS``."""
        text = (text or "inline").strip()
        if scheduler:
            if text != "inline":
                raise ExecutorError(f"--executor {text!r} and --scheduler {scheduler!r} both "
                                    "say where to run: give one of them")
            return cls("dask", address=scheduler.strip())
        if text == "inline":
            return cls()
        kind, sep, rest = text.partition(":")
        if kind == "dask" and sep:
            return cls("dask", address=rest)
        if kind in ("process", "dask-local") and sep:
            if not rest.isdigit():
                raise ExecutorError(f"--executor {text!r}: N must be a whole number of "
                                    f"workers, e.g. {kind}:2")
            return cls(kind, workers=int(rest))
        raise ExecutorError(f"--executor {text[:60]!r} is not understood; {_USAGE}")

    @property
    def text(self) -> str:
        """The spec as the command line writes it."""
        if self.kind == "inline":
            return "inline"
        return f"dask:{self.address}" if self.kind == "dask" else f"{self.kind}:{self.workers}"

    def require(self) -> None:
        """Raise :class:`ExecutorError` now if this executor's optional package is missing
        (before a sweep writes anything)."""
        if self.kind in ("dask", "dask-local"):
            _import_distributed(self)

    def _process_pool(self) -> Executor:
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_quiet_on_ctrl_c)

    @contextlib.contextmanager
    def open(self, say: Callable[[str], Any] | None = None) -> Iterator[Pool]:
        """Start the executor, yield it as a :class:`Pool`, close it on exit. ``say`` gets one
        line about where the work goes (the dashboard of a Dask cluster)."""
        if self.kind == "inline":
            raise ExecutorError("inline runs in this process and opens no executor")
        if self.kind == "process":
            pool = Pool(self._process_pool(), window=self.workers, make=self._process_pool)
            try:
                yield pool
            finally:
                pool.executor.shutdown(wait=True, cancel_futures=True)
            return
        with _dask_client(self) as client:
            if say is not None:
                board = (f"dashboard {client.dashboard_link}" if importlib.util.find_spec(
                    "bokeh") else "no dashboard (pip install bokeh for one)")
                say(f"dask: scheduler {client.scheduler.address}, {board}")
            executor = client.get_executor(pure=False)
            try:
                yield Pool(executor)
            finally:
                executor.shutdown(wait=False)


def _exit_at_once(signum: int, frame: Any) -> None:
    os._exit(128 + signum)


def _quiet_on_ctrl_c() -> None:
    """In a pool's worker process: Ctrl-C (which the terminal sends to every process of the
    group) ends the worker at once and without a traceback. It holds nothing to save, because
    the sweep stores each result in the parent, which handles the interrupt itself."""
    signal.signal(signal.SIGINT, _exit_at_once)


def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    """``--executor SPEC`` and ``--scheduler ADDRESS`` for a sweep command; read them back
    with ``ExecutorSpec.parse(args.executor, args.scheduler)``."""
    parser.add_argument("--executor", default=None, metavar="SPEC",
                        help="inline (default), process:N (N local processes) or "
                             "dask-local:N (a local Dask cluster with its dashboard)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="a running Dask scheduler, e.g. tcp://HOST:8786 (needs "
                             "resnet-limits[dask]; the workers need resnet-limits)")


def _import_distributed(spec: ExecutorSpec) -> Any:
    try:
        import distributed
    except ImportError:
        raise ExecutorError(f"--executor {spec.text} needs the optional package distributed: "
                            "pip install 'resnet-limits[dask]'") from None
    return distributed


@contextlib.contextmanager
def _dask_client(spec: ExecutorSpec) -> Iterator[Any]:
    distributed = _import_distributed(spec)
    if spec.kind == "dask-local":
        # the dashboard on its usual port where it can be shown (bokeh), else any free port
        board = ":8787" if importlib.util.find_spec("bokeh") else ":0"
        with distributed.LocalCluster(n_workers=spec.workers, threads_per_worker=1,
                                      processes=True, dashboard_address=board) as cluster:
            with distributed.Client(cluster) as client:
                yield client
        return
    try:
        client = distributed.Client(spec.address, timeout="30s")
    except (OSError, TimeoutError) as exc:
        raise ExecutorError(f"no Dask scheduler answers at {spec.address!r} ({exc}); start one "
                            "(dask scheduler, or dask-jobqueue's SLURMCluster) and pass its "
                            "address, e.g. --scheduler tcp://HOST:8786") from None
    with client:
        yield client
