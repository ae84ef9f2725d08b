"""Tiny tasks for the sweep tests, importable by worker processes (the test puts this folder
on ``sys.path`` before any pool or cluster starts; spawned workers inherit it).

:func:`probe` returns one schema-2 record whose numbers follow from its arguments alone, and
can count its computations in a file, crash its worker process once or always, or raise while
a marker file exists: the failure modes a sweep must survive, at no numerical cost.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

from verify.record import Record


def probe(value: int, counter: str = "", crash: str = "", fail_while: str = "",
          sleep: float = 0.0) -> list[Record]:
    """One record for ``value``. ``counter``: append ``value`` to this file first (one line
    per computation). ``crash``: a marker path: the first computation creates it and kills
    its own process (``"always"``: every computation does). ``fail_while``: raise while this
    file exists. ``sleep``: seconds of pretend work."""
    if counter:
        with open(counter, "a", encoding="utf-8") as fh:
            fh.write(f"{value}\n")
    if sleep:
        time.sleep(sleep)
    if crash == "always" or (crash and not Path(crash).exists()):
        if crash != "always":
            Path(crash).touch()
        os._exit(17)  # the worker process dies mid-task, as on an out-of-memory kill
    if fail_while and Path(fail_while).exists():
        raise RuntimeError(f"probe {value} fails while {fail_while} exists")
    rng = random.Random(value)
    estimate = rng.random()
    return [Record(claim="P/probe", regime="P", quantity="probe", role="claim",
                   status="derived",
                   instance={"sigma": "tanh", "width": 2, "bias": False,
                             "values": {"v": float(value)}},
                   seed=value, prediction={"kind": "rate", "exponent": 0.5, "bound": "sharp",
                                           "text": "probe"},
                   verdict={"status": "consistent" if value % 5 else "inconclusive",
                            "estimate": estimate}, profile="ci")]
