r"""The value objects of a simulation: what is simulated (:class:`Model`), on which depths
(:class:`Ladder`), with which samples (:class:`Sampling`) and how (:class:`Execution`).

:func:`numerics.simulate` takes exactly these four. Each is a frozen dataclass checked once,
in ``__post_init__``, with messages naming the field, the value and the fix. The ladder's
fine grid has :math:`N = L_{\max} 2^{\text{refine}}` steps; depth :math:`L` consumes dyadic
level :math:`\log_2(N / L)` of the tree of pairwise sums (:mod:`numerics.noise`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import final

import torch
from torch import Tensor

from numerics._util import is_power_of_two, make_generator, resolve_device, resolve_dtype
from numerics.laws import InputLaw, WeightLaw
from numerics.noise import DEFAULT_CHUNK_STEPS
from numerics.solvers import LimitSpec

__all__ = [
    "BLOCKS",
    "CHUNK_BYTES",
    "DEFAULT_EXECUTION",
    "Execution",
    "Ladder",
    "Model",
    "Sampling",
    "auto_chunk_steps",
    "chunk_len",
    "resolve_x0",
    "validate_depths",
]

# block -> (required weight names, optional weight names)
BLOCKS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "I": (frozenset({"A"}), frozenset({"b"})),
    "O": (frozenset({"V", "W"}), frozenset()),
    "S": (frozenset({"V"}), frozenset()),
}

CHUNK_BYTES = 64 * 2**20  # auto chunk: at most this many bytes of float64 increments per path


def validate_depths(depths: Sequence[int], refine: int = 0) -> tuple[tuple[int, ...], int]:
    """Sorted ladder and fine-grid size ``N = max(depths) * 2**refine``; raises if a depth does
    not divide ``max(depths)`` by a power of two."""
    ds = [int(x) for x in depths]
    if not ds:
        raise ValueError("depths=() is empty; pass e.g. depths=(16, 32, 64)")
    if any(x < 1 for x in ds) or any(x != y for x, y in zip(ds, depths, strict=True)):
        raise ValueError(f"depths={tuple(depths)} must be positive integers")
    if len(set(ds)) != len(ds):
        raise ValueError(f"depths={tuple(depths)} has repeated depths")
    ds.sort()
    top = ds[-1]
    bad = [x for x in ds if top % x or not is_power_of_two(top // x)]
    if bad:
        raise ValueError(
            f"depths={tuple(depths)}: max depth {top} / depth must be a power of two, not for "
            f"{bad}; use a dyadic ladder such as (16, 32, 64, ...)"
        )
    if refine < 0:
        raise ValueError(f"refine={refine} must be >= 0 (fine grid = max depth * 2**refine)")
    return tuple(ds), top * 2**refine


def auto_chunk_steps(n_samples: int, numel: int, itemsize: int = 8) -> int:
    """Largest power of two <= DEFAULT_CHUNK_STEPS with ``chunk * M * numel * itemsize`` within
    ``CHUNK_BYTES`` (at least 1). Results never depend on the chunk size."""
    c = DEFAULT_CHUNK_STEPS
    while c > 1 and c * n_samples * numel * itemsize > CHUNK_BYTES:
        c //= 2
    return c


def chunk_len(n_fine: int, chunk_steps: int) -> int:
    """The largest power of two ``<= chunk_steps`` dividing ``n_fine``: the driver's chunk."""
    if not is_power_of_two(chunk_steps):
        raise ValueError(f"chunk_steps={chunk_steps} must be a power of two")
    c = 1
    while c < chunk_steps and n_fine % (2 * c) == 0:
        c *= 2
    return c


