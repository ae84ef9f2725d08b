"""Tests of verify.ledger: round trip, interruption, torn lines, schema checks, xdist merge."""

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
    LedgerWriter,
    finalize_ledger,
    git_commit,
    iter_records,
    jsonable,
    load_ledger,
    make_record,
    partial_paths,
    worker_id,
)
from verify.rates import RateFit, fit_rate
from verify.verdict import judge

LADDER = np.array([16, 32, 64, 128])


def _fit(seed: int) -> RateFit:
    rng = np.random.default_rng(seed)
    errors = LADDER[:, None] ** -1.0 * rng.lognormal(0.0, 0.3, size=(LADDER.size, 32))
    return fit_rate(LADDER, errors, n_boot=100, seed=seed)


def _record(i: int, fit: RateFit | None = None) -> dict:
    fit = fit if fit is not None else _fit(i)
    return make_record(
        regime="linear-ode",
        parameters={"sigma": np.float64(0.5), "width": np.int64(8), "alpha": 1.0},
        seed=i,
        node_id=f"tests/properties/test_rates.py::test_rate[linear-ode-{i}]",
        table={"depths": LADDER, "errors": np.ones((2, 2))},
        fit=fit,
        verdict=judge(fit, 1.0),
        replay=f"pytest 'tests/properties/test_rates.py::test_rate' --hypothesis-seed={i}",
        wall_time=np.float32(0.25),
    )


@pytest.fixture
def ledger_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    return tmp_path / "runs" / "run-1.json"


def test_round_trip(ledger_path: Path) -> None:
    records = [_record(i) for i in range(3)]
    writer = LedgerWriter(ledger_path, profile="ci", device="cpu", commit="abc")
    assert writer.partial_path.name == "run-1.main.partial.jsonl"
    for r in records:
        writer.append(r)
    assert writer.n_records == 3
    assert writer.finalize() == ledger_path
    assert not writer.partial_path.exists() and partial_paths(ledger_path) == []
    assert sorted(p.name for p in ledger_path.parent.iterdir()) == ["run-1.json"]  # no temp

    ledger = load_ledger(ledger_path)
    assert ledger.complete and ledger.finalized is not None
    assert ledger.schema_version == SCHEMA_VERSION == 1
    assert (ledger.profile, ledger.commit) == ("ci", "abc")
    assert ledger.machine["device"] == "cpu" and ledger.machine["cpu_count"] == os.cpu_count()
    assert {"python", "numpy", "scipy", "hypothesis"} <= set(ledger.versions)
    assert len(ledger.records) == 3
    for original, loaded in zip(records, ledger.records, strict=True):
        assert loaded == {**original, "worker": "main"}
    first = ledger.records[0]
    assert RateFit.from_dict(first["fit"]) == _fit(0)
    assert first["parameters"] == {"sigma": 0.5, "width": 8, "alpha": 1.0}
    assert first["wall_time"] == 0.25
    assert list(iter_records(ledger_path)) == list(ledger.records)
    # The final document is plain strict JSON.
    json.loads(ledger_path.read_text(), parse_constant=lambda c: pytest.fail(c))


def test_crash_after_n_records_leaves_n_readable_records(ledger_path: Path) -> None:
    n = 5
    writer = LedgerWriter(ledger_path, profile="dev")
    try:
        for i in range(n):
            writer.append({"regime": "r", "seed": i})
        # No finalize, no close: what a killed process leaves on disk.
        partial = load_ledger(writer.partial_path)
        merged = load_ledger(ledger_path)  # final path missing: falls back to the partials
    finally:
        writer.close()
    for ledger in (partial, merged):
        assert not ledger.complete and ledger.finalized is None
        assert [r["seed"] for r in ledger.records] == list(range(n))
        assert ledger.profile == "dev"
    assert merged.sources == (str(writer.partial_path),)


