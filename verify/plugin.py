"""The pytest plugin of the suite, registered through the ``pytest11`` entry point (inert
unless claim tests are collected or one of its options is given).

- ``--limits-profile dev|ci|thorough`` (beats $RESNET_LIMITS_PROFILE, beats CI detection,
  beats dev) picks the numeric budget and loads the Hypothesis profile of the same name;
  ``--limits-regime NAME`` (repeatable) restricts the claim tests to these regimes;
  ``--limits-ledger PATH`` sets the run ledger (default
  ``reports/runs/<UTC time>-<profile>.json`` under the rootdir).
- A test that takes the fixture ``claim_case`` is parametrised over every (regime, claim) of
  the selected regimes, ids ``R5/strong``; ``claim_recorder(records)`` appends the records of
  one Hypothesis call to the ledger (fsynced line by line, with the call's ``attempt``
  number and the command that replays exactly that example).
- Events: the controller writes the plan (the claim tests collected) and, at the end, how the
  run finished (complete, interrupted, crashed); each claim test writes its outcome with the
  attempt of its last call, so that only the shrunk counterexample of a failing test counts.
  A killed run leaves no finish event: readers call it killed.
- Conjectures: a claim test of a conjecture never fails the run; it ends ``CONFIRMED`` or
  ``REFUTED``, and a refuted one prints its minimal counterexample and replay command in the
  terminal summary.
"""

from __future__ import annotations

import datetime as _dt
import os
import shlex
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from verify.profiles import (
    PROFILE_ENV,
    PROFILES,
    get_profile,
    register_hypothesis_profiles,
    resolve_profile,
)

LEDGER_ENV = "RESNET_LIMITS_LEDGER"
CLAIM_FIXTURE = "claim_case"
_WRITER = pytest.StashKey[Any]()
_PROFILE = pytest.StashKey[str]()
_LEDGER = pytest.StashKey[Path]()
_ATTEMPTS = pytest.StashKey[dict]()
_LOADED = pytest.StashKey[bool]()
_CURRENT = pytest.StashKey[str]()
_SIGINT = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("resnet-limits", "resnet-limits claim verification")
    group.addoption("--limits-regime", action="append", default=[], metavar="NAME",
                    help="verify only this regime (repeatable)")
    group.addoption("--limits-profile", default=None, choices=sorted(PROFILES),
                    help="numeric budget and Hypothesis settings (default: env, CI, dev)")
    group.addoption("--limits-ledger", default=None, metavar="PATH",
                    help="run ledger path (default reports/runs/<time>-<profile>.json)")
    parser.addini("limits_active", type="bool", default=False,
                  help="load the resnet-limits Hypothesis profile in every session")


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    try:
        name = resolve_profile(config.getoption("--limits-profile"))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[_PROFILE] = name
    config.stash[_WRITER] = None
    config.stash[_ATTEMPTS] = {}
    config.stash[_LOADED] = False
    config.addinivalue_line("markers", "claim: a statistical claim test (set by the plugin)")
    if config.getoption("--limits-regime"):
        _selected(config)  # an unknown regime or a broken regime file: a usage error, now
    if _is_worker(config):
        path = Path(os.environ[LEDGER_ENV])
    else:
        option = config.getoption("--limits-ledger")
        stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = Path(option) if option else Path(config.rootpath, "reports", "runs",
                                                 f"{stamp}-{name}.json")
        os.environ[LEDGER_ENV] = str(path.resolve())  # xdist workers inherit it
    config.stash[_LEDGER] = path
    config.stash[_SIGINT] = {"seen": False, "previous": None}
    if _wanted(config):
        _activate(config)
        if not _is_worker(config):
            _watch_interrupts(config)