def resolve_x0(x0: InputLaw | Tensor, n_samples: int, width: int | None,
               seed: int) -> tuple[Tensor, int]:
    """The inputs ``(M, d)`` on CPU in float64 and the width: a tensor ``(d,)``/``(M, d)`` as
    given, or an input law drawn from the stream ``(seed, "x0")``."""
    if isinstance(x0, Tensor):
        x = x0.detach().to(device="cpu", dtype=torch.float64)
        if x.ndim == 1:
            x = x.expand(n_samples, x.shape[0]).clone()
        if x.ndim != 2 or x.shape[0] != n_samples:
            raise ValueError(
                f"x0 has shape {tuple(x0.shape)}; expected (d,) or (n_samples={n_samples}, d)"
            )
        if width is not None and x.shape[1] != width:
            raise ValueError(f"x0 has width {x.shape[1]} but width={width}")
        return x, x.shape[1]
    if isinstance(x0, InputLaw):
        if width is None:
            raise ValueError("x0 is an input law: pass width=<d>")
        return x0.sample(n_samples, width, make_generator(seed, "x0")), width
    raise TypeError(f"x0={x0!r} must be a Tensor (d,) / (M, d) or an InputLaw")


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class Model:
    r"""The network and its limit: block ``"I"`` (:math:`h + \delta\sigma(A h + b)`), ``"O"``
    (:math:`h + \delta V\sigma(W h)`) or ``"S"`` (:math:`h + \delta V\sigma(h)`),
    :math:`\delta_L = L^{-\alpha}`, one :class:`~numerics.laws.WeightLaw` per weight name, and an
    optional limit solved on the same path."""

    block: str
    sigma: Callable[[Tensor], Tensor]
    alpha: float
    weights: Mapping[str, WeightLaw]
    limit: LimitSpec | None = None

    def __post_init__(self) -> None:
        if self.block not in BLOCKS:
            raise ValueError(f"block={self.block!r}; use one of {sorted(BLOCKS)}")
        if not callable(self.sigma):
            raise TypeError(f"sigma={self.sigma!r} must be a callable Tensor -> Tensor")
        if not math.isfinite(self.alpha):
            raise ValueError(f"alpha={self.alpha} must be finite")
        required, optional = BLOCKS[self.block]
        names = set(self.weights)
        if not required <= names or not names <= required | optional:
            raise ValueError(
                f"block={self.block!r} takes weights {sorted(required)} (optional "
                f"{sorted(optional)}); got {sorted(names)}"
            )
        for nm, law in self.weights.items():
            if not isinstance(law, WeightLaw):
                raise TypeError(f"weights[{nm!r}]={law!r} must be a WeightLaw")
        if self.limit is not None and not isinstance(self.limit, LimitSpec):
            raise TypeError(f"limit={self.limit!r} must be a LimitSpec or None")


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class Ladder:
    """A dyadic depth ladder (sorted on construction) and the refinement of the fine grid."""

    depths: tuple[int, ...]
    refine: int = 0

    def __post_init__(self) -> None:
        ds, _ = validate_depths(self.depths, self.refine)
        object.__setattr__(self, "depths", ds)

    @property
    def n_fine(self) -> int:
        """``N = max(depths) * 2**refine``."""
        return self.depths[-1] * 2**self.refine

    def level(self, depth: int) -> int:
        """The dyadic level ``log2(N / depth)`` that ``depth`` consumes."""
        return int(math.log2(self.n_fine // depth))


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class Sampling:
    """``n_samples`` Monte-Carlo samples from the master ``seed``; inputs from an input law
    (needs ``width``) or a tensor ``(d,)`` / ``(M, d)``."""

    n_samples: int
    seed: int
    inputs: InputLaw | Tensor
    width: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.n_samples, int) or self.n_samples < 1:
            raise ValueError(f"n_samples={self.n_samples!r} must be an int >= 1")


@final
@dataclass(frozen=True, kw_only=True, slots=True)
class Execution:
    """How: ``device`` (None: CUDA if available), state ``dtype``, ``draw_dtype`` of the
    normals, ``noise_device`` (``"cpu"``: the same numbers on every device, or ``"native"``),
    ``chunk_steps`` (None: automatic; results never depend on it), the ``overflow`` threshold
    on ``max_i |h_i|`` and the random ``stream`` of Brownian paths (``"torch"`` or
    ``"numpy"``, :mod:`numerics.blocked`)."""

    device: str | torch.device | None = None
    dtype: torch.dtype | str = torch.float64
    draw_dtype: torch.dtype | str = torch.float32
    noise_device: str = "cpu"
    chunk_steps: int | None = None
    overflow: float = 1e8
    stream: str = "torch"

    def __post_init__(self) -> None:
        resolve_dtype(self.dtype)
        resolve_dtype(self.draw_dtype, "draw_dtype")
        if not self.overflow > 0:
            raise ValueError(f"overflow_threshold={self.overflow} must be > 0")
        if self.noise_device not in ("cpu", "native"):
            raise ValueError(f"noise_device={self.noise_device!r}; use 'cpu' or 'native'")
        if self.chunk_steps is not None and not is_power_of_two(self.chunk_steps):
            raise ValueError(f"chunk_steps={self.chunk_steps} must be a power of two")

    def torch_device(self) -> torch.device:
        return resolve_device(self.device)


DEFAULT_EXECUTION = Execution()
"""CUDA when available, float64 states, float32 draws on CPU generators, the torch stream."""
