"""verify.sweep: tasks as values, one executor seam, a resumable ledger, lost workers.

The executors are real: a spawned process pool and a Dask ``LocalCluster`` of two worker
processes. The tasks are tiny (``sweep_probe.probe``: one record from its arguments, with a
file counting computations, a marker that kills the worker once, a marker that makes it
raise), so every test here costs seconds; the same comparison on real claim checks is the
slow test at the end.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from verify.executors import ExecutorError, ExecutorSpec
from verify.ledger import LedgerError, load_ledger
from verify.progress import Progress
from verify.sweep import SweepError, Task, sweep
from verify.sweep_ledger import LedgerStore

HERE = Path(__file__).resolve().parent
PROBE = "sweep_probe:probe"


@pytest.fixture(scope="module", autouse=True)
def probe_importable():
    """Workers import ``sweep_probe`` by name: spawned processes inherit this sys.path."""
    sys.path.insert(0, str(HERE))
    yield
    sys.path.remove(str(HERE))


@pytest.fixture(scope="module")
def dask_cluster(probe_importable):
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed "
                                      "(pip install 'resnet-limits[dask]')")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        yield cluster


def probes(n: int, **extra) -> list[Task]:
    return [Task.of(PROBE, value=v, **extra) for v in range(1, n + 1)]


def counts(counter: Path) -> list[int]:
    return sorted(int(x) for x in counter.read_text().split()) if counter.exists() else []


def by_task(dones) -> dict[str, list[dict]]:
    return {d.task.id: [r.to_json() for r in d.result] for d in dones}


def nodes_once(path: Path) -> dict[str, int]:
    """node id -> number of counted records, asserting one outcome per node."""
    led = load_ledger(path)
    outcomes = [e["node_id"] for e in led.events if e["kind"] == "outcome"]
    assert len(outcomes) == len(set(outcomes)), "a task was recorded twice"
    per: dict[str, int] = {}
    for rec in led.records:
        per[rec["node_id"]] = per.get(rec["node_id"], 0) + 1
    return per


# --- tasks are values ------------------------------------------------------------------------

def test_task_id_and_seed_come_from_the_content_alone() -> None:
    a = Task.of(PROBE, value=3, sleep=0.5)
    assert a == Task.of(PROBE, sleep=0.5, value=3)  # argument order is irrelevant
    assert a.id == Task.of(PROBE, sleep=0.5, value=3).id and a.seed == Task.of(
        PROBE, value=3, sleep=0.5).seed
    assert len({a.id, Task.of(PROBE, value=4, sleep=0.5).id, Task.of(PROBE, value=3).id,
                Task.of(PROBE, value=3.0, sleep=0.5).id, Task.of("other:probe", value=3,
                                                                 sleep=0.5).id}) == 5
    # pinned: a ledger written today must resume tomorrow, on another machine
    assert Task.of("verify.power:run_task", claim="R4/growth", index=0, profile="ci",
                   base_seed=0).id == "6a293c28cf66324a"
    assert 0 <= a.seed < 2**31 - 1 and a.seed != Task.of(PROBE, value=4, sleep=0.5).seed


def test_a_task_refuses_live_objects_and_bad_names() -> None:
    with pytest.raises(TypeError, match=r"names and numbers only.*not the Claim object"):
        Task.of(PROBE, value=object())
    with pytest.raises(ValueError, match="not finite"):
        Task.of(PROBE, value=float("nan"))
    with pytest.raises(ValueError, match="'package.module:function'"):
        Task.of("probe", value=1)
    with pytest.raises(ValueError, match="more than once"):
        list(sweep(probes(2) + probes(1)))


# --- where it runs ----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "scheduler", "spec"), [
    (None, None, ExecutorSpec()), ("inline", None, ExecutorSpec()),
    ("process:3", None, ExecutorSpec("process", 3)),
    ("dask-local:2", None, ExecutorSpec("dask-local", 2)),
    (None, "tcp://10.1.2.3:8786", ExecutorSpec("dask", address="tcp://10.1.2.3:8786")),
    ("dask:tls://head:8786", None, ExecutorSpec("dask", address="tls://head:8786"))])
def test_executor_specs_parse(text, scheduler, spec) -> None:
    assert ExecutorSpec.parse(text, scheduler) == spec
    assert ExecutorSpec.parse(spec.text) == spec


@pytest.mark.parametrize(("text", "scheduler", "match"), [
    ("process:0", None, "integer 1"), ("process:x", None, "whole number"),
    ("process", None, "not understood"), ("gpu:2", None, "not understood"),
    ("process:2", "tcp://h:8786", "give one of them"),
    (None, "tcp://h:8786; rm -rf /", "must look like")])
def test_bad_executor_specs_say_what_to_write(text, scheduler, match) -> None:
    with pytest.raises(ExecutorError, match=match):
        ExecutorSpec.parse(text, scheduler)


def test_dask_without_the_extra_names_the_extra(monkeypatch, tmp_path) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    ledger = tmp_path / "run.json"
    with pytest.raises(ExecutorError, match=r"pip install 'resnet-limits\[dask\]'"):
        list(sweep(probes(1), executor="dask-local:1", store=LedgerStore(ledger, profile="ci")))
    assert not list(tmp_path.iterdir())  # refused before the ledger was started


def test_same_records_inline_on_a_process_pool_and_on_dask(tmp_path, dask_cluster) -> None:
    tasks = probes(6)
    inline = by_task(sweep(tasks))
    pool = by_task(sweep(tasks, executor="process:2"))
    dask = by_task(sweep(tasks, executor=ExecutorSpec.parse(
        None, scheduler=dask_cluster.scheduler_address)))
    assert inline == pool == dask and len(inline) == 6
    # and the ledgers hold the same records, whichever executor wrote them
    stored = []
    on_dask = ExecutorSpec.parse(None, scheduler=dask_cluster.scheduler_address)
    for name, spec in (("a", "inline"), ("b", "process:2"), ("c", on_dask)):
        list(sweep(tasks, executor=spec, store=LedgerStore(tmp_path / f"{name}.json",
                                                           profile="ci")))
        recs = load_ledger(tmp_path / f"{name}.json").records
        stored.append(sorted(json.dumps({k: v for k, v in r.items() if k != "worker"},
                                        sort_keys=True) for r in recs))
    assert stored[0] == stored[1] == stored[2] and len(stored[0]) == 6


@pytest.mark.filterwarnings("ignore:Port 8787 is already in use:UserWarning")  # with bokeh
def test_dask_local_starts_its_own_cluster_and_announces_it(probe_importable) -> None:
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    lines: list[str] = []
    got = by_task(sweep(probes(3), executor="dask-local:2", announce=lines.append))
    assert got == by_task(sweep(probes(3)))
    assert len(lines) == 1 and lines[0].startswith("dask: scheduler tcp://127.0.0.1:")


# --- lost workers -----------------------------------------------------------------------------

def test_a_dask_worker_killed_mid_task_loses_only_that_task(tmp_path, dask_cluster) -> None:
    counter, marker = tmp_path / "count", tmp_path / "crashed"
    tasks = probes(6, counter=str(counter), sleep=0.2)
    tasks[2] = Task.of(PROBE, value=3, counter=str(counter), sleep=0.2, crash=str(marker))
    ledger = tmp_path / "run.json"
    spec = ExecutorSpec.parse(None, scheduler=dask_cluster.scheduler_address)
    done = list(sweep(tasks, executor=spec, store=LedgerStore(ledger, profile="ci")))
    assert marker.exists(), "the worker was not killed: the test proves nothing"
    assert sorted(d.task.id for d in done) == sorted(t.id for t in tasks)
    assert counts(counter) == [1, 2, 3, 3, 4, 5, 6]  # only the killed task ran twice
    assert nodes_once(ledger) == {t.id: 1 for t in tasks}
    assert load_ledger(ledger).complete


def test_dask_giving_up_on_a_task_is_retried_then_reported(tmp_path, probe_importable) -> None:
    """A task that kills every worker: Dask raises KilledWorker (here after one death), the
    sweep submits it once more (retries=1), then stops naming it."""
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    import dask

    counter = tmp_path / "count"
    tasks = [Task.of(PROBE, value=1, counter=str(counter), crash="always")]
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                     dashboard_address=":0") as cluster:
        spec = ExecutorSpec.parse(None, scheduler=cluster.scheduler_address)
        with pytest.raises(SweepError, match=r"lost its worker 2 times \(KilledWorker"):
            list(sweep(tasks, executor=spec, retries=1))
    assert counts(counter) == [1, 1]


def test_a_process_pool_that_breaks_is_rebuilt(tmp_path) -> None:
    counter, marker = tmp_path / "count", tmp_path / "crashed"
    tasks = probes(4, counter=str(counter))
    tasks[0] = Task.of(PROBE, value=1, counter=str(counter), crash=str(marker))
    ledger = tmp_path / "run.json"
    done = list(sweep(tasks, executor="process:2", store=LedgerStore(ledger, profile="ci")))
    assert marker.exists() and len(done) == 4
    assert nodes_once(ledger) == {t.id: 1 for t in tasks} and load_ledger(ledger).complete
    assert counts(counter).count(1) == 2 and set(counts(counter)) == {1, 2, 3, 4}


def test_a_task_that_always_kills_its_worker_stops_after_its_retries(tmp_path) -> None:
    tasks = [Task.of(PROBE, value=1, crash="always")]
    ledger = tmp_path / "run.json"
    with pytest.raises(SweepError, match=r"lost its worker 2 times.*rerun with the same"):
        list(sweep(tasks, executor="process:1", retries=1,
                   store=LedgerStore(ledger, profile="ci")))
    state = load_ledger(ledger).state
    assert not state.complete and state.reason == "crashed"


def test_a_given_pool_that_breaks_is_not_rebuilt(tmp_path) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        with pytest.raises(SweepError, match="cannot rebuild it"):
            list(sweep([Task.of(PROBE, value=1, crash=str(tmp_path / "m"))], executor=pool))


# --- resuming ---------------------------------------------------------------------------------

def test_an_interrupted_sweep_resumes_without_recomputing(tmp_path) -> None:
    counter, ledger = tmp_path / "count", tmp_path / "run.json"
    tasks = probes(6, counter=str(counter))
    with contextlib.closing(sweep(tasks, store=LedgerStore(ledger, profile="ci"))) as run:
        first = [next(run) for _ in range(3)]  # then the consumer stops (break, Ctrl-C)
    state = load_ledger(ledger).state
    assert not state.complete and state.reason == "interrupted"
    assert counts(counter) == [1, 2, 3]
    store = LedgerStore(ledger, profile="ci")
    second = list(sweep(tasks, store=store))
    assert counts(counter) == [1, 2, 3, 4, 5, 6]  # 4..6 computed once, 1..3 not again
    assert store.resumed == 3 and [d.cached for d in second] == [True] * 3 + [False] * 3
    assert nodes_once(ledger) == {t.id: 1 for t in tasks} and load_ledger(ledger).complete
    again = list(sweep(tasks, store=LedgerStore(ledger, profile="ci")))  # nothing to compute
    assert len(counts(counter)) == 6 and all(d.cached for d in again)
    fresh = by_task(sweep(tasks))  # an uninterrupted run gives the same records
    assert by_task(second) == by_task(again) == fresh and by_task(first).items() <= fresh.items()


_KILLED_RUN = """
import sys
sys.path.insert(0, {here!r})
from verify.sweep import Task, sweep
from verify.sweep_ledger import LedgerStore
tasks = [Task.of({probe!r}, value=v, counter={counter!r}, sleep=0.3) for v in range(1, 9)]
for _ in sweep(tasks, store=LedgerStore({ledger!r}, profile="ci")):
    pass
