"""``resnet-limits map``: the regime map (BENCHMARKS B2) from the command line: its grid
options, their parsing (numbers only, never code) and the run. Registered on the main parser
by :func:`add_arguments` and :func:`run`."""

from __future__ import annotations

import argparse
from pathlib import Path

from theory.activations import activation
from theory.parse import shorten, time_limit

__all__ = ["MAX_GRID_POINTS", "add_arguments", "grid_values", "run"]

MAX_GRID_POINTS = 10_000
"""Most points in one ``map`` grid axis (``--alphas``, ``--hursts``)."""


def grid_values(text: str, name: str) -> tuple[float, ...]:
    """``START:STOP:N`` (N evenly spaced points, ends included) or a comma list."""
    import math

    import numpy as np

    shown = shorten(text)
    try:
        if ":" in text:
            start, stop, n = text.split(":")
            if not 1 <= int(n) <= MAX_GRID_POINTS:
                raise ValueError(f"--{name}={shown!r}: N={n} must be 1..{MAX_GRID_POINTS}; "
                                 "write e.g. 0:1.3:70")
            values = tuple(float(v) for v in np.linspace(float(start), float(stop), int(n)))
        else:
            values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError as exc:
        if str(exc).startswith(f"--{name}="):
            raise
        raise ValueError(f"--{name}={shown!r} is not START:STOP:N or a comma list of numbers; "
                         f"write e.g. 0:1.3:70 or 0.25,0.5,0.75") from None
    if not values:
        raise ValueError(f"--{name}={shown!r} is empty; write e.g. 0:1.3:70")
    if len(values) > MAX_GRID_POINTS or not all(math.isfinite(v) for v in values):
        raise ValueError(f"--{name}={shown!r} must be at most {MAX_GRID_POINTS} finite numbers "
                         "(no inf or nan); write e.g. 0:1.3:70")
    return values


def run(args: argparse.Namespace, seconds: float) -> int:
    """``resnet-limits map``: measure the regime map of ``args`` and save its heatmap and
    numbers (``seconds``: the time limit of the activation's exact check)."""
    import os
    import time

    from verify.regime_map import MapGrid, compute_map, map_rows_store, save_map

    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise ValueError(f"--out={args.out!r} must end in .png, e.g. reports/regime_map.png")
    what = f"checking --activation={shorten(args.activation)!r}"
    with time_limit(seconds, what):
        activation(args.activation)  # ActivationError before any work
    grid = MapGrid(alphas=grid_values(args.alphas, "alphas"),
                   hursts=grid_values(args.hursts, "hursts") if args.hursts else (),
                   include_iid=not args.no_iid, include_smooth=not args.no_smooth,
                   depth=args.depth, width=args.width, n_draws=args.draws,
                   n_inputs=args.inputs, activation=args.activation, seed=args.seed,
                   dtype=args.dtype, block=args.block)
    from verify.executors import ExecutorSpec

    rows = len(grid.rows())
    if args.executor or args.scheduler:
        spec = ExecutorSpec.parse(args.executor, args.scheduler)
    else:
        workers = args.workers or (min(2, os.cpu_count() or 1) if rows >= 8 else 1)
        spec = ExecutorSpec.parse(f"process:{workers}" if workers > 1 else None)
    store = map_rows_store(args.resume) if args.resume else None
    print(f"regime map: {rows} rows x {len(grid.alphas)} exponents, depth {grid.depth}, "
          f"width {grid.width}, {grid.n_draws} x {grid.n_inputs} samples per cell", flush=True)
    t0 = time.perf_counter()
    rmap = compute_map(grid, threads=args.threads, executor=spec, store=store,
                       progress=None if args.quiet else lambda line: print(line, flush=True))
    png, data = save_map(rmap, out)
    print(f"{png}\n{data}\ncomputed in {rmap.wall_time_s:.1f} s on {rmap.threads} thread(s); "
          f"total {time.perf_counter() - t0:.1f} s")
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``map`` options (the caller adds ``--time-limit``)."""
    p.add_argument("--out", default=str(Path("reports") / "regime_map.png"),
                   help="PNG path; the numbers go beside it as .json")
    p.add_argument("--alphas", default="0:1.3:70", help="residual exponents: START:STOP:N or "
                                                        "a comma list")
    p.add_argument("--hursts", default="0.05:0.97:51", help="Hurst indices of the fBm rows "
                                                            "('' for none)")
    p.add_argument("--no-iid", action="store_true", help="leave out the i.i.d. row")
    p.add_argument("--no-smooth", action="store_true", help="leave out the smooth row")
    p.add_argument("--depth", type=int, default=1000)
    p.add_argument("--width", type=int, default=40)
    p.add_argument("--draws", type=int, default=5, help="weight draws per cell")
    p.add_argument("--inputs", type=int, default=10, help="inputs per weight draw")
    p.add_argument("--activation", default="relu", help="library name or expression in x")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (default 1: on a small shared CPU, more threads wait on "
                        "each other at every layer)")
    p.add_argument("--block", default="S", choices=("S", "O"),
                   help="S: MFBV's res-1 h + L^-alpha V sigma(h); O: their res-3 "
                        "h + L^-alpha V sigma(W h) (their Figure 7)")
    p.add_argument("--workers", type=int, default=None,
                   help="local processes sharing the rows, the same as --executor process:N "
                        "(default: 2 on a machine with 2+ cores for 8 rows or more, else 1)")
    from verify.executors import add_executor_arguments

    add_executor_arguments(p)
    p.add_argument("--resume", metavar="ROWS.jsonl",
                   help="keep each finished row in this file; rerunning with it computes only "
                        "the missing rows")
    p.add_argument("--quiet", action="store_true", help="no per-row progress lines")
