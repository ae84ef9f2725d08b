"""Tests of verify.ledger (schema 2): round trip, events and the run state, interruption,
torn lines, corrupt records named by file/line/field, schema checks, xdist merge, writability."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from verify.ledger import (
    SCHEMA_VERSION,
    LedgerError,
    git_commit,
    iter_records,
    jsonable,
    load_ledger,
    partial_paths,
    worker_id,
)
from verify.ledger_schema import RecordError, make_record
from verify.ledger_writer import LedgerWriter, ensure_writable, finalize_ledger
from verify.rates import RateFit


def _rec(i: int, regime: str = "R1", node: str = "n", **kw) -> dict:
    return make_record(regime=regime, quantity="strong", seed=i, node_id=node,
                       verdict={"status": "consistent"}, **kw)


@pytest.fixture
def ledger_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    return tmp_path / "runs" / "run-1.json"


def test_round_trip_with_events(ledger_path: Path, synth) -> None:
    records = [synth.rate("R5", "claim", 0.5, 0.5, seed=i) for i in range(3)]
    path = synth.write(ledger_path, records)
    assert path == ledger_path and partial_paths(ledger_path) == []
    assert sorted(p.name for p in ledger_path.parent.iterdir()) == ["run-1.json"]  # no temp
    ledger = load_ledger(ledger_path)
    assert ledger.schema_version == SCHEMA_VERSION == 2
    assert ledger.complete and ledger.state.word == "complete" and ledger.finalized
    assert (ledger.profile, ledger.commit) == ("ci", synth.COMMIT)
    assert ledger.machine["device"] == "cpu" and ledger.machine["cpu_count"] == os.cpu_count()
    assert {"python", "numpy", "scipy", "hypothesis"} <= set(ledger.versions)
    assert list(ledger.records) == [{**r, "worker": "main"} for r in records]
    assert [e["kind"] for e in ledger.events] == ["plan", "outcome", "finish"]
    assert RateFit.from_dict(ledger.records[0]["fit"]).n_samples == 64
    assert list(iter_records(ledger_path)) == list(ledger.records)
    doc = json.loads(ledger_path.read_text(), parse_constant=lambda c: pytest.fail(c))
    assert doc["state"]["complete"] is True and doc["recovered"] is False


@pytest.mark.parametrize(("finish", "reason"), [(None, "killed"), ("interrupted", "interrupted"),
                                                ("crashed", "crashed")])
def test_unfinished_runs_stay_incomplete_after_finalize(ledger_path: Path, synth, finish,
                                                        reason) -> None:
    a = synth.rate("R1", "claim", 1.0, 1.0, 1)
    b = synth.rate("R2", "claim", 1.0, 1.0, 2)
    planned = [a["node_id"], b["node_id"], "never/ran::test[R7/strong]"]
    synth.write(ledger_path, [a, b], finish=finish, plan=planned,
                regimes=["R1", "R2", "R7"], outcomes={b["node_id"]: ("none", None)})
    for ledger in (load_ledger(ledger_path),):
        st = ledger.state
        assert not ledger.complete and st.reason == reason, st
        assert st.missing_nodes == tuple(sorted([b["node_id"], "never/ran::test[R7/strong]"]))
        assert st.missing_regimes == ("R2", "R7")  # R2 unfinished, R7 never ran
        assert st.headline().startswith(f"INCOMPLETE ({reason})")
        assert len(ledger.events) == 2 + (finish is not None)  # plan, outcome(s), finish


def test_missing_outcomes_and_missing_plan(ledger_path: Path, synth) -> None:
    a = synth.rate("R1", "claim", 1.0, 1.0, 1)
    synth.write(ledger_path, [a], plan=[a["node_id"], "x::y"])
    st = load_ledger(ledger_path).state
    assert (st.complete, st.reason, st.missing_nodes) == (False, "missing", ("x::y",))
    w = LedgerWriter(ledger_path.with_name("noplan.json"), profile="ci", commit="x")
    w.append(a)
    w.event("finish", state="complete", reason="", exitstatus=0)
    st = load_ledger(w.finalize()).state
    assert (st.complete, st.reason) == (False, "unplanned")


def test_stored_incomplete_state_is_never_upgraded(ledger_path: Path, synth) -> None:
    path = synth.write(ledger_path, [synth.rate("R1", "claim", 1.0, 1.0, 1)])
    doc = json.loads(path.read_text())
    doc["state"] = {"complete": False, "reason": "interrupted", "detail": "Ctrl-C"}
    path.write_text(json.dumps(doc))
    assert load_ledger(path).state.reason == "interrupted"


def test_crash_after_n_records_leaves_n_readable_records(ledger_path: Path) -> None:
    writer = LedgerWriter(ledger_path, profile="dev")
    try:
        writer.event("plan", node_ids=["n"], regimes=["R1"])
        for i in range(5):
            writer.append(_rec(i))
        partial = load_ledger(writer.partial_path)
        merged = load_ledger(ledger_path)  # final path missing: falls back to the partials
    finally:
        writer.close()
    for ledger in (partial, merged):
        assert not ledger.complete and ledger.finalized is None and not ledger.is_final
        assert ledger.state.reason == "killed"
        assert [r["seed"] for r in ledger.records] == list(range(5))
        assert ledger.profile == "dev"
    assert merged.sources == (str(writer.partial_path),)


def test_killed_process_leaves_a_readable_partial(tmp_path: Path) -> None:
    path = tmp_path / "killed.json"
    script = textwrap.dedent(
        f"""
        import os
        from verify.ledger_writer import LedgerWriter
        from verify.ledger_schema import make_record
        w = LedgerWriter({str(path)!r}, profile="ci", commit="x")
        w.event("plan", node_ids=["n"], regimes=["R1"])
        for i in range(4):
            w.append(make_record(regime="R1", quantity="strong", seed=i, node_id="n",
                                 verdict={{"status": "consistent"}}))
        w._fh.write('{{"type": "record", "record": {{"se')  # torn write, then hard exit
        w._fh.flush()
        os._exit(3)
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"}
    done = subprocess.run([sys.executable, "-c", script], env=env, timeout=60, check=False)
    assert done.returncode == 3
    assert [r["seed"] for r in load_ledger(path).records] == [0, 1, 2, 3]
    assert finalize_ledger(path) == path
    ledger = load_ledger(path)
    assert len(ledger.records) == 4 and not ledger.complete and ledger.state.reason == "killed"


