r"""The driver: the coupled paths of one simulation and the dyadic tree over them, streamed.

Every weight with a rough part has one path ``B`` of ``N`` fine increments per sample (its key
is the weight's name; :class:`numerics.noise.BrownianPath` or, with ``stream="numpy"``,
:class:`numerics.blocked.BlockedNumpyPath`; :class:`numerics.fbm.FractionalPath` for fBm), an
independent limit noise has its own path keyed ``"limit:<source>"``, and every smooth part
:math:`\bar M` is one random function per sample from the stream ``(seed, "smooth", name)``.
:meth:`Driver.chunks` yields the fine increments chunk by chunk together with all levels of the
tree of pairwise sums, :math:`\Delta^{(L)}_k = \Delta^{(2L)}_{2k} + \Delta^{(2L)}_{2k+1}`
(:class:`numerics.noise.DyadicSplitter`): every depth, the limit and the weights of
:func:`weights_at_depth` see the same path bit for bit. Memory is independent of ``N``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from numerics._util import make_generator, resolve_device, resolve_dtype
from numerics.blocked import STREAMS, BlockedNumpyPath
from numerics.config import auto_chunk_steps, chunk_len
from numerics.fbm import FractionalPath
from numerics.laws import Brownian, FractionalBrownian, WeightLaw
from numerics.noise import BrownianPath, DyadicSplitter, FineIncrementSource
from numerics.smooth import SmoothPath, sample_smooth

__all__ = ["Chunk", "Driver", "brownian_path", "coupled_smooth_path", "rough_path",
           "smooth_paths", "tap", "weight_shape", "weights_at_depth"]


def weight_shape(name: str, width: int) -> tuple[int, ...]:
    """``(d,)`` for a bias ``"b"``, else ``(d, d)``."""
    return (width,) if name == "b" else (width, width)


def brownian_path(stream: str, **kw: Any) -> FineIncrementSource:
    """The Brownian path of ``stream`` (:data:`numerics.blocked.STREAMS`)."""
    if stream == "torch":
        return BrownianPath(**kw)
    if stream == "numpy":
        kw.pop("noise_device")
        if kw.pop("draw_dtype") != torch.float64:
            raise ValueError("stream='numpy' draws float64 only; pass draw_dtype=torch.float64")
        return BlockedNumpyPath(**kw)
    raise ValueError(f"stream={stream!r}; use one of {STREAMS}")


def rough_path(name: str, law: WeightLaw, shape: tuple[int, ...], *, width: int,
               n_samples: int, n_fine: int, seed: int, dtype: torch.dtype,
               draw_dtype: torch.dtype, device: torch.device, noise_device: str = "cpu",
               stream: str = "torch") -> FineIncrementSource:
    """The rough path of weight ``name`` (key ``name``), entry variance 1/width unless set."""
    rough = law.rough
    assert rough is not None
    variance = 1.0 / width if rough.variance is None else rough.variance
    if isinstance(rough, Brownian):
        return brownian_path(stream, n_samples=n_samples, shape=shape, n_steps=n_fine,
                             variance=variance, seed=seed, key=name, dtype=dtype,
                             draw_dtype=draw_dtype, device=device, noise_device=noise_device)
    if isinstance(rough, FractionalBrownian):
        return FractionalPath(n_samples=n_samples, shape=shape, n_steps=n_fine,
                              hurst=rough.hurst, variance=variance, seed=seed, key=name,
                              dtype=dtype, device=device)
    raise TypeError(f"weights[{name!r}].rough={rough!r} is not Brownian/FractionalBrownian")


def coupled_smooth_path(law: WeightLaw, name: str, *, seed: int, n_samples: int,
                        shape: tuple[int, ...], width: int, dtype: torch.dtype,
                        device: torch.device) -> SmoothPath:
    """The smooth part ``Mbar`` of weight ``name``: one random function per sample from the
    stream ``(seed, "smooth", name)``, entry variance 1/width unless the process sets one."""
    return sample_smooth(law.smooth.process, n_samples=n_samples, shape=shape,
                         default_variance=1.0 / width,
                         generator=make_generator(seed, "smooth", name), dtype=dtype,
                         device=device)


def smooth_paths(weights: Mapping[str, WeightLaw], *, seed: int, n_samples: int, width: int,
                 dtype: torch.dtype, device: torch.device) -> dict[str, SmoothPath]:
    """name -> sampled smooth part, for every weight with one (sorted by name)."""
    return {nm: coupled_smooth_path(law, nm, seed=seed, n_samples=n_samples,
                                    shape=weight_shape(nm, width), width=width, dtype=dtype,
                                    device=device)
            for nm, law in sorted(weights.items()) if law.smooth is not None}


@dataclass(frozen=True, eq=False)
class Chunk:
    """Fine steps ``j0 .. j1 - 1``; ``parts[key][level]``: that path's increments at
    ``level`` completed in this chunk (``(n, M, *shape)``; buffers reused by the next chunk)."""

    j0: int
    j1: int
    parts: Mapping[str, list[Tensor]]


class Driver:
    """Streams the chunks of ``paths`` (key -> source of ``n_fine`` fine increments) split into
    ``n_levels + 1`` dyadic levels, ``chunk`` fine steps at a time (no path: empty parts)."""

    def __init__(self, paths: Mapping[str, FineIncrementSource], *, n_fine: int,
                 n_levels: int, chunk: int) -> None:
        if n_fine % chunk:
            raise ValueError(f"chunk={chunk} must divide n_fine={n_fine}")
        self.paths, self.n_fine, self.n_levels, self.chunk = dict(paths), n_fine, n_levels, chunk

    @classmethod
    def auto_chunk(cls, paths: Mapping[str, FineIncrementSource], *, n_fine: int,
                   n_levels: int, n_samples: int, width: int,
                   chunk_steps: int | None) -> Driver:
        """The chunk of the ladder: ``chunk_steps`` (None: within 64 MiB per path) cut to a
        power of two dividing ``n_fine``."""
        steps = auto_chunk_steps(n_samples, width * width) if chunk_steps is None else chunk_steps
        return cls(paths, n_fine=n_fine, n_levels=n_levels, chunk=chunk_len(n_fine, steps))

    def chunks(self) -> Iterator[Chunk]:
        iters = {k: p.chunks(self.chunk) for k, p in self.paths.items()}
        splitters = {k: DyadicSplitter(self.n_levels) for k in self.paths}
        for q in range(self.n_fine // self.chunk):
            parts = {k: splitters[k].split(next(it)) for k, it in iters.items()}
            yield Chunk(q * self.chunk, (q + 1) * self.chunk, parts)


def tap(chunks: Iterable[Chunk], fn: Callable[[Chunk], None]) -> Iterator[Chunk]:
    """``chunks`` with ``fn(chunk)`` called on each first (e.g. to keep some increments)."""
    for ch in chunks:
        fn(ch)
        yield ch


def weights_at_depth(
    law: WeightLaw,
    depth: int,
    *,
    name: str = "A",
    width: int,
    n_samples: int,
    seed: int,
    n_fine: int,
    dtype: torch.dtype | str = torch.float64,
    draw_dtype: torch.dtype | str = torch.float32,
    device: str | torch.device | None = "cpu",
    noise_device: str = "cpu",
    chunk_steps: int | None = None,
) -> Tensor:
    r"""All weights ``A^{(L)}_k``, ``k < L``, of weight ``name`` at ``depth`` L: shape
    ``(L, M, *shape)``, exactly the numbers the ladder uses with the same ``seed``,
    ``n_fine`` (= max depth * 2**refine), ``n_samples``, ``width``, dtypes and ``noise_device``.

    For tests and small cases (memory ``L M d^2``). With ``beta_r = 1/2`` and no smooth part
    these are the raw increments and ``weights_at_depth(L) == block_sums(weights_at_depth(2L),
    2)`` bit for bit.
    """
    dtype = resolve_dtype(dtype)
    draw_dtype = resolve_dtype(draw_dtype, "draw_dtype")
    dev = resolve_device(device)
    if n_fine % depth or (n_fine // depth) & (n_fine // depth - 1):
        raise ValueError(f"n_fine={n_fine} / depth={depth} must be a power of two")
    shape = weight_shape(name, width)
    level = int(math.log2(n_fine // depth))
    out = torch.zeros((depth, n_samples, *shape), dtype=dtype, device=dev)
    if law.rough is not None:
        path = rough_path(name, law, shape, width=width, n_samples=n_samples, n_fine=n_fine,
                          seed=seed, dtype=dtype, draw_dtype=draw_dtype, device=dev,
                          noise_device=noise_device)
        steps = auto_chunk_steps(n_samples, math.prod(shape)) if chunk_steps is None \
            else chunk_steps
        driver = Driver({name: path}, n_fine=n_fine, n_levels=level,
                        chunk=chunk_len(n_fine, steps))
        parts = [ch.parts[name][level].clone() for ch in driver.chunks()]
        out = out + law.rough_scale(depth) * torch.cat(parts, dim=0)
    if law.smooth is not None:
        sm = coupled_smooth_path(law, name, seed=seed, n_samples=n_samples, shape=shape,
                                 width=width, dtype=dtype, device=dev)
        times = torch.arange(depth, dtype=torch.float64, device=dev) / depth
        out = out + law.smooth_scale(depth) * sm.values(times)
    return out
