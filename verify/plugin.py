"""The pytest plugin of the suite: load it explicitly (``-p verify.plugin`` or
``pytest_plugins = ["verify.plugin"]`` in a root conftest).

- ``--regime NAME`` (repeatable) restricts claim tests to these regimes; ``--profile`` picks
  dev | ci | thorough (beats $RESNET_LIMITS_PROFILE, beats CI detection, beats dev) and loads
  the Hypothesis profile of the same name; ``--ledger PATH`` sets the run ledger's path
  (default ``reports/runs/<UTC time>-<profile>.json``).
- A test that takes the fixture ``regime`` is parametrised over every registered regime;
  conjectures run as non-strict xfail (recorded, never failing the run).
- The fixture ``claim_recorder`` appends one ledger record per example, fsynced as it is
  written (an interrupted run keeps what it recorded); the ledger is finalised at session
  end (merging xdist workers) and the terminal summary prints one line per regime.
- A failing claim test prints the command that replays it.
"""

from __future__ import annotations

import datetime as _dt
import os
import shlex
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from verify.ledger import LedgerError, LedgerWriter, finalize_ledger, load_ledger, make_record
from verify.ledger import partial_paths as _partials
from verify.profiles import PROFILES, get_profile, register_hypothesis_profiles, resolve_profile

LEDGER_ENV = "RESNET_LIMITS_LEDGER"
_WRITER = pytest.StashKey[LedgerWriter | None]()
_PROFILE = pytest.StashKey[str]()
_LEDGER = pytest.StashKey[Path]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("resnet-limits", "resnet-limits verification")
    group.addoption("--regime", action="append", default=[], metavar="NAME",
                    help="verify only this regime (repeatable)")
    group.addoption("--profile", default=None, choices=sorted(PROFILES),
                    help="numeric budget and Hypothesis settings (default: env, CI, dev)")
    group.addoption("--ledger", default=None, metavar="PATH",
                    help="run ledger path (default reports/runs/<time>-<profile>.json)")


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    from hypothesis import settings

    name = resolve_profile(config.getoption("--profile"))
    register_hypothesis_profiles()
    settings.load_profile(name)
    config.stash[_PROFILE] = name
    _selected(config)  # an unknown --regime is a usage error, before collection
    if _is_worker(config):
        path = Path(os.environ[LEDGER_ENV])
    else:
        option = config.getoption("--ledger")
        stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = Path(option) if option else Path(config.rootpath, "reports", "runs",
                                                 f"{stamp}-{name}.json")
        os.environ[LEDGER_ENV] = str(path.resolve())  # xdist workers inherit it
    config.stash[_LEDGER] = path
    config.stash[_WRITER] = None
    config.addinivalue_line("markers", "claim: a statistical claim test (set by the plugin)")


def _selected(config: pytest.Config) -> list:
    from theory.regimes import get, registry

    names = config.getoption("--regime")
    if not names:
        return list(registry().values())
    try:
        return [get(n) for n in names]
    except KeyError as exc:
        raise pytest.UsageError(str(exc.args[0])) from None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "regime" in metafunc.fixturenames:
        regimes = _selected(metafunc.config)
        metafunc.parametrize("regime", regimes, ids=[r.name for r in regimes])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        regime = getattr(getattr(item, "callspec", None), "params", {}).get("regime")
        if regime is None:
            continue
        item.add_marker(pytest.mark.claim)
        if regime.status == "conjecture":
            item.add_marker(pytest.mark.xfail(reason=f"conjecture {regime.name}", strict=False))


def replay_command(item: pytest.Item) -> str:
    """The command that reruns exactly this test with this profile (seeds are derandomised
    per profile, and each example's seed is in the ledger)."""
    profile = item.config.stash[_PROFILE]
    return f"pytest {shlex.quote(item.nodeid)} --profile {profile}"


@pytest.fixture
def profile(request: pytest.FixtureRequest):
    """The active :class:`verify.profiles.Profile`."""
    return get_profile(request.config.stash[_PROFILE])


@pytest.fixture
def claim_recorder(request: pytest.FixtureRequest) -> Callable[..., dict[str, Any]]:
    """``record(regime=..., parameters=..., seed=..., table=..., fit=..., verdict=..., **extra)``
    appends one ledger record (node id and replay command added) and returns it."""
    config = request.config

    def record(**fields: Any) -> dict[str, Any]:
        writer = config.stash[_WRITER]
        if writer is None:
            device = fields.get("device", "cpu")
            writer = LedgerWriter(config.stash[_LEDGER], profile=config.stash[_PROFILE],
                                  device=str(device))
            config.stash[_WRITER] = writer
        rec = make_record(node_id=request.node.nodeid, replay=replay_command(request.node),
                          profile=config.stash[_PROFILE], **fields)
        writer.append(rec)
        return rec

    return record


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and item.get_closest_marker("claim"):
        report.sections.append(("replay", replay_command(item)))


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    writer = config.stash.get(_WRITER, None)
    if writer is not None:
        writer.close()
    if not _is_worker(config) and _partials(config.stash[_LEDGER]):
        finalize_ledger(config.stash[_LEDGER])


def summarize(records: list[dict[str, Any]]) -> list[str]:
    """One line per regime: the claims' verdicts, the controls rejected, fitted vs predicted."""
    by_regime: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in records:
        by_regime[str(rec.get("regime"))].append(rec)
    lines = []
    for name, recs in by_regime.items():
        claims: dict[str, int] = defaultdict(int)
        controls, rejected = 0, 0
        pairs = []
        for rec in recs:
            verdict = rec.get("verdict") or {}
            status = verdict.get("status", "none")
            if str(rec.get("role", "claim")).startswith("control"):
                controls += 1
                rejected += status == "inconsistent"
                continue
            claims[status] += 1
            est, pred = verdict.get("estimate"), verdict.get("predicted")
            if isinstance(est, float | int) and isinstance(pred, float | int):
                pairs.append(f"{est:.2f} vs {pred:.2f}")
        shown = ", ".join(pairs[:4]) + (" ..." if len(pairs) > 4 else "")
        tally = " ".join(f"{k}={v}" for k, v in sorted(claims.items())) or "no claims"
        ctrl = f"controls rejected {rejected}/{controls}" if controls else "no controls"
        lines.append(f"{name:<14} claims: {tally:<28} {ctrl:<24} fitted vs predicted: {shown}")
    return lines


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if _is_worker(config):
        return
    path = config.stash[_LEDGER]
    if not path.exists():
        return
    try:
        ledger = load_ledger(path)
    except LedgerError as exc:  # pragma: no cover - reported, not fatal
        terminalreporter.write_line(f"resnet-limits: ledger unreadable: {exc}")
        return
    terminalreporter.section(f"resnet-limits verification ({config.stash[_PROFILE]} profile)")
    for line in summarize(list(ledger.records)):
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"ledger: {path}")
