"""One sweep of independent tasks on any executor, resumable through a store.

A :class:`Task` is a value: the name of a module-level function (``"verify.power:run_task"``)
and its keyword arguments, names and numbers only (str, int, float, bool, None and tuples of
them), never live objects. It pickles to any worker, which resolves the function by importing
its module (:func:`run_task`). Its id is a hash of that content (:attr:`Task.id`), and so is
its seed (:attr:`Task.seed`): a result never depends on which worker computed it, or when.

:func:`sweep` runs the tasks

- in this process, one after the other (``executor=None`` or ``"inline"``, the default);
- on any ``concurrent.futures.Executor``: a ``ProcessPoolExecutor``, or a Dask cluster's
  ``distributed.Client(address).get_executor()``;
- on an :class:`~verify.executors.ExecutorSpec` or its text (``"process:4"``,
  ``"dask-local:2"``, ``"dask:tcp://host:8786"``), which the sweep opens and closes itself and
  so can rebuild when a process pool breaks.

It yields one :class:`Done` per task: first those the store already holds (``cached=True``),
then each computed task as it finishes, after the store has taken its result (with
:class:`verify.sweep_ledger.LedgerStore` every record is appended to the ledger and fsynced
before the sweep moves on). Resuming is the store's job: it says which task ids are finished
and only the others run. A lost worker (a process pool's ``BrokenProcessPool``, Dask's
``KilledWorker``) loses only the tasks that were running on it; they are submitted again, at
most ``retries`` times each. Any other exception from a task stops the sweep with a
:class:`SweepError` naming the task; what finished is stored, and rerunning with the same store
computes the rest. Stopping the iteration early (``break``, Ctrl-C) marks the store
``interrupted``. Two sweeps must not share one store at the same time.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, wait
from dataclasses import dataclass
from typing import Any, Protocol

from verify.executors import ExecutorSpec, Pool
from verify.progress import Progress

__all__ = ["Done", "Store", "SweepError", "Task", "run_task", "sweep"]

_FN = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")
_NAME = re.compile(r"[A-Za-z_]\w*")
SEED_MODULUS = 2**31 - 1
"""Task seeds lie in ``[0, SEED_MODULUS)``, the range of the suite's simulation seeds."""


class SweepError(RuntimeError):
    """A sweep that could not finish: a task raised, or kept losing its worker. The message
    names the task and says how to resume."""


def _check_value(name: str, value: Any) -> None:
    if isinstance(value, tuple):
        for item in value:
            _check_value(name, item)
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"task argument {name}={value!r} is not finite; give a finite number")
    if value is None or isinstance(value, str | bool | int | float):
        return
    raise TypeError(f"task argument {name}={value!r} is a {type(value).__name__}; a task "
                    "carries names and numbers only (str, int, float, bool, None or tuples of "
                    "them): pass e.g. the claim id 'R5/strong', not the Claim object")


@dataclass(frozen=True, slots=True)
class Task:
    """One unit of a sweep: ``fn`` (``"package.module:function"``) called with ``args``.

    >>> t = Task.of("verify.power:run_task", claim="R4/growth", index=0, profile="ci",
    ...             base_seed=0)
    >>> t == Task.of("verify.power:run_task", index=0, base_seed=0, claim="R4/growth",
    ...              profile="ci") and len(t.id) == 16
    True
    """

    fn: str
    args: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.fn, str) or not _FN.fullmatch(self.fn):
            raise ValueError(f"fn={self.fn!r} must name a module-level function as "
                             "'package.module:function', e.g. 'verify.power:run_task'")
        items = tuple(sorted(tuple(pair) for pair in self.args))
        names = [k for k, _ in items]
        for name, value in items:
            if not isinstance(name, str) or not _NAME.fullmatch(name):
                raise ValueError(f"task argument name {name!r} must be an identifier")
            _check_value(name, value)
        if len(set(names)) != len(names):
            raise ValueError(f"task arguments {names} repeat a name; give each once")
        object.__setattr__(self, "args", items)

    @classmethod
    def of(cls, fn: str, **args: Any) -> Task:
        """``Task.of("pkg.mod:func", a=1, b="x")``: the task calling ``func(a=1, b="x")``."""
        return cls(fn, tuple(args.items()))

    @property
    def kwargs(self) -> dict[str, Any]:
        """The arguments as a dict (what :func:`run_task` passes to the function)."""
        return dict(self.args)

    def _content(self) -> bytes:
        return json.dumps([self.fn, [list(a) for a in self.args]], separators=(",", ":"),
                          allow_nan=False).encode()

    @property
    def id(self) -> str:
        """16 hex digits of the SHA-256 of the task's content (function name and arguments):
        equal tasks have equal ids on every machine, in every run."""
        return hashlib.sha256(self._content()).hexdigest()[:16]

    @property
    def seed(self) -> int:
        """A seed derived from the content alone (never from the worker or the order)."""
        digest = hashlib.sha256(b"seed\0" + self._content()).digest()
        return int.from_bytes(digest[:8], "big") % SEED_MODULUS

    def label(self) -> str:
        """``function(a=1, b='x') [id]``: for messages."""
        args = ", ".join(f"{k}={v!r}" for k, v in self.args)
        return f"{self.fn.rpartition(':')[2]}({args}) [{self.id}]"