def _watch_interrupts(config: pytest.Config) -> None:
    """Remember every Ctrl-C, so that none is lost.

    Python raises ``KeyboardInterrupt`` wherever the main thread happens to be; inside a
    garbage-collector callback (Hypothesis installs one) it is printed as "unraisable" and
    swallowed, and the run went on to finish as if complete. The handler records the signal
    before raising; :func:`pytest_runtest_protocol` raises again at the next test boundary
    if the first one was swallowed, and :func:`pytest_sessionfinish` calls the run interrupted
    whatever exit status pytest ends with."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return  # someone else (a debugger, an embedding program) owns Ctrl-C
    seen = config.stash[_SIGINT]

    def handler(signum, frame):
        seen["seen"] = True
        raise KeyboardInterrupt

    seen["previous"] = signal.signal(signal.SIGINT, handler)


def pytest_unconfigure(config: pytest.Config) -> None:
    seen = config.stash.get(_SIGINT, None)
    if seen and seen["previous"] is not None:
        signal.signal(signal.SIGINT, seen["previous"])
        seen["previous"] = None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    """A Ctrl-C that reached the handler but was swallowed on its way up stops the run here,
    at the end of the test it arrived in."""
    result = yield
    seen = item.config.stash.get(_SIGINT, None)
    if seen and seen["seen"]:
        raise KeyboardInterrupt
    return result


def _wanted(config: pytest.Config) -> bool:
    """Whether this session verifies claims: a --limits-* option, $RESNET_LIMITS_PROFILE, the
    ini flag ``limits_active`` (this repository sets it) or the package's claim tests among
    the arguments. Hypothesis fixes a test's settings when the test module is imported, so
    the profile must be loaded here, before collection, or not at all."""
    return bool(config.getoption("--limits-profile") or config.getoption("--limits-ledger")
                or config.getoption("--limits-regime") or os.environ.get(PROFILE_ENV, "").strip()
                or config.getini("limits_active")
                or any("claim_tests" in str(arg) for arg in config.args))


def _activate(config: pytest.Config) -> None:
    """Load the Hypothesis profile (once): only where claims are verified, so that installing
    the suite never changes another project's Hypothesis settings."""
    if config.stash[_LOADED]:
        return
    from hypothesis import settings

    register_hypothesis_profiles()
    settings.load_profile(config.stash[_PROFILE])
    config.stash[_LOADED] = True


def _selected(config: pytest.Config) -> list:
    from theory.regimes import RegimeFileError, get, registry

    names = config.getoption("--limits-regime")
    try:
        return [get(n) for n in names] if names else list(registry().values())
    except KeyError as exc:
        raise pytest.UsageError(str(exc.args[0])) from None
    except RegimeFileError as exc:
        raise pytest.UsageError(f"bad regime file: {exc}") from None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if CLAIM_FIXTURE in metafunc.fixturenames:
        cases = [(r, c) for r in _selected(metafunc.config) for c in r.claims]
        # session scope: the claim test's arguments are values, not per-test state (Hypothesis
        # refuses function-scoped fixtures under @given unless a profile says otherwise)
        metafunc.parametrize(CLAIM_FIXTURE, cases, ids=[r.claim_id(c) for r, c in cases],
                             scope="session")


def _case(item: pytest.Item):
    return getattr(getattr(item, "callspec", None), "params", {}).get(CLAIM_FIXTURE)


def _writer(config: pytest.Config):
    from verify.ledger_writer import LedgerWriter

    writer = config.stash[_WRITER]
    if writer is None:
        writer = LedgerWriter(config.stash[_LEDGER], profile=config.stash[_PROFILE])
        config.stash[_WRITER] = writer
    return writer


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    for item in items:
        if _case(item) is not None:
            item.add_marker(pytest.mark.claim)


def pytest_collection_finish(session: pytest.Session) -> None:
    """The plan: the claim tests that will run (after -k/-m deselection)."""
    claims = [item.nodeid for item in session.items if _case(item) is not None]
    if claims and not _is_worker(session.config):
        _plan(session.config, claims)


def _plan(config: pytest.Config, node_ids: list[str]) -> None:
    from verify.ledger_writer import ensure_writable

    ensure_writable(config.stash[_LEDGER])
    owner = {nid: nid.rsplit("[", 1)[-1].split("/", 1)[0] for nid in node_ids}
    _writer(config).event("plan", node_ids=sorted(node_ids), regimes=sorted(set(owner.values())),
                          node_regimes=dict(sorted(owner.items())))  # a skipped test's regime


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids: list[str]) -> None:
    config = node.config
    if getattr(config, "_limits_planned", False):
        return
    claim_ids = [i for i in ids if "::test_claim[" in i]
    if claim_ids:
        config._limits_planned = True
        _plan(config, claim_ids)


def replay_command(record: dict[str, Any]) -> str:
    """A command that replays exactly this example in a fresh shell, in seconds: the venv's
    own interpreter, the claim id, the drawn instance and seed, the profile."""
    inst = record["instance"]
    args = [sys.executable, "-m", "verify.cli", "check", record["claim"],
            "--sigma", str(inst["sigma"]), "--width", str(inst["width"]),
            "--bias" if inst.get("bias") else "--no-bias", "--seed", str(record["seed"]),
            "--profile", str(record.get("profile") or "dev")]
    for name, value in inst.get("values", {}).items():
        args += ["--set", f"{name}={value!r}"]
    return shlex.join(args)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    item.config.stash[_CURRENT] = item.nodeid
    yield


