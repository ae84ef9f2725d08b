r"""The weights of a trained ladder, per (depth, seed), padded to the deepest depth.

Arrays are indexed ``[depth index, seed index, layer, ...]``; layers ``k >= L`` of depth ``L``
are padding and exactly zero (the trainer never touches them; :func:`TrainedLadder.check_padding`
asserts it). ``delta`` is the delta each layer *uses* (``|delta|`` for shared, ``delta_k`` for
multi, ``1/L`` frozen, ``1`` none), ``delta_param`` the trained parameter itself (shared:
``(n_depths, n_seeds)``, multi: ``(n_depths, n_seeds, L_max)``, else ``None``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["TrainedLadder"]


@dataclass(frozen=True)
class TrainedLadder:
    depths: tuple[int, ...]
    seeds: tuple[int, ...]
    delta_mode: str
    A: Tensor  # (n_depths, n_seeds, L_max, d, d)
    b: Tensor  # (n_depths, n_seeds, L_max, d)
    delta: Tensor  # (n_depths, n_seeds, L_max)
    delta_param: Tensor | None
    losses: Tensor  # (steps, n_depths, n_seeds): each step's minibatch MSE
    steps: int

    @property
    def mask(self) -> Tensor:
        """``(n_depths, L_max)`` bool: layer ``k`` exists at depth ``L`` iff ``k < L``."""
        lmax = self.A.shape[2]
        return torch.arange(lmax)[None, :] < torch.tensor(self.depths)[:, None]

    def check_padding(self) -> None:
        """Raise if a padded layer holds a non-zero weight."""
        pad = ~self.mask[:, None, :]  # (n_depths, 1, L_max)
        for nm, t in (("A", self.A), ("b", self.b), ("delta", self.delta)):
            flat = t.reshape(*t.shape[:3], -1)
            bad = (flat != 0).any(dim=-1) & pad
            if bool(bad.any()):
                i, s, k = (int(v) for v in bad.nonzero()[0])
                raise AssertionError(
                    f"{nm}: padded layer {k} of depth {self.depths[i]} (seed "
                    f"{self.seeds[s]}) is non-zero"
                )

    def model(self, depth: int, seed: int) -> tuple[Tensor, Tensor, Tensor]:
        """``(A (L, d, d), b (L, d), delta (L,))`` of one model, padding removed."""
        if depth not in self.depths or seed not in self.seeds:
            raise KeyError(f"(depth={depth}, seed={seed}) is not in depths={self.depths}, "
                           f"seeds={self.seeds}")
        i, s = self.depths.index(depth), self.seeds.index(seed)
        return self.A[i, s, :depth], self.b[i, s, :depth], self.delta[i, s, :depth]