@pytest.mark.parametrize("torn", ['{"type": "record", "rec', '{"type": "rec\n', "\x00\x00\n"])
def test_torn_trailing_line_is_ignored(ledger_path: Path, torn: str) -> None:
    with LedgerWriter(ledger_path, profile="ci") as writer:
        for i in range(3):
            writer.append(_rec(i))
    with open(writer.partial_path, "a", encoding="utf-8") as fh:
        fh.write(torn)
    assert [r["seed"] for r in load_ledger(writer.partial_path).records] == [0, 1, 2]


def test_corrupt_line_before_the_last_is_an_error(ledger_path: Path) -> None:
    with LedgerWriter(ledger_path, profile="ci") as writer:
        writer.append(_rec(0))
    with open(writer.partial_path, "a", encoding="utf-8") as fh:
        fh.write("garbage\n")
        fh.write(json.dumps({"type": "record", "record": _rec(2)}) + "\n")
    with pytest.raises(LedgerError, match="corrupt line 3 in partial ledger .*run-1.main"):
        load_ledger(writer.partial_path)


@pytest.mark.parametrize(("edit", "field"), [
    (lambda r: r.pop("verdict"), "'verdict': missing"),
    (lambda r: r.update(seed="7"), "'seed': '7' has type str, expected int"),
    (lambda r: r["instance"].update(width=2.5), "'instance.width'"),
    (lambda r: r.update(role="control:x"), "'expected'"),
    (lambda r: r["verdict"].update(status="passed"), "'verdict.status'"),
    (lambda r: r.update(table={"over": "depth", "column": "strong", "at": [1],
                               "mean": [1.0], "se": [0.1], "samples": [[1.0, 2.0]]}),
     "'table.samples': holds per-sample arrays"),
    (lambda r: r.update(table={"over": "depth", "column": "weight-max", "at": [4, 8],
                               "mean": [1.0, 0.5], "se": [0.1, 0.1],
                               "history": {"step": [10, 20], "mean": [[1.0, 0.5]]}}),
     "'table.history.mean': has 1 rows for 2 steps"),
    (lambda r: r.update(table={"over": "depth", "column": "weight-max", "at": [4, 8],
                               "mean": [1.0, 0.5], "se": [0.1, 0.1],
                               "curve": {"step": [1], "loss": [[0.1, 0.2, 0.3]]}}),
     "'table.curve.loss[0]': has 3 values for 2 depths"),
    (lambda r: r.update(stages=[{"seed": 1, "status": "passed"}]), "'stages[0].status'"),
    (lambda r: r.update(stages=[{"status": "consistent"}]), "'stages[0].seed'"),
    (lambda r: r.update(stages="twice"), "'stages'"),
])
def test_corrupt_records_name_file_index_and_field(ledger_path: Path, synth, edit,
                                                   field) -> None:
    path = synth.write(ledger_path, [synth.rate("R1", "claim", 1.0, 1.0, i) for i in range(3)])
    doc = json.loads(path.read_text())
    edit(doc["records"][1])
    path.write_text(json.dumps(doc))
    with pytest.raises(LedgerError) as info:
        load_ledger(path)
    msg = str(info.value)
    assert str(path) in msg and "record 2" in msg and field in msg and "\n" not in msg
    # the same record in a partial file is named by its line number
    partial = ledger_path.with_name("p.main.partial.jsonl")
    lines = [json.dumps({"type": "header", "schema_version": 2, "created": "x"}),
             json.dumps({"type": "record", "record": doc["records"][0]}),
             json.dumps({"type": "record", "record": doc["records"][1]}), ""]
    partial.write_text("\n".join(lines))
    with pytest.raises(LedgerError, match=r"line 3 \(record 2\): field") as info:
        load_ledger(partial)
    assert field in str(info.value)


