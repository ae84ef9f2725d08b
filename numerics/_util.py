"""Small shared helpers: seed derivation, device/dtype resolution, batched mat-vec."""

from __future__ import annotations

import zlib

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "derive_seed",
    "make_generator",
    "resolve_device",
    "resolve_dtype",
    "matvec",
    "is_power_of_two",
]

_DTYPES: dict[str, torch.dtype] = {
    "float64": torch.float64,
    "float32": torch.float32,
    "double": torch.float64,
    "float": torch.float32,
}


def derive_seed(seed: int, *keys: str) -> int:
    """A 63-bit seed for the stream named ``keys`` under the master ``seed``.

    Streams are independent (numpy ``SeedSequence`` spawn keys), so adding a weight matrix
    or an input law never changes the numbers drawn for another one.
    """
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative int; draw one, e.g. seed=1234")
    spawn_key = tuple(zlib.crc32(k.encode()) for k in keys)
    state = np.random.SeedSequence(entropy=int(seed), spawn_key=spawn_key).generate_state(
        2, np.uint32
    )
    return int((int(state[0]) << 31) ^ int(state[1])) & ((1 << 63) - 1)


def make_generator(seed: int, *keys: str, device: str | torch.device = "cpu") -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with ``derive_seed(seed, *keys)``."""
    g = torch.Generator(device=torch.device(device))
    g.manual_seed(derive_seed(seed, *keys))
    return g


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` -> CUDA when available, else CPU; strings are checked."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={str(device)!r} but CUDA is not available; pass device='cpu' or device=None"
        )
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device={str(device)!r} is not supported; use 'cpu' or 'cuda'")
    return dev


def resolve_dtype(dtype: torch.dtype | str, name: str = "dtype") -> torch.dtype:
    """Accept ``torch.float64``/``torch.float32`` or their names."""
    if isinstance(dtype, str):
        if dtype.removeprefix("torch.") not in _DTYPES:
            raise ValueError(f"{name}={dtype!r} is not a float dtype; use 'float64' or 'float32'")
        return _DTYPES[dtype.removeprefix("torch.")]
    if dtype not in (torch.float64, torch.float32):
        raise ValueError(f"{name}={dtype!r} is not supported; use torch.float64 or torch.float32")
    return dtype


def matvec(a: Tensor, x: Tensor) -> Tensor:
    """Batched matrix-vector product ``(..., n, m) @ (..., m) -> (..., n)`` (broadcasting)."""
    return torch.matmul(a, x.unsqueeze(-1)).squeeze(-1)


def is_power_of_two(n: int) -> bool:
    """True for 1, 2, 4, 8, ..."""
    return n > 0 and (n & (n - 1)) == 0
