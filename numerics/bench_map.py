"""Benchmark B2: the regime map's cost per cell against a peer-style baseline, side by side.

Run ``python -m numerics.bench_map [--block S|O] [--rows iid,fbm] [--peer-cells 2]``. For each
row kind, one full row of the default grid (70 exponents, depth 1000, width 40, 5 draws x 10
inputs) is measured by :mod:`numerics.measure.map_rows` (cost per cell = row time / 70), and
``--peer-cells`` cells of the same row by the baseline a user would write (MFBV-style): one
network per cell and weight draw, a Python loop over the layers with autograd, its 10 inputs
batched; by default the peer draws each cell's weights (``--peer-reuses-weights``: it does not).
Prints the per-cell times and their ratio (BENCHMARKS.md B2: target >= 100x).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import torch

from numerics.measure.init_map import MapGrid, MapRows

__all__ = ["main", "peer_cell_time"]

TARGET = 100.0


def _peer_weights(rows: MapRows, kind: str, like: dict[str, torch.Tensor]
                  ) -> dict[str, torch.Tensor]:
    """The peer's per-cell weights: i.i.d. by a Python loop over layers (randn per layer),
    fBm by the vectorised Davies-Harte of :func:`numerics.fbm.fgn` (faster than the peer's
    own Python-loop initialiser, which favours it); smooth rows reuse ours."""
    from numerics.fbm import fgn

    g = rows.grid
    gen = torch.Generator().manual_seed(0)
    out = {}
    for name, w in like.items():
        if kind == "iid":
            out[name] = torch.stack([torch.randn((g.n_draws, g.width, g.width), generator=gen)
                                     for _ in range(g.depth)]) / g.width**0.5
        elif kind == "fbm":
            x = fgn(g.depth, 0.3, (g.n_draws, g.width, g.width), generator=gen,
                    dtype=torch.float32)
            out[name] = x.permute(3, 0, 1, 2) / g.width**0.5
        else:
            out[name] = w
    return out


def peer_cell_time(rows: MapRows, weights: dict[str, torch.Tensor], alpha: float, *,
                   kind: str = "iid", draw: bool = True) -> float:
    """Seconds for one cell by the peer-style loop (every draw, its inputs batched; with
    ``draw``, the cell's weights drawn first, as one network per cell does)."""
    g = rows.grid
    sigma = torch.relu
    delta = float(g.depth) ** -alpha
    t0 = time.perf_counter()
    if draw:  # one network per cell: the peer draws its cell's weights
        weights = _peer_weights(rows, kind, weights)
    for j in range(g.n_draws):
        h0 = rows.x0.to(weights["V"].dtype).clone().requires_grad_(True)
        h = h0
        for k in range(g.depth):
            v = weights["V"][k, j]
            inner = h if g.block == "S" else weights["W"][k, j] @ h
            h = h + delta * (v @ sigma(inner))
        (h * rows.u.to(h.dtype)).sum().backward()
        _ = ((h - h0).norm(dim=0) / h0.norm(dim=0)).detach(), h0.grad.norm(dim=0)
    return time.perf_counter() - t0


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m numerics.bench_map", description=__doc__.split(
        "\n")[0])
    p.add_argument("--block", choices=["S", "O"], default="S")
    p.add_argument("--rows", default="iid,fbm", help="row kinds among iid, fbm (H=0.3), smooth")
    p.add_argument("--peer-cells", type=int, default=2)
    p.add_argument("--peer-reuses-weights", dest="peer_draws", action="store_false",
                   help="do not charge the peer its per-cell weight draws")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    grid = MapGrid(block=args.block, hursts=(0.3,))
    rows = MapRows(grid, torch.relu)
    kinds = [k.strip() for k in args.rows.split(",") if k.strip()]
    index = {kind: i for i, (kind, _) in enumerate(rows.rows)}
    print(f"B2 per cell, block {args.block}: depth {grid.depth}, width {grid.width}, "
          f"{grid.n_draws} x {grid.n_inputs} samples per cell, {len(grid.alphas)} exponents "
          f"per row, threads=1")
    for kind in kinds:
        if kind not in index:
            p.error(f"--rows: {kind!r} is not one of {sorted(index)}")
        i = index[kind]
        rows.measure(i)  # warm-up (allocations)
        _, t_row, _ = rows.measure(i)
        ours = t_row / len(grid.alphas)
        w = rows.weights(*rows.rows[i])
        alphas = [grid.alphas[len(grid.alphas) // 2 + c] for c in range(args.peer_cells)]
        peer = sum(peer_cell_time(rows, w, a, kind=kind, draw=args.peer_draws)
                   for a in alphas) / len(alphas)
        ratio = peer / ours
        print(f"{kind:>6}: ours {ours * 1e3:.1f} ms/cell (row {t_row:.2f} s), peer "
              f"{peer * 1e3:.0f} ms/cell ({args.peer_cells} cells): {ratio:.0f}x "
              f"(target >= {TARGET:.0f}x) {'OK' if ratio >= TARGET else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