def test_killed_process_leaves_a_readable_partial(tmp_path: Path) -> None:
    path = tmp_path / "killed.json"
    script = textwrap.dedent(
        f"""
        import os
        from verify.ledger import LedgerWriter
        w = LedgerWriter({str(path)!r}, profile="ci", commit="x")
        for i in range(4):
            w.append({{"seed": i}})
        w._fh.write('{{"type": "record", "record": {{"se')  # torn write, then hard exit
        w._fh.flush()
        os._exit(3)
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"}
    done = subprocess.run([sys.executable, "-c", script], env=env, timeout=60, check=False)
    assert done.returncode == 3
    ledger = load_ledger(path)
    assert [r["seed"] for r in ledger.records] == [0, 1, 2, 3]
    assert finalize_ledger(path) == path
    assert load_ledger(path).complete and len(load_ledger(path).records) == 4


@pytest.mark.parametrize("torn", ['{"type": "record", "rec', '{"type": "rec\n', "\x00\x00\n"])
def test_torn_trailing_line_is_ignored(ledger_path: Path, torn: str) -> None:
    with LedgerWriter(ledger_path, profile="ci") as writer:
        for i in range(3):
            writer.append({"seed": i})
    with open(writer.partial_path, "a", encoding="utf-8") as fh:
        fh.write(torn)
    ledger = load_ledger(writer.partial_path)
    assert [r["seed"] for r in ledger.records] == [0, 1, 2]


def test_corrupt_line_before_the_last_is_an_error(ledger_path: Path) -> None:
    with LedgerWriter(ledger_path, profile="ci") as writer:
        writer.append({"seed": 0})
    with open(writer.partial_path, "a", encoding="utf-8") as fh:
        fh.write("garbage\n")
        fh.write(json.dumps({"type": "record", "record": {"seed": 2}}) + "\n")
    with pytest.raises(LedgerError, match="corrupt line 3"):
        load_ledger(writer.partial_path)


def test_torn_header_only(ledger_path: Path) -> None:
    ledger_path.parent.mkdir(parents=True)
    partial = ledger_path.with_name("run-1.gw0.partial.jsonl")
    partial.write_text('{"type": "header", "sch')
    with pytest.raises(LedgerError, match="no complete header"):
        load_ledger(partial)
    # An empty partial beside a good one does not hide the good one's records.
    with LedgerWriter(ledger_path, profile="ci", worker="gw1") as writer:
        writer.append({"seed": 7})
    assert [r["seed"] for r in load_ledger(ledger_path).records] == [7]


def test_xdist_workers_write_separate_partials_merged_at_finalize(
    ledger_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writers = {}
    for wid in ("gw1", "gw0"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", wid)
        assert worker_id() == wid
        writers[wid] = LedgerWriter(ledger_path, profile="ci")
    for i in range(6):  # interleaved arrival
        writers["gw0" if i % 2 else "gw1"].append({"seed": i})
    for w in writers.values():
        w.close()
    assert [p.name for p in partial_paths(ledger_path)] == [
        "run-1.gw0.partial.jsonl",
        "run-1.gw1.partial.jsonl",
    ]
    finalize_ledger(ledger_path)  # what the xdist controller does at session end
    ledger = load_ledger(ledger_path)
    assert [(r["worker"], r["seed"]) for r in ledger.records] == [
        ("gw0", 1),
        ("gw0", 3),
        ("gw0", 5),
        ("gw1", 0),
        ("gw1", 2),
        ("gw1", 4),
    ]
    assert partial_paths(ledger_path) == []


def test_partials_of_other_ledgers_are_not_merged(ledger_path: Path) -> None:
    with LedgerWriter(ledger_path, profile="ci") as a:
        a.append({"seed": 0})
    other = ledger_path.with_name("run-1.5.json")  # stem "run-1.5" starts like "run-1"
    with LedgerWriter(other, profile="ci") as b:
        b.append({"seed": 1})
    assert [p.name for p in partial_paths(ledger_path)] == ["run-1.main.partial.jsonl"]


def test_wrong_schema_version_is_refused(ledger_path: Path) -> None:
    ledger_path.parent.mkdir(parents=True)
    ledger_path.write_text(json.dumps({"schema_version": 2, "records": []}))
    with pytest.raises(LedgerError, match="schema_version=2") as info:
        load_ledger(ledger_path)
    assert "\n" not in str(info.value)
    partial = ledger_path.with_name("old.main.partial.jsonl")
    partial.write_text(json.dumps({"type": "header", "schema_version": 0}) + "\n")
    with pytest.raises(LedgerError, match="schema_version=0"):
        load_ledger(partial)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "holds a list"),
        (json.dumps({"schema_version": 1}), "no 'records' list"),
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


def test_jsonable() -> None:
    fit = _fit(1)
    data = jsonable(
        {
            "a": np.float32(1.5),
            "b": np.int16(3),
            "c": np.bool_(True),
            "d": (1, np.nan, np.inf),
            "e": np.arange(3),
            "f": fit,
            "g": Path("x/y"),
            3: None,
        }
    )
    assert data == {
        "a": 1.5,
        "b": 3,
        "c": True,
        "d": [1, None, None],
        "e": [0, 1, 2],
        "f": fit.to_dict(),
        "g": "x/y",
        "3": None,
    }
    json.dumps(data, allow_nan=False)
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        jsonable(object())


def test_make_record_keeps_extra_keys() -> None:
    rec = make_record(regime="r", parameters={"a": np.float64(2)}, seed=0, note="extra kept")
    assert rec == {
        "regime": "r",
        "parameters": {"a": 2.0},
        "seed": 0,
        "node_id": "",
        "table": None,
        "fit": None,
        "verdict": None,
        "replay": "",
        "note": "extra kept",
    }


def test_writer_argument_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"path='.*run.txt' must end in .json"):
        LedgerWriter(tmp_path / "run.txt", profile="ci")
    with pytest.raises(ValueError, match="worker='gw/0'"):
        LedgerWriter(tmp_path / "run.json", profile="ci", worker="gw/0")
    writer = LedgerWriter(tmp_path / "run.json", profile="ci")
    writer.close()
    with pytest.raises(LedgerError, match="closed"):
        writer.append({"seed": 0})
    with LedgerWriter(tmp_path / "run2.json", profile="ci") as w2, pytest.raises(TypeError):
        w2.append([1, 2])  # type: ignore[arg-type]


def test_git_commit_outside_a_repository_is_unknown(tmp_path: Path) -> None:
    assert git_commit(tmp_path) == "unknown"
    here = git_commit(Path(__file__).parent)
    assert here == "unknown" or (len(here) == 40 and int(here, 16) >= 0)