@pytest.fixture(scope="session")
def limits_profile(request: pytest.FixtureRequest):
    """The active :class:`verify.profiles.Profile`."""
    return get_profile(request.config.stash[_PROFILE])


@pytest.fixture(scope="session")
def claim_recorder(request: pytest.FixtureRequest) -> Callable[[list], list[dict]]:
    """``record(records)``: append one Hypothesis call's records (verify.record.Record) to the
    ledger, with the running test's node id, attempt number and replay command; returns the
    dicts written."""
    config = request.config

    def record(records: list) -> list[dict]:
        node_id = config.stash[_CURRENT]
        attempts = config.stash[_ATTEMPTS]
        attempt = attempts.get(node_id, -1) + 1
        attempts[node_id] = attempt
        writer = _writer(config)
        out = []
        for rec in records:
            data = rec.to_json()
            data.update(node_id=node_id, attempt=attempt, replay=replay_command(data))
            writer.append(data)
            out.append(data)
        return out

    return record


def _conjecture(item: pytest.Item) -> bool:
    case = _case(item)
    return case is not None and case[0].status == "conjecture"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    case = _case(item)
    if case is None or report.when != "call":
        return
    word = report.outcome
    if _conjecture(item) and report.outcome in ("passed", "failed"):
        word = "refuted" if report.failed else "confirmed"
        report.user_properties.append(("limits_outcome", word))
        if report.failed:
            report.user_properties.append(("limits_counterexample", str(report.longrepr)))
            report.outcome = "passed"  # a refuted conjecture is a finding, not a failure
    attempt = item.config.stash[_ATTEMPTS].get(item.nodeid)
    if report.failed and attempt is not None:
        report.sections.append(("replay", "the shrunk example replays with the command in its "
                                f"ledger record (attempt {attempt}), or: "
                                f"{_pytest_replay(item)}"))
    message = "" if report.passed and word == "passed" else _short(report)
    _writer(item.config).event("outcome", node_id=item.nodeid, outcome=word,
                               final_attempt=attempt, message=message)


def _short(report) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):  # (path, line, "Skipped: why")
        return str(report.longrepr[-1]).removeprefix("Skipped: ")
    text = str(report.longrepr or "")
    lines = [ln for ln in text.splitlines() if ln.startswith("E ")]
    return "\n".join(ln[2:].strip() for ln in lines[:12]) or text[-2000:]


def _pytest_replay(item: pytest.Item) -> str:
    return shlex.join([sys.executable, "-m", "pytest", item.nodeid, "--limits-profile",
                       item.config.stash[_PROFILE], "-p", "no:cacheprovider"])


def pytest_report_teststatus(report, config):
    if report.when != "call":
        return None
    word = dict(report.user_properties).get("limits_outcome")
    if word == "refuted":
        return "refuted", "R", "REFUTED"
    if word == "confirmed":
        return "confirmed", "C", "CONFIRMED"
    return None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    writer = config.stash.get(_WRITER, None)
    if _is_worker(config):
        if writer is not None:
            writer.close()
        return
    if writer is None:
        return  # no claim test was collected: the plugin stayed inert
    state = {int(pytest.ExitCode.INTERRUPTED): "interrupted",
             int(pytest.ExitCode.INTERNAL_ERROR): "crashed"}.get(int(exitstatus), "complete")
    if config.stash[_SIGINT]["seen"]:
        state = "interrupted"  # whatever status pytest ends with after a Ctrl-C
    reason = {"interrupted": "interrupted (Ctrl-C or a stop request)",
              "crashed": "pytest internal error"}.get(state, "")
    writer.event("finish", state=state, reason=reason, exitstatus=int(exitstatus))
    writer.close()
    from verify.ledger_writer import finalize_ledger

    finalize_ledger(config.stash[_LEDGER])


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if _is_worker(config) or config.stash.get(_WRITER, None) is None:
        return
    from verify.ledger import LedgerError, load_ledger
    from verify.render.outcomes import summary_lines

    path = config.stash[_LEDGER]
    try:
        ledger = load_ledger(path)
    except LedgerError as exc:
        terminalreporter.write_line(f"resnet-limits: ledger unreadable: {exc}")
        return
    terminalreporter.section(f"resnet-limits verification ({config.stash[_PROFILE]} profile)")
    for line in summary_lines(ledger):
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"ledger: {path}")
