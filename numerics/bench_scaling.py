"""Cost of the B1 ladder against L, M and d^2: log-log slopes (BENCHMARKS.md: slope ~1 each).

Each size is timed twice (the faster run kept) on a ladder 16..L with the limit SDE; the slope
is the least-squares fit of log time on log L, log M and log d^2 over three sizes each.
"""

from __future__ import annotations

import numpy as np

__all__ = ["cost_slopes", "print_slopes"]


def _time(d: int, m: int, n: int, backend: str) -> float:
    from numerics.bench import ladder_run

    return min(ladder_run(d, m, n, "cpu", _f64(), backend=backend)[0] for _ in range(2))


def _f64():
    import torch

    return torch.float64


def _slope(xs: list[float], ts: list[float]) -> float:
    return float(np.polyfit(np.log(xs), np.log(ts), 1)[0])


def cost_slopes(d: int, m: int, n: int, backend: str = "numba") -> dict[str, tuple]:
    """``{"L": (sizes, times, slope), "M": ..., "d^2": ...}`` around ``(d/2, m/4, n/4)``."""
    d0, m0, n0 = max(4, d // 2), max(16, m // 4), max(128, n // 4)
    _time(4, 8, 32, backend)  # warm-up (compilation)
    out: dict[str, tuple] = {}
    ls = [n0, 2 * n0, 4 * n0]
    t = [_time(d0, m0, x, backend) for x in ls]
    out["L"] = (ls, t, _slope(ls, t))
    ms = [m0, 2 * m0, 4 * m0]
    t = [_time(d0, x, n0, backend) for x in ms]
    out["M"] = (ms, t, _slope(ms, t))
    ds = [d0, 2 * d0, 4 * d0]
    t = [_time(x, m0, n0, backend) for x in ds]
    out["d^2"] = ([x * x for x in ds], t, _slope([x * x for x in ds], t))
    return out


def print_slopes(d: int, m: int, n: int, backend: str = "numba") -> None:
    """Print the three slopes (cost linear in L, M, d^2 means slopes near 1)."""
    res = cost_slopes(d, m, n, backend)
    parts = []
    for name, (xs, ts, slope) in res.items():
        pts = ", ".join(f"{x}:{t:.2f}s" for x, t in zip(xs, ts, strict=True))
        parts.append(f"{name}: slope {slope:.2f} ({pts})")
    print(f"cost log-log slopes ({backend}): " + "; ".join(parts))