def test_writer_validates_records_and_events(ledger_path: Path) -> None:
    with LedgerWriter(ledger_path, profile="ci") as writer:
        with pytest.raises(RecordError, match="'claim': missing"):
            writer.append({"regime": "R1", "seed": 0})
        with pytest.raises(ValueError, match="'outcome'='green'"):
            writer.event("outcome", node_id="n", outcome="green", final_attempt=0, message="")
        with pytest.raises(ValueError, match="'kind'='start'"):
            writer.event("start")
        writer.event("finish", state="interrupted", reason="KeyboardInterrupt", exitstatus=2)
    assert [json.loads(line)["type"] for line in writer.partial_path.read_text().splitlines()] \
        == ["header", "event"]


def test_torn_header_only(ledger_path: Path) -> None:
    ledger_path.parent.mkdir(parents=True)
    partial = ledger_path.with_name("run-1.gw0.partial.jsonl")
    partial.write_text('{"type": "header", "sch')
    with pytest.raises(LedgerError, match="no complete header"):
        load_ledger(partial)
    with LedgerWriter(ledger_path, profile="ci", worker="gw1") as writer:
        writer.append(_rec(7))
    assert [r["seed"] for r in load_ledger(ledger_path).records] == [7]


def test_xdist_workers_write_separate_partials_merged_at_finalize(
    ledger_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writers = {}
    for wid in ("gw1", "gw0"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", wid)
        assert worker_id() == wid
        writers[wid] = LedgerWriter(ledger_path, profile="ci")
    writers["gw0"].event("plan", node_ids=["a", "b"], regimes=["R1"])
    for i in range(6):  # interleaved arrival
        w = writers["gw0" if i % 2 else "gw1"]
        w.append(_rec(i, node="a" if i % 2 else "b"))
    writers["gw1"].event("outcome", node_id="b", outcome="passed", final_attempt=0, message="")
    writers["gw0"].event("outcome", node_id="a", outcome="passed", final_attempt=0, message="")
    writers["gw0"].event("finish", state="complete", reason="", exitstatus=0)
    for w in writers.values():
        w.close()
    assert [p.name for p in partial_paths(ledger_path)] == [
        "run-1.gw0.partial.jsonl", "run-1.gw1.partial.jsonl"]
    finalize_ledger(ledger_path)
    ledger = load_ledger(ledger_path)
    assert [(r["worker"], r["seed"]) for r in ledger.records] == [
        ("gw0", 1), ("gw0", 3), ("gw0", 5), ("gw1", 0), ("gw1", 2), ("gw1", 4)]
    assert ledger.complete and partial_paths(ledger_path) == []


def test_partials_of_other_ledgers_are_not_merged(ledger_path: Path) -> None:
    with LedgerWriter(ledger_path, profile="ci") as a:
        a.append(_rec(0))
    with LedgerWriter(ledger_path.with_name("run-1.5.json"), profile="ci") as b:
        b.append(_rec(1))
    assert [p.name for p in partial_paths(ledger_path)] == ["run-1.main.partial.jsonl"]


@pytest.mark.parametrize("version", [1, 0, 3, None])
def test_other_schema_versions_are_refused_in_one_line(ledger_path: Path, version) -> None:
    ledger_path.parent.mkdir(parents=True)
    ledger_path.write_text(json.dumps({"schema_version": version, "records": []}))
    with pytest.raises(LedgerError) as info:
        load_ledger(ledger_path)
    msg = str(info.value)
    assert str(ledger_path) in msg and f"schema_version={version!r}" in msg and "\n" not in msg
    partial = ledger_path.with_name("old.main.partial.jsonl")
    partial.write_text(json.dumps({"type": "header", "schema_version": version}) + "\n")
    with pytest.raises(LedgerError, match=f"schema_version={version!r}"):
        load_ledger(partial)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "holds a list"),
        (json.dumps({"schema_version": 2}), "no 'records' list"),
        (json.dumps({"schema_version": 2, "records": []}), "no 'events' list"),
        (json.dumps({"schema_version": 2, "records": [], "events": [{"kind": "go"}]}),
         "event 1: event field 'kind'='go'"),
        (b"\xff\xfe", "cannot read ledger"),
    ],
)
def test_unreadable_final_file(ledger_path: Path, content: str | bytes, match: str) -> None:
    ledger_path.parent.mkdir(parents=True)
    if isinstance(content, bytes):
        ledger_path.write_bytes(content)
    else:
        ledger_path.write_text(content)
    with pytest.raises(LedgerError, match=match) as info:
        load_ledger(ledger_path)
    assert "\n" not in str(info.value)


