r"""The minibatch stream of a seed: which training rows step ``t`` uses.

Epoch ``e`` of seed ``s`` is a random permutation of the ``n`` training rows (stream
``(s, "train-batches", "epoch=e")``) cut into ``n // batch`` batches, the remainder dropped (the
authors shuffle and reshape the same way; their 1024 / 32 leaves none). Step ``t`` is batch
``t mod (n // batch)`` of epoch ``t // (n // batch)``: a pure function of ``(seed, t)``, so the
stream does not depend on how the steps are chunked, and every depth trained with seed ``s``
sees the same batches (the depths are coupled, THEORY.md section 5).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from numerics._util import make_generator

__all__ = ["batch_indices"]


def batch_indices(seeds: Sequence[int], *, n_rows: int, batch_size: int, start: int,
                  steps: int) -> Tensor:
    """Row indices ``(len(seeds), steps, batch_size)`` (int64) of steps ``start..start+steps-1``."""
    if not (isinstance(batch_size, int) and 1 <= batch_size <= n_rows):
        raise ValueError(
            f"batch_size={batch_size!r} must be an int in [1, n_rows={n_rows}], e.g. 32"
        )
    if not (isinstance(start, int) and start >= 0 and isinstance(steps, int) and steps >= 0):
        raise ValueError(f"start={start!r}, steps={steps!r} must be ints >= 0")
    per_epoch = n_rows // batch_size
    first, last = start // per_epoch, (start + steps - 1) // per_epoch if steps else -1
    out = torch.empty((len(seeds), steps, batch_size), dtype=torch.int64)
    for i, seed in enumerate(seeds):
        epochs = [
            torch.randperm(n_rows, generator=make_generator(seed, "train-batches", f"epoch={e}"))[
                : per_epoch * batch_size
            ]
            for e in range(first, last + 1)
        ]
        if epochs:
            flat = torch.cat(epochs).view(-1, batch_size)
            off = start - first * per_epoch
            out[i] = flat[off : off + steps]
    return out
