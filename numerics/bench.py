"""Benchmark B1: the coupled depth ladder against a user's baseline and the cost of the draws.

Run ``python -m numerics.bench [--d 16] [--M 1024] [--max-depth 4096] [--device cpu|cuda]
[--quick]``. Workload (BENCHMARKS.md, B1): Block I, tanh, alpha = 0, i.i.d. Gaussian weight
path (Brownian increments, entry variance 1/(d L)), depths 16, 32, ..., max depth, M samples,
float64 states, plus the limit SDE dH = dW H (Euler-Maruyama) on the finest grid on the same
path. Prints, measured side by side in this process:

(a) speed-up over the baseline a user would write: one ``nn.Sequential`` of L residual blocks
    (``nn.Linear`` + tanh) per sampled network, one network per sample, every depth separately.
    It is timed on a subset (``--baseline-samples`` samples, depths up to
    ``--baseline-max-depth``); its cost is linear in the number of layers built and run, so the
    full cost is extrapolated as (time per layer on the subset) x M x sum(depths). The baseline
    does not solve the limit SDE (which favours it).
(b) ladder time / time to draw the same M * N * d^2 normals with ``torch.randn`` (same draw
    dtype, one (M, d, d) tensor per fine step).
(c) peak memory at two max depths (CPU: ``ru_maxrss`` of a fresh subprocess minus its RSS before
    the run; CUDA: ``torch.cuda.max_memory_allocated``), against the M N d^2 floats that
    holding all fine weights would take.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from numerics.blocked import block_generators
from numerics.fused import fused_available, linear_u, run_fused
from numerics.ladder import run_ladder
from numerics.laws import GaussianInput, brownian_weights
from numerics.metrics import error_table
from numerics.solvers import EulerMaruyama, LimitSpec, MatrixNoise

__all__ = ["main", "ladder_run", "baseline_time_per_layer", "randn_time"]

TARGET_BASELINE = 50.0
TARGET_RANDN = 2.0


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _depths(max_depth: int, min_depth: int = 16) -> tuple[int, ...]:
    out, d = [], min(min_depth, max_depth)
    while d <= max_depth:
        out.append(d)
        d *= 2
    return tuple(out)


def ladder_run(
    d: int,
    m: int,
    max_depth: int,
    device: str,
    draw_dtype: torch.dtype,
    noise_device: str = "cpu",
    seed: int = 0,
    backend: str | None = None,
) -> tuple[float, Any]:
    """Wall time of the B1 ladder (with the limit SDE) and its ErrorTable.

    ``backend=None``: :func:`run_ladder` on the torch stream; ``"numba"``/``"torch"``: the
    numpy stream through :func:`numerics.fused.run_fused` (kernel / pure-torch fallback)."""
    lim = LimitSpec(EulerMaruyama(), noise=MatrixNoise(u=linear_u, source="A"))
    if backend is not None:
        t0 = time.perf_counter()
        res = run_fused(alpha=0.0, weights={"A": brownian_weights()}, x0=GaussianInput(),
                        width=d, depths=_depths(max_depth), n_samples=m, seed=seed, limit=lim,
                        backend=backend)
        return time.perf_counter() - t0, error_table(res)
    res = run_ladder(
        "I",
        torch.tanh,
        alpha=0.0,
        weights={"A": brownian_weights()},
        x0=GaussianInput(),
        width=d,
        depths=_depths(max_depth),
        n_samples=m,
        seed=seed,
        limit=lim,
        device=device,
        draw_dtype=draw_dtype,
        noise_device=noise_device,
    )
    return res.wall_time_s, error_table(res)


class _Block(nn.Module):
    def __init__(self, d: int, depth: int, g: torch.Generator, device: torch.device) -> None:
        super().__init__()
        self.lin = nn.Linear(d, d, bias=False, dtype=torch.float64, device=device)
        with torch.no_grad():
            w = torch.randn((d, d), generator=g, dtype=torch.float64) / math.sqrt(d * depth)
            self.lin.weight.copy_(w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + torch.tanh(self.lin(x))


def baseline_time_per_layer(
    d: int, n_samples: int, depths: Sequence[int], device: torch.device
) -> tuple[float, dict[int, float]]:
    """Seconds per layer (build + forward) of the per-sample ``nn.Sequential`` baseline."""
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn((n_samples, d), generator=g, dtype=torch.float64).to(device)
    per_depth: dict[int, float] = {}
    total_t, total_layers = 0.0, 0
    for depth in depths:
        _sync(device)
        t0 = time.perf_counter()
        for i in range(n_samples):
            net = nn.Sequential(*[_Block(d, depth, g, device) for _ in range(depth)])
            with torch.no_grad():
                net(x0[i : i + 1])
        _sync(device)
        dt = time.perf_counter() - t0
        per_depth[depth] = dt / (n_samples * depth)
        total_t += dt
        total_layers += n_samples * depth
    return total_t / total_layers, per_depth


def randn_time(d: int, m: int, n_steps: int, draw_dtype: torch.dtype, device: str) -> float:
    """Time to draw ``m * n_steps * d^2`` normals with torch.randn, one (m, d, d) per step."""
    dev = torch.device(device)
    g = torch.Generator(device=dev).manual_seed(0)
    _sync(dev)
    t0 = time.perf_counter()
    for _ in range(n_steps):
        torch.randn((m, d, d), generator=g, dtype=draw_dtype, device=dev)
    _sync(dev)
    return time.perf_counter() - t0


def numpy_draw_time(d: int, m: int, n_steps: int, chunk: int = 16) -> float:
    """Time to draw the same ``m * n_steps * d^2`` float64 normals of the numpy stream
    (:mod:`numerics.blocked`: one generator per block of samples, into a reused buffer)."""
    gens = block_generators(0, "A", m)
    buf = np.empty((min(chunk, n_steps), len_block(m), d, d))
    t0 = time.perf_counter()
    for g in gens:
        for _ in range(max(1, n_steps // buf.shape[0])):
            g.standard_normal(out=buf)
    return time.perf_counter() - t0


def len_block(m: int) -> int:
    from numerics.blocked import SAMPLE_BLOCK

    return min(m, SAMPLE_BLOCK)


def _rss_kib() -> int:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * (resource.getpagesize() // 1024)


def _mem_probe(args: argparse.Namespace) -> None:
    """Subprocess entry: one ladder run, prints JSON with peak RSS growth in MiB."""
    torch.set_num_threads(args.threads)
    ladder_run(args.d, 2, 16, "cpu", torch.float32)  # warm-up: allocator, lazy imports
    before = _rss_kib()
    ladder_run(args.d, args.M, args.mem_probe, "cpu", _DT[args.draw_dtype])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"depth": args.mem_probe, "peak_growth_mib": (peak - before) / 1024}))


def _peak_memory_mib(args: argparse.Namespace, depth: int, draw_dtype: str) -> float:
    if args.device == "cuda":
        dev = torch.device("cuda")
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(dev)
        base = torch.cuda.memory_allocated(dev)
        ladder_run(args.d, args.M, depth, "cuda", _DT[draw_dtype], args.noise_device)
        return (torch.cuda.max_memory_allocated(dev) - base) / 2**20
    cmd = [
        sys.executable, "-m", "numerics.bench", "--d", str(args.d), "--M", str(args.M),
        "--mem-probe", str(depth), "--draw-dtype", draw_dtype, "--threads", str(args.threads),
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=600)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["peak_growth_mib"])


_DT = {"float32": torch.float32, "float64": torch.float64}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m numerics.bench", description=__doc__.split("\n")[0])
    p.add_argument("--d", type=int, default=16)
    p.add_argument("--M", type=int, default=1024)
    p.add_argument("--max-depth", type=int, default=4096)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--quick", action="store_true", help="M <= 256, max depth <= 1024")
    p.add_argument("--draw-dtype", choices=["float32", "float64", "both"], default="both")
    p.add_argument("--noise-device", choices=["cpu", "native"], default="cpu")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (CPU)")
    p.add_argument("--baseline-samples", type=int, default=None)
    p.add_argument("--baseline-max-depth", type=int, default=None)
    p.add_argument("--no-fused", dest="fused", action="store_false",
                   help="skip the numpy-stream settings (fused kernel and its fallback)")
    p.add_argument("--no-slopes", dest="slopes", action="store_false",
                   help="skip the log-log cost slopes in L, M and d^2")
    p.add_argument("--mem-probe", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.mem_probe is not None:
        _mem_probe(args)
        return 0
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda but CUDA is not available")
    torch.set_num_threads(args.threads)
    if args.quick:
        args.M = min(args.M, 256)
        args.max_depth = min(args.max_depth, 1024)
    nb = args.baseline_samples or (2 if args.quick else 4)
    bmax = args.baseline_max_depth or min(args.max_depth, 512 if args.quick else 1024)
    depths = _depths(args.max_depth)
    n_fine = depths[-1]
    d, m = args.d, args.M
    dtypes = ["float32", "float64"] if args.draw_dtype == "both" else [args.draw_dtype]
    print(
        f"B1: d={d} M={m} depths={depths[0]}..{depths[-1]} ({len(depths)} depths) "
        f"device={args.device} threads={torch.get_num_threads()} states=float64 "
        f"noise_device={args.noise_device}"
    )
    ladder_run(d, 4, 32, args.device, torch.float32, args.noise_device)  # warm-up
    if args.fused and fused_available():
        ladder_run(d, 8, 32, "cpu", torch.float64, backend="numba")  # compile / load the kernel

    dev = torch.device(args.device)
    tau, per_depth = baseline_time_per_layer(d, nb, _depths(bmax), dev)
    n_layers = m * sum(depths)
    t_base = tau * n_layers
    print(
        f"baseline: {nb} samples x depths {_depths(bmax)[0]}..{bmax}: "
        f"{tau * 1e6:.1f} us/layer (per depth: "
        + ", ".join(f"{k}:{v * 1e6:.0f}" for k, v in per_depth.items())
        + f"); extrapolated to {m} x {sum(depths)} layers = {t_base:.1f} s"
    )
    settings = [(f"torch-{n}", n, None) for n in dtypes]
    if args.fused:
        settings += [("numpy-float64 (pure-torch fallback)", "float64", "torch")]
        if fused_available():
            settings += [("fused-float64 (numba kernel)", "float64", "numba")]
        else:
            print("fused kernel: numba is not installed (pip install numba); fallback only")
    print("random streams: torch-*: torch CPU generator, one normal_ per fine step "
          "(numerics.noise); numpy-float64 and fused-float64: numpy PCG64, one generator per "
          f"{len_block(10**9)} samples (numerics.blocked), the same numbers in both; "
          "the law is the same in all, the numbers differ between streams")
    met = {}
    for name, dt_name, backend in settings:
        t_ladder, table = ladder_run(d, m, n_fine, args.device, _DT[dt_name],
                                     args.noise_device, backend=backend)
        if backend is None:
            t_randn, floor = randn_time(d, m, n_fine, _DT[dt_name], args.device), "torch.randn"
        else:
            t_randn, floor = numpy_draw_time(d, m, n_fine), "numpy Generator.standard_normal"
        sa, sb = t_base / t_ladder, t_ladder / t_randn
        met[name] = sa >= TARGET_BASELINE and sb <= TARGET_RANDN
        print(f"--- {name}: draws in {dt_name} (accumulation float64) ---")
        print(f"ladder + limit SDE: {t_ladder:.2f} s   {floor} of {m * n_fine * d * d:.3g} "
              f"normals ({dt_name}): {t_randn:.2f} s")  # fmt: skip
        print(f"(a) speed-up over baseline: {sa:.0f}x (target >= {TARGET_BASELINE:.0f}x) "
              f"{'OK' if sa >= TARGET_BASELINE else 'MISSED'}")  # fmt: skip
        print(f"(b) ladder / draws: {sb:.2f} (target <= {TARGET_RANDN}) "
              f"{'OK' if sb <= TARGET_RANDN else 'MISSED'}")  # fmt: skip
        errs = zip(table.depths, table.means["strong"], strict=True)
        print("strong E|h_L - H_1|: " + ", ".join(f"{L}:{e:.3g}" for L, e in errs))
    both = [k for k, v in met.items() if v]
    print("B1 both targets met with one draw dtype: "
          + (", ".join(both) if both else "NONE (MISSED)"))
    if args.slopes:
        from numerics.bench_scaling import print_slopes

        print_slopes(d, m, n_fine, backend="numba" if fused_available() else "torch")
    small = max(depths[0], n_fine // 8)
    mem = {L: _peak_memory_mib(args, L, dtypes[0]) for L in (small, n_fine)}
    hold = m * n_fine * d * d * 8 / 2**20
    print(
        f"(c) peak memory growth ({dtypes[0]} draws): max depth {small}: {mem[small]:.1f} MiB, "
        f"max depth {n_fine}: {mem[n_fine]:.1f} MiB (holding all fine weights of depth "
        f"{n_fine} would take {hold:.0f} MiB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
