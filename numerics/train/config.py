r"""What a trained ladder is: depths, seeds, the block-I parametrisation of delta, activation,
optimiser and initialisation (THEORY.md section 5; defaults = the authors' committed
configuration of instadeepai/scaling-resnets: Adam, lr 1e-2, batch 32, ``xavier-depth`` with
sd 0.01, shared delta).

Block I [CCRX21 eq. 1]: :math:`h_{k+1} = h_k + \delta_k \sigma(A_k h_k + b_k)` (column
convention; the authors' code writes rows, :math:`z = hA + b`, i.e. our :math:`A_k^\top`: every
Frobenius statistic is the same). ``delta``:

* ``"shared"``: one trained scalar, used as :math:`|\delta|`, initialised :math:`1/L`;
* ``"multi"``: one trained :math:`\delta_k` per layer (used as is, like the code), initialised
  :math:`\mathcal N(0, 1/L^2)`;
* ``"frozen"``: :math:`\delta = 1/L`, not trained;
* ``"none"``: :math:`\delta = 1`.

Initialisation of depth ``L``, seed ``s`` (stream ``(s, "train-init", "depth=L")``, drawn in
float64 in the order A, b, delta): ``"xavier-depth"``: :math:`A` entries
:math:`\mathcal N(0, (\mathrm{sd}/(L d))^2)`, :math:`b` entries
:math:`\mathcal N(0, (\mathrm{sd}/(L\sqrt d))^2)`; ``"xavier"``: the same without the ``L``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor

from numerics._util import make_generator, resolve_dtype

__all__ = ["DELTA_MODES", "TrainConfig", "init_model", "resolve_activation"]

DeltaMode = Literal["shared", "multi", "frozen", "none"]
DELTA_MODES: tuple[str, ...] = ("shared", "multi", "frozen", "none")
_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "linear": lambda z: z,
}


def resolve_activation(activation: str | Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    """``"tanh"``, ``"relu"``, ``"linear"`` or any elementwise torch callable."""
    if callable(activation):
        return activation
    if activation not in _ACTIVATIONS:
        raise ValueError(
            f"activation={activation!r} is unknown; use one of {sorted(_ACTIVATIONS)} or pass "
            "an elementwise torch callable such as torch.nn.functional.softplus"
        )
    return _ACTIVATIONS[activation]


@dataclass(frozen=True)
class TrainConfig:
    """One training protocol applied to every (depth, seed) model of a ladder."""

    depths: tuple[int, ...]
    seeds: tuple[int, ...] = (0,)
    delta: DeltaMode = "shared"
    activation: str | Callable[[Tensor], Tensor] = "tanh"
    optimizer: Literal["adam", "sgd"] = "adam"
    lr: float = 1e-2
    batch_size: int = 32
    init: Literal["xavier-depth", "xavier"] = "xavier-depth"
    init_sd: float = 0.01
    bias: bool = True
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    clip_norm: float | None = None  # per model, like torch.nn.utils.clip_grad_norm_ alone
    dtype: torch.dtype | str = torch.float32
    device: str = "cpu"
    sigma: Callable[[Tensor], Tensor] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        depths, seeds = tuple(self.depths), tuple(self.seeds)
        object.__setattr__(self, "depths", depths)
        object.__setattr__(self, "seeds", seeds)
        if not depths or any(not isinstance(L, int) or L < 1 for L in depths) or any(
            a >= b for a, b in zip(depths, depths[1:], strict=False)
        ):
            raise ValueError(
                f"depths={depths!r} must be a non-empty strictly increasing tuple of ints >= 1, "
                "e.g. (3, 5, 8, 13)"
            )
        if not seeds or len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds={seeds!r} must be a non-empty tuple of distinct ints")
        if self.delta not in DELTA_MODES:
            raise ValueError(f"delta={self.delta!r} is unknown; use one of {DELTA_MODES}")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer={self.optimizer!r} is unknown; use 'adam' or 'sgd'")
        if self.init not in ("xavier-depth", "xavier"):
            raise ValueError(f"init={self.init!r} is unknown; use 'xavier-depth' or 'xavier'")
        for nm in ("lr", "init_sd", "eps"):
            v = getattr(self, nm)
            if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{nm}={v!r} must be a finite number >= 0")
        if not (0 <= self.betas[0] < 1 and 0 <= self.betas[1] < 1):
            raise ValueError(f"betas={self.betas!r} must lie in [0, 1), e.g. (0.9, 0.999)")
        if self.clip_norm is not None and not self.clip_norm > 0:
            raise ValueError(f"clip_norm={self.clip_norm!r} must be > 0 or None (no clipping)")
        if not (isinstance(self.batch_size, int) and self.batch_size >= 1):
            raise ValueError(f"batch_size={self.batch_size!r} must be an int >= 1, e.g. 32")
        object.__setattr__(self, "dtype", resolve_dtype(self.dtype))
        object.__setattr__(self, "sigma", resolve_activation(self.activation))

    @property
    def max_depth(self) -> int:
        return self.depths[-1]

    @property
    def n_models(self) -> int:
        return len(self.depths) * len(self.seeds)


def init_model(depth: int, seed: int, width: int, cfg: TrainConfig
               ) -> tuple[Tensor, Tensor, Tensor | None]:
    """Initial ``A (L, d, d)``, ``b (L, d)`` and the trained delta (``()`` for shared, ``(L,)``
    for multi, ``None`` when delta is not trained) of one model, in ``cfg.dtype``."""
    g = make_generator(seed, "train-init", f"depth={depth}")
    scale = cfg.init_sd / (depth if cfg.init == "xavier-depth" else 1)
    a = torch.randn((depth, width, width), generator=g, dtype=torch.float64) * (scale / width)
    b = torch.randn((depth, width), generator=g, dtype=torch.float64) * (scale / math.sqrt(width))
    if not cfg.bias:
        b.zero_()
    delta: Tensor | None
    if cfg.delta == "shared":
        delta = torch.tensor(1.0 / depth, dtype=torch.float64)
    elif cfg.delta == "multi":
        delta = torch.randn((depth,), generator=g, dtype=torch.float64) / depth
    else:
        delta = None
    dt = cfg.dtype
    return a.to(dt), b.to(dt), None if delta is None else delta.to(dt)


def fixed_delta(depth: int, cfg: TrainConfig) -> float:
    """The untrained delta: ``1/L`` (frozen) or ``1`` (none)."""
    return 1.0 / depth if cfg.delta == "frozen" else 1.0