def run_task(task: Task) -> Any:
    """Import ``task.fn``'s module, call the function with ``task.args``: what a worker runs."""
    module, _, name = task.fn.partition(":")
    fn = getattr(importlib.import_module(module), name, None)
    if not callable(fn):
        raise LookupError(f"task function {task.fn!r} not found: module {module!r} has no "
                          f"function {name!r} (is the same resnet-limits installed on the "
                          "worker?)")
    return fn(**task.kwargs)


@dataclass(frozen=True)
class Done:
    """A finished task: its result, whether it came from the store, its wall time (s)."""

    task: Task
    result: Any
    cached: bool = False
    wall_s: float = 0.0


class Store(Protocol):
    """Where a sweep keeps results (:class:`verify.sweep_ledger.LedgerStore` for records)."""

    def start(self, tasks: Sequence[Task]) -> Mapping[str, Any]:
        """Open for these tasks; return the results already finished, by task id."""

    def put(self, task: Task, result: Any) -> None:
        """Keep one task's result durably before the sweep yields it."""

    def finish(self, state: str, reason: str) -> None:
        """Close: ``state`` is ``complete``, ``interrupted`` or ``crashed`` (with a reason)."""


def _worker_lost(exc: BaseException) -> bool:
    """A process pool that broke, or Dask giving up on a task whose workers kept dying."""
    return isinstance(exc, BrokenExecutor) or type(exc).__name__ == "KilledWorker"


def _resume_hint(store: Store | None) -> str:
    return ("the finished tasks are stored: rerun with the same ledger to compute only the "
            "rest" if store is not None else "pass a ledger to keep finished tasks")


def sweep(tasks: Iterable[Task], *, executor: Executor | ExecutorSpec | str | None = None,
          store: Store | None = None, retries: int = 2, progress: Progress | None = None,
          max_in_flight: int | None = None,
          announce: Callable[[str], Any] | None = None) -> Iterator[Done]:
    """Run ``tasks`` (see the module doc) and yield a :class:`Done` for each.

    ``executor``: None or ``"inline"`` (this process), a ``concurrent.futures.Executor``
    (used as given, never shut down), or an :class:`ExecutorSpec` / its text (opened and
    closed here). ``store``: keeps results and says which tasks are finished. ``retries``: how
    often a task that lost its worker is submitted again. ``progress``: a
    :class:`~verify.progress.Progress` (a bar on a terminal). ``max_in_flight``: most tasks
    submitted at once to a given executor (default: all; a spec sets its own).
    ``announce``: gets one line from a spec that opens a Dask cluster (its dashboard).
    """
    todo = list(tasks)
    if strays := [t for t in todo if not isinstance(t, Task)]:
        raise TypeError(f"tasks must be verify.sweep.Task values; got {strays[0]!r}: build "
                        "them with Task.of('package.module:function', name=value, ...)")
    ids = Counter(t.id for t in todo)
    if repeated := [t.label() for t in todo if ids[t.id] > 1]:
        raise ValueError(f"tasks {sorted(set(repeated))[:3]} appear more than once; equal "
                         "tasks give equal results: give each once")
    if retries < 0:
        raise ValueError(f"retries={retries} must be >= 0")
    spec = ExecutorSpec.parse(executor) if isinstance(executor, str) else executor
    if isinstance(spec, ExecutorSpec):
        spec.require()
    elif spec is not None and not isinstance(spec, Executor):
        raise TypeError(f"executor={executor!r} is neither None, a spec such as 'process:2' "
                        "nor a concurrent.futures.Executor")
    finished = dict(store.start(todo)) if store is not None else {}
    bar = progress if progress is not None else Progress(len(todo), enabled=False)
    state, reason = "crashed", "the sweep stopped on an internal error"
    try:
        for task in todo:
            if task.id in finished:
                bar.step(cached=True)
                yield Done(task, finished[task.id], cached=True)
        pending = [t for t in todo if t.id not in finished]
        if isinstance(spec, ExecutorSpec) and spec.kind != "inline" and pending:
            with spec.open(say=announce) as pool:
                yield from _pooled(pending, pool, store, bar, retries)
        elif isinstance(spec, Executor) and pending:
            yield from _pooled(pending, Pool(spec, window=max_in_flight), store, bar, retries)
        else:
            yield from _inline(pending, store, bar)
        state, reason = "complete", ""
    except (GeneratorExit, KeyboardInterrupt):
        state, reason = "interrupted", "the sweep was stopped before all tasks finished"
        raise
    except BaseException as exc:
        reason = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        bar.close()
        if store is not None:
            store.finish(state, reason)


