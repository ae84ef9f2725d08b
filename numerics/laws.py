r"""Weight laws (how a weight depends on depth) and input laws.

A weight at depth ``L``, layer ``k`` (``t_k = k / L``) is

.. math:: A^{(L)}_k = L^{-\beta_s}\,\bar A(t_k) \;+\; L^{H - \beta_r}\,\Delta^{(L)}_k B,

* smooth part (:class:`Smooth`): a random or given smooth function :math:`\bar A`
  (:mod:`numerics.smooth`), the same function on every grid;
* rough part (:class:`Brownian`, :class:`FractionalBrownian`): :math:`\Delta^{(L)}_k B` the
  increment over :math:`[k/L, (k+1)/L]` of a path :math:`B` with entry variance ``v`` at
  ``t = 1`` (Brownian: ``H = 1/2``, increment variance ``v / L``; fBm: ``v L^{-2H}``), built
  from the fine increments (:mod:`numerics.noise`), so all depths share one path.

``beta_r = H`` gives the raw increments (Brownian increments, CCRX21 Hypothesis 2);
``beta_r = 0`` gives entries of variance ``v`` for every ``L`` (i.i.d. ``N(0, v)`` when
``H = 1/2``: MFBV initialisation). ``variance=None`` means ``1 / width``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from numerics.smooth import DeterministicPath, FourierSeries, RBFProcess, SmoothProcess

__all__ = [
    "Brownian",
    "FractionalBrownian",
    "Smooth",
    "WeightLaw",
    "RoughPart",
    "iid_gaussian",
    "brownian_weights",
    "smooth_weights",
    "InputLaw",
    "GaussianInput",
    "SphereInput",
    "FixedInput",
]


def _check_variance(variance: float | None, name: str) -> None:
    if variance is not None and not (variance > 0 and math.isfinite(variance)):
        raise ValueError(f"{name}.variance={variance} must be positive and finite, or None")


@dataclass(frozen=True)
class Brownian:
    """Rough part from Brownian increments, scaled by ``L^{1/2 - beta}``."""

    beta: float = 0.5
    variance: float | None = None

    def __post_init__(self) -> None:
        _check_variance(self.variance, "Brownian")

    @property
    def hurst(self) -> float:
        return 0.5


@dataclass(frozen=True)
class FractionalBrownian:
    """Rough part from fBm increments (Hurst ``hurst``), scaled by ``L^{hurst - beta}``.

    ``beta=None`` means ``beta = hurst`` (raw fBm increments).
    """

    hurst: float
    beta: float | None = None
    variance: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.hurst < 1.0:
            raise ValueError(f"FractionalBrownian.hurst={self.hurst} must lie in (0, 1)")
        _check_variance(self.variance, "FractionalBrownian")

    @property
    def scale_beta(self) -> float:
        return self.hurst if self.beta is None else self.beta


RoughPart = Brownian | FractionalBrownian


@dataclass(frozen=True)
class Smooth:
    """Smooth part ``L^{-beta} process(t_k)``."""

    process: SmoothProcess
    beta: float = 0.0


@dataclass(frozen=True)
class WeightLaw:
    """Law of one weight (matrix or bias): optional smooth part plus optional rough part."""

    rough: RoughPart | None = None
    smooth: Smooth | None = None

    def __post_init__(self) -> None:
        if self.rough is None and self.smooth is None:
            raise ValueError(
                "WeightLaw(rough=None, smooth=None) is empty; give rough=Brownian(...) and/or "
                "smooth=Smooth(...) (or leave the weight out of `weights`)"
            )
        if self.rough is not None and not isinstance(self.rough, Brownian | FractionalBrownian):
            raise TypeError(f"rough={self.rough!r} must be Brownian or FractionalBrownian")
        if self.smooth is not None and not isinstance(self.smooth, Smooth):
            raise TypeError(f"smooth={self.smooth!r} must be a Smooth(process, beta)")

    def rough_scale(self, depth: int) -> float:
        """``L^{H - beta_r}`` (0 without rough part)."""
        if self.rough is None:
            return 0.0
        if isinstance(self.rough, Brownian):
            return float(depth) ** (0.5 - self.rough.beta)
        return float(depth) ** (self.rough.hurst - self.rough.scale_beta)

    def smooth_scale(self, depth: int) -> float:
        """``L^{-beta_s}`` (0 without smooth part)."""
        if self.smooth is None:
            return 0.0
        return float(depth) ** (-self.smooth.beta)


def iid_gaussian(variance: float | None = None) -> WeightLaw:
    """i.i.d. ``N(0, variance)`` entries at every depth (``beta_r = 0``), coupled across depths."""
    return WeightLaw(rough=Brownian(beta=0.0, variance=variance))


def brownian_weights(variance: float | None = None, beta: float = 0.5) -> WeightLaw:
    """Brownian increments, entry variance ``variance / L`` at depth ``L`` (``beta = 1/2``)."""
    return WeightLaw(rough=Brownian(beta=beta, variance=variance))


def smooth_weights(
    process: SmoothProcess | Callable[[float], Tensor] | None = None, beta: float = 0.0
) -> WeightLaw:
    """Smooth weights ``L^{-beta} Abar(t_k)``; ``process`` defaults to ``FourierSeries()``.

    A plain callable ``t -> Tensor`` is wrapped as :class:`DeterministicPath`.
    """
    if process is None:
        process = FourierSeries()
    elif not isinstance(process, FourierSeries | RBFProcess | DeterministicPath):
        if not callable(process):
            raise TypeError(f"process={process!r} is neither a smooth process nor a callable")
        process = DeterministicPath(process)
    return WeightLaw(smooth=Smooth(process=process, beta=beta))


class InputLaw:
    """Law of the input ``h_0``: ``sample(n_samples, width, generator) -> (M, width)`` float64."""

    def sample(self, n_samples: int, width: int, generator: torch.Generator) -> Tensor:
        raise NotImplementedError  # pragma: no cover


@dataclass(frozen=True)
class GaussianInput(InputLaw):
    """``h_0 ~ N(0, scale^2 I)``."""

    scale: float = 1.0

    def sample(self, n_samples: int, width: int, generator: torch.Generator) -> Tensor:
        z = torch.randn((n_samples, width), generator=generator, dtype=torch.float64)
        return self.scale * z


@dataclass(frozen=True)
class SphereInput(InputLaw):
    """``h_0`` uniform on the sphere of radius ``radius``."""

    radius: float = 1.0

    def sample(self, n_samples: int, width: int, generator: torch.Generator) -> Tensor:
        z = torch.randn((n_samples, width), generator=generator, dtype=torch.float64)
        return self.radius * z / z.norm(dim=1, keepdim=True)


@dataclass(frozen=True)
class FixedInput(InputLaw):
    """The same input vector ``value`` (length ``width``) for every sample."""

    value: tuple[float, ...]

    def sample(self, n_samples: int, width: int, generator: torch.Generator) -> Tensor:
        if len(self.value) != width:
            raise ValueError(f"FixedInput has length {len(self.value)} but width={width}")
        v = torch.tensor(self.value, dtype=torch.float64)
        return v.expand(n_samples, width).clone()