def test_missing_ledger(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="no ledger at"):
        load_ledger(tmp_path / "nothing.json")
    with pytest.raises(LedgerError, match="no partial ledger"):
        load_ledger(tmp_path / "nothing.main.partial.jsonl")
    with pytest.raises(LedgerError, match="no ledger at"):
        finalize_ledger(tmp_path / "nothing.json")


def test_ensure_writable(tmp_path: Path) -> None:
    assert ensure_writable(tmp_path / "a" / "b" / "run.json") == tmp_path / "a" / "b"
    assert list((tmp_path / "a" / "b").iterdir()) == []  # the probe is removed
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(LedgerError) as info:
        ensure_writable(blocker / "runs" / "run.json")
    msg = str(info.value)
    assert f"ledger folder {blocker / 'runs'} is not writable" in msg and "fix:" in msg
    with pytest.raises(LedgerError, match="must end in .json"):
        ensure_writable(tmp_path / "run.txt")
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(LedgerError, match="is a folder"):
        ensure_writable(tmp_path / "dir.json")
    with pytest.raises(LedgerError, match="not writable"):
        LedgerWriter(blocker / "x" / "run.json", profile="ci")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores modes")
def test_ensure_writable_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    try:
        with pytest.raises(LedgerError, match="not writable"):
            ensure_writable(folder / "run.json")
    finally:
        folder.chmod(0o700)