"""


def test_a_killed_sweep_resumes_from_its_partial_files(tmp_path) -> None:
    counter, ledger = tmp_path / "count", tmp_path / "run.json"
    code = _KILLED_RUN.format(here=str(HERE), probe=PROBE, counter=str(counter),
                              ledger=str(ledger))
    child = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:
        text = "".join(p.read_text() for p in tmp_path.glob("*.partial.jsonl"))
        if text.count('"kind":"outcome"') >= 3:
            break
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert not ledger.exists(), "the run finished before it was killed: nothing to resume"
    finished = sum(e["kind"] == "outcome" for e in load_ledger(ledger).events)
    assert 3 <= finished < 8
    before = len(counts(counter))
    tasks = [Task.of(PROBE, value=v, counter=str(counter), sleep=0.3) for v in range(1, 9)]
    store = LedgerStore(ledger, profile="ci")
    list(sweep(tasks, store=store))
    assert store.resumed == finished
    assert len(counts(counter)) - before == 8 - finished  # only the unfinished ran again
    assert nodes_once(ledger) == {t.id: 1 for t in tasks} and load_ledger(ledger).complete


def test_a_failing_task_stops_the_sweep_and_a_rerun_resumes(tmp_path) -> None:
    counter, flag, ledger = tmp_path / "count", tmp_path / "broken", tmp_path / "run.json"
    flag.touch()
    tasks = probes(3, counter=str(counter))
    tasks[1] = Task.of(PROBE, value=2, counter=str(counter), fail_while=str(flag))
    with pytest.raises(SweepError, match=r"probe\(.*value=2.*\) \[.*failed: RuntimeError.*"
                                         "rerun with the same ledger"):
        list(sweep(tasks, store=LedgerStore(ledger, profile="ci")))
    assert load_ledger(ledger).state.reason == "crashed"
    flag.unlink()  # the bug is fixed
    list(sweep(tasks, store=LedgerStore(ledger, profile="ci")))
    assert counts(counter) == [1, 2, 2, 3] and load_ledger(ledger).complete


def test_stray_records_of_an_unfinished_attempt_never_count(tmp_path, monkeypatch) -> None:
    """The sweep process killed between a task's records and its outcome event."""
    ledger = tmp_path / "run.json"
    tasks = probes(2)
    store = LedgerStore(ledger, profile="ci")
    list(store.start(tasks))
    store.put(tasks[0], sweep_result(tasks[0]))
    real_event = store._writer.event
    monkeypatch.setattr(store._writer, "event", lambda *a, **k: (_ for _ in ()).throw(
        KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        store.put(tasks[1], sweep_result(tasks[1]))  # records written, outcome not
    monkeypatch.setattr(store._writer, "event", real_event)
    store._writer.close()  # killed: no finish event, partial files only
    assert len(load_ledger(ledger).records) == 2
    list(sweep(tasks, store=LedgerStore(ledger, profile="ci")))
    led = load_ledger(ledger)
    assert nodes_once(ledger) == {t.id: 1 for t in tasks} and led.complete
    assert [r["attempt"] for r in led.records if r["node_id"] == tasks[1].id] == [1]


def test_partials_left_beside_a_final_ledger_are_not_counted_twice(tmp_path,
                                                                  monkeypatch) -> None:
    """finalize stopped after writing the final file, before removing the partials."""
    import shutil

    import verify.sweep_ledger as sweep_ledger

    real = sweep_ledger.finalize_ledger

    def finalize_then_crash(path, **kwargs):
        saved = tmp_path / "saved"
        saved.mkdir(exist_ok=True)
        parts = list(Path(path).parent.glob("*.partial.jsonl"))
        for p in parts:
            shutil.copy(p, saved / p.name)
        out = real(path, **kwargs)
        for p in parts:
            shutil.copy(saved / p.name, p)  # as if the removal never happened
        return out

    counter, ledger = tmp_path / "count", tmp_path / "run.json"
    tasks = probes(4, counter=str(counter))
    monkeypatch.setattr(sweep_ledger, "finalize_ledger", finalize_then_crash)
    with contextlib.closing(sweep(tasks, store=LedgerStore(ledger, profile="ci"))) as run:
        [next(run) for _ in range(2)]
    monkeypatch.setattr(sweep_ledger, "finalize_ledger", real)
    assert ledger.exists() and list(tmp_path.glob("*.partial.jsonl"))
    list(sweep(tasks, store=LedgerStore(ledger, profile="ci")))
    assert counts(counter) == [1, 2, 3, 4] and not list(tmp_path.glob("*.partial.jsonl"))
    assert nodes_once(ledger) == {t.id: 1 for t in tasks} and load_ledger(ledger).complete


def sweep_result(task: Task) -> list:
    return next(iter(sweep([task]))).result


def test_a_ledger_of_another_profile_or_origin_is_refused(tmp_path, synth) -> None:
    ledger = tmp_path / "run.json"
    list(sweep(probes(1), store=LedgerStore(ledger, profile="ci")))
    with pytest.raises(LedgerError, match="holds profile 'ci'.*--profile ci"):
        list(sweep(probes(1), store=LedgerStore(ledger, profile="dev")))
    other = synth.write(tmp_path / "verify.json", [synth.rate("R5", "claim", 0.5, 0.5, 1)])
    with pytest.raises(LedgerError, match="not written by a sweep"):
        LedgerStore(other, profile="ci").start(probes(1))


# --- progress ---------------------------------------------------------------------------------

class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_and_quiet_elsewhere() -> None:
    term, pipe = _Terminal(), io.StringIO()
    list(sweep(probes(4), progress=Progress(4, stream=term, interval=0)))
    list(sweep(probes(4), progress=Progress(4, stream=pipe)))
    assert pipe.getvalue() == ""
    last = term.getvalue().rstrip("\n").split("\r")[-1]
    assert last.startswith("[####################] 4/4 tasks") and "/s  ETA 0:00:00" in last
    bar = Progress(10, stream=term)
    for cached in (True, True, False):
        bar.step(cached=cached)
    assert "3/10 tasks (2 from the ledger)" in bar.line() and "ETA" in bar.line()


# --- the same on real claim checks ------------------------------------------------------------

@pytest.mark.slow
def test_same_power_records_inline_on_processes_and_on_dask(dask_cluster) -> None:
    """Real checks (R4/growth on the ci budget): identical records on every executor."""
    from verify.power import power_tasks

    tasks = power_tasks(["R4/growth", "R3-iid/identity"], 2, "ci")
    inline = by_task(sweep(tasks))
    pool = by_task(sweep(tasks, executor="process:2"))
    dask = by_task(sweep(tasks, executor=ExecutorSpec.parse(
        None, scheduler=dask_cluster.scheduler_address)))
    assert inline == pool == dask and sum(map(len, inline.values())) >= 8


# --- results that are not records -------------------------------------------------------------

def test_a_json_lines_store_resumes_rows_and_ignores_a_torn_line(tmp_path) -> None:
    from verify.sweep_store import JsonLinesStore, StoreError

    counter, rows = tmp_path / "count", tmp_path / "rows.jsonl"
    tasks = probes(4, counter=str(counter))
    def encode(records):
        return [r.to_json() for r in records]

    with contextlib.closing(sweep(tasks, store=JsonLinesStore(rows, encode=encode))) as run:
        first = [next(run) for _ in range(2)]
    with open(rows, "a", encoding="utf-8") as fh:
        fh.write('{"type": "result", "task": "torn')  # died while writing a line
    store = JsonLinesStore(rows, encode=encode, decode=lambda rows: rows)
    again = list(sweep(tasks, store=store))
    assert store.resumed == 2 and counts(counter) == [1, 2, 3, 4]
    assert [d.result for d in again[:2]] == [encode(d.result) for d in first]
    assert len(rows.read_text().splitlines()) == 1 + 4
    with pytest.raises(StoreError, match="not a sweep store"):
        JsonLinesStore(counter.rename(tmp_path / "x.jsonl")).start(tasks)