def _inline(pending: Sequence[Task], store: Store | None, bar: Progress) -> Iterator[Done]:
    for task in pending:
        start = time.perf_counter()
        try:
            result = run_task(task)
        except Exception as exc:
            raise SweepError(f"task {task.label()} failed: {type(exc).__name__}: {exc}; "
                             f"{_resume_hint(store)}") from exc
        if store is not None:
            store.put(task, result)
        bar.step()
        yield Done(task, result, wall_s=time.perf_counter() - start)


def _pooled(pending: Sequence[Task], pool: Pool, store: Store | None, bar: Progress,
            retries: int) -> Iterator[Done]:
    """Submit up to ``pool.window`` tasks at a time; resubmit those whose worker was lost,
    rebuilding a broken pool where ``pool`` can (the tasks still running on it go back to
    the queue without counting as lost: only a task whose own future failed counts)."""
    queue = deque(pending)
    lost: Counter[str] = Counter()
    running: dict[Future, tuple[Task, float]] = {}

    def fill() -> bool:
        """Submit while the window allows; True when the executor turned out broken."""
        while queue and (pool.window is None or len(running) < pool.window):
            try:
                future = pool.executor.submit(run_task, queue[0])
            except BrokenExecutor:
                return True
            running[future] = (queue.popleft(), time.perf_counter())
        return False

    broken = False
    try:
        while queue or running:
            if broken:
                if not pool.can_rebuild:
                    raise SweepError("the executor broke (a worker process died) and was "
                                     "given by the caller, so the sweep cannot rebuild it; "
                                     "pass a spec such as 'process:2' instead, or rerun: "
                                     f"{_resume_hint(store)}")
                queue.extendleft(t for t, _ in reversed(list(running.values())))
                running.clear()
                pool.rebuild()
            broken = fill()
            if broken and not running:
                continue
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: running[f][0].id):
                task, start = running.pop(future)
                try:
                    result = future.result()
                except Exception as exc:
                    if not _worker_lost(exc):
                        raise SweepError(f"task {task.label()} failed: {type(exc).__name__}: "
                                         f"{exc}; {_resume_hint(store)}") from exc
                    lost[task.id] += 1
                    if lost[task.id] > retries:
                        raise SweepError(f"task {task.label()} lost its worker {lost[task.id]}"
                                         f" times ({type(exc).__name__}: {exc}); it may kill "
                                         "its worker itself (memory?); "
                                         f"{_resume_hint(store)}") from exc
                    queue.appendleft(task)
                    broken |= isinstance(exc, BrokenExecutor)
                    continue
                if store is not None:
                    store.put(task, result)
                bar.step()
                yield Done(task, result, wall_s=time.perf_counter() - start)
    finally:
        for future in running:
            future.cancel()