def test_jsonable() -> None:
    data = jsonable({"a": np.float32(1.5), "b": np.int16(3), "c": np.bool_(True),
                     "d": (1, np.nan, np.inf), "e": np.arange(3), "g": Path("x/y"), 3: None})
    assert data == {"a": 1.5, "b": 3, "c": True, "d": [1, None, None], "e": [0, 1, 2],
                    "g": "x/y", "3": None}
    json.dumps(data, allow_nan=False)
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        jsonable(object())


def test_make_record_builds_a_valid_schema_2_record() -> None:
    rec = make_record(regime="R5", quantity="weak", role="control:rate-x2", seed=np.int64(3),
                      values={"beta": np.float64(0.2)}, verdict={"status": "inconsistent"},
                      note="extra kept")
    assert rec["claim"] == "R5/weak" and rec["expected"] == "inconsistent"
    assert rec["instance"] == {"sigma": "tanh", "width": 2, "bias": False,
                               "values": {"beta": 0.2}}
    assert rec["seed"] == 3 and rec["note"] == "extra kept"
    with pytest.raises(RecordError, match="'role'"):
        make_record(regime="R5", quantity="weak", role="twin", verdict={"status": "consistent"})


def test_writer_argument_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"path='.*run.txt' must end in .json"):
        LedgerWriter(tmp_path / "run.txt", profile="ci")
    with pytest.raises(ValueError, match="worker='gw/0'"):
        LedgerWriter(tmp_path / "run.json", profile="ci", worker="gw/0")
    writer = LedgerWriter(tmp_path / "run.json", profile="ci")
    writer.close()
    with pytest.raises(LedgerError, match="closed"):
        writer.append(_rec(0))
    with pytest.raises(LedgerError, match="closed"):
        writer.event("finish", state="complete", reason="", exitstatus=0)
    with LedgerWriter(tmp_path / "run2.json", profile="ci") as w2, pytest.raises(TypeError):
        w2.append([1, 2])  # type: ignore[arg-type]


def test_git_commit_outside_a_repository_is_unknown(tmp_path: Path) -> None:
    assert git_commit(tmp_path) == "unknown"
    here = git_commit(Path(__file__).parent)
    assert here == "unknown" or (len(here) == 40 and int(here, 16) >= 0)


def test_the_ledger_names_the_codes_commit_wherever_it_is_written(tmp_path: Path) -> None:
    # a ledger outside the checkout (/tmp) said "commit unknown" for a run of this checkout
    import verify

    with LedgerWriter(tmp_path / "outside.json", profile="ci") as writer:
        pass
    assert writer.header["commit"] == git_commit(Path(verify.__file__).parent)


def test_every_regime_status_is_a_valid_record_status() -> None:
    # an empirical regime (T5) could not be recorded while the schema knew three statuses
    from theory.regime import STATUSES

    for status in STATUSES:
        rec = make_record(regime="T5", quantity="weight-max", status=status, worker="w",
                          verdict={"status": "consistent"})
        assert rec["status"] == status
    with pytest.raises(RecordError, match="'status'"):
        make_record(regime="T5", quantity="weight-max", status="folklore", worker="w",
                    verdict={"status": "consistent"})
