r"""Limit solvers taking plain torch callables; each declares its order as class attributes.

ODE :math:`dH = f(t, H)\,dt` (``f(t: float, h: Tensor (M, d)) -> Tensor (M, d)``):

* :class:`Euler` (``order = 1``): :math:`H + f(t, H)\,\Delta t`.
* :class:`Heun` (``order = 2``, explicit trapezoid): :math:`K_1 = f(t, H)`,
  :math:`K_2 = f(t + \Delta t, H + \Delta t K_1)`, :math:`H + \tfrac{\Delta t}2 (K_1 + K_2)`.
* :class:`RK4` (``order = 4``), classical Runge-Kutta.

Ito SDE :math:`dH = f(t, H)\,dt + \text{noise}(t, H, dW)`:

* :class:`EulerMaruyama` (``strong_order = 1/2``, ``weak_order = 1``; ``order = 1`` without
  noise): :math:`H + f\,\Delta t + \text{noise}(t, H, \Delta W)`.
* :class:`Milstein` (scalar ``d = 1`` noise :math:`g(t, H)\,dB`, ``strong_order = 1``):
  :math:`H + f\,\Delta t + g\,\Delta B + \tfrac12 g\,\partial_h g\,(\Delta B^2 - v\,\Delta t)`,
  ``v`` the variance per unit time of ``B``.
* :class:`Exact`: a closed-form solution ``solution(t, h0, W_t)`` of the driving path's running
  sum ``W_t`` (``order = inf``), e.g. ``h0 * exp(W_t - t/2)`` for :math:`dH = H\,dW`.

Noise terms: :class:`MatrixNoise` (``dW @ u(t, H)``, ``dW`` a ``d x d`` matrix Brownian
increment, e.g. the weights' own path), :class:`VectorNoise` (``g(t, H) * dB`` diagonal, or
``g(t, H) @ dB`` with ``dim = m``), :class:`ScalarNoise` (``d = 1``, with ``dg`` for Milstein).
``source`` names the path driving the noise: a weight name (``"A"``, ``"V"``, ``"W"``, ``"b"``)
shares that weight's path with the ResNets; any other name is an independent path.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from numerics._util import matvec

__all__ = [
    "DriftFn",
    "MatrixNoise",
    "VectorNoise",
    "ScalarNoise",
    "NoiseTerm",
    "ODESolver",
    "SDESolver",
    "Euler",
    "Heun",
    "RK4",
    "EulerMaruyama",
    "Milstein",
    "Exact",
    "LimitSpec",
    "solve_ode",
    "solve_sde",
]

DriftFn = Callable[[float, Tensor], Tensor]


@dataclass(frozen=True)
class MatrixNoise:
    """``dW @ u(t, H)`` with ``dW`` a ``(d, d)`` Brownian increment per sample.

    ``variance`` (entry variance per unit time) is used only when ``source`` is not a weight of
    the ladder (an independent path); ``None`` there means ``1 / d``.
    """

    u: Callable[[float, Tensor], Tensor]
    source: str = "A"
    variance: float | None = None

    def apply(self, t: float, h: Tensor, dw: Tensor) -> Tensor:
        return matvec(dw, self.u(t, h))

    def path_shape(self, width: int) -> tuple[int, ...]:
        return (width, width)


@dataclass(frozen=True)
class VectorNoise:
    """``g(t, H) * dB`` (``dim=None``: diagonal, ``g -> (M, d)``, ``B`` d-dimensional) or
    ``g(t, H) @ dB`` (``g -> (M, d, dim)``, ``B`` ``dim``-dimensional).

    ``variance``: variance per unit time of each coordinate of an independent ``B``.
    """

    g: Callable[[float, Tensor], Tensor]
    source: str = "B"
    dim: int | None = None
    variance: float | None = 1.0

    def apply(self, t: float, h: Tensor, dw: Tensor) -> Tensor:
        gv = self.g(t, h)
        if self.dim is None:
            return gv * dw
        return matvec(gv, dw)

    def path_shape(self, width: int) -> tuple[int, ...]:
        return (width,) if self.dim is None else (self.dim,)


@dataclass(frozen=True)
class ScalarNoise:
    """Scalar noise ``g(t, H) dB`` for ``d = 1`` with ``dg = dg/dh`` (needed by Milstein)."""

    g: Callable[[float, Tensor], Tensor]
    dg: Callable[[float, Tensor], Tensor] | None = None
    source: str = "B"
    variance: float | None = 1.0

    def apply(self, t: float, h: Tensor, dw: Tensor) -> Tensor:
        return self.g(t, h) * dw.reshape(h.shape)

    def path_shape(self, width: int) -> tuple[int, ...]:
        if width != 1:
            raise ValueError(f"ScalarNoise needs width 1, got width={width}; use VectorNoise")
        return (1,)


NoiseTerm = MatrixNoise | VectorNoise | ScalarNoise


class ODESolver:
    """One step ``step(f, t, dt, h)`` of a one-step ODE method of order ``order``."""

    order: ClassVar[float]
    strong_order: ClassVar[float]
    weak_order: ClassVar[float]
    kind: ClassVar[str] = "ode"

    def step(self, f: DriftFn, t: float, dt: float, h: Tensor) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Euler(ODESolver):
    """Explicit Euler, ``H + f(t, H) dt``: global order 1."""

    order = 1.0
    strong_order = 1.0
    weak_order = 1.0

    def step(self, f: DriftFn, t: float, dt: float, h: Tensor) -> Tensor:
        return h + dt * f(t, h)


class Heun(ODESolver):
    """Heun (explicit trapezoid): global order 2."""

    order = 2.0
    strong_order = 2.0
    weak_order = 2.0

    def step(self, f: DriftFn, t: float, dt: float, h: Tensor) -> Tensor:
        k1 = f(t, h)
        k2 = f(t + dt, h + dt * k1)
        return h + (0.5 * dt) * (k1 + k2)


class RK4(ODESolver):
    """Classical 4-stage Runge-Kutta: global order 4."""

    order = 4.0
    strong_order = 4.0
    weak_order = 4.0

    def step(self, f: DriftFn, t: float, dt: float, h: Tensor) -> Tensor:
        k1 = f(t, h)
        k2 = f(t + 0.5 * dt, h + (0.5 * dt) * k1)
        k3 = f(t + 0.5 * dt, h + (0.5 * dt) * k2)
        k4 = f(t + dt, h + dt * k3)
        return h + (dt / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)


class SDESolver:
    """One step ``step(f, noise, t, dt, h, dw, variance)`` of an Ito SDE scheme."""

    order: ClassVar[float]
    strong_order: ClassVar[float]
    weak_order: ClassVar[float]
    kind: ClassVar[str] = "sde"

    def step(
        self,
        f: DriftFn | None,
        noise: NoiseTerm | None,
        t: float,
        dt: float,
        h: Tensor,
        dw: Tensor | None,
        variance: float,
    ) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def check(self, noise: NoiseTerm | None) -> None:
        """Raise if this scheme cannot handle ``noise``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class EulerMaruyama(SDESolver):
    """Euler-Maruyama: strong order 1/2 (1 for additive noise), weak order 1."""

    order = 1.0
    strong_order = 0.5
    weak_order = 1.0

    def step(
        self,
        f: DriftFn | None,
        noise: NoiseTerm | None,
        t: float,
        dt: float,
        h: Tensor,
        dw: Tensor | None,
        variance: float,
    ) -> Tensor:
        out = h if f is None else h + dt * f(t, h)
        if noise is not None and dw is not None:
            out = out + noise.apply(t, h, dw)
        return out


class Milstein(SDESolver):
    """Milstein for scalar noise (``d = 1``, :class:`ScalarNoise` with ``dg``): strong order 1."""

    order = 1.0
    strong_order = 1.0
    weak_order = 1.0

    def check(self, noise: NoiseTerm | None) -> None:
        if not isinstance(noise, ScalarNoise) or noise.dg is None:
            raise ValueError(
                f"Milstein needs noise=ScalarNoise(g, dg) with dg = dg/dh, got {noise!r}; "
                "use EulerMaruyama for other noise"
            )

    def step(
        self,
        f: DriftFn | None,
        noise: NoiseTerm | None,
        t: float,
        dt: float,
        h: Tensor,
        dw: Tensor | None,
        variance: float,
    ) -> Tensor:
        self.check(noise)
        assert isinstance(noise, ScalarNoise) and noise.dg is not None and dw is not None
        db = dw.reshape(h.shape)
        g = noise.g(t, h)
        out = h + g * db + (0.5 * g * noise.dg(t, h)) * (db * db - variance * dt)
        if f is not None:
            out = out + dt * f(t, h)
        return out


@dataclass(frozen=True)
class Exact:
    """Closed-form limit ``H_t = solution(t, h0, W_t)``, ``W_t`` the running sum of the fine
    increments of path ``source`` (shape ``(M, *path_shape)``; ``None``: no path, ``W_t`` is
    ``None``). ``order = inf``."""

    solution: Callable[[float, Tensor, Tensor | None], Tensor]
    source: str | None = "A"
    variance: float | None = None

    order: ClassVar[float] = math.inf
    strong_order: ClassVar[float] = math.inf
    weak_order: ClassVar[float] = math.inf
    kind: ClassVar[str] = "exact"


@dataclass(frozen=True)
class LimitSpec:
    """What the ladder integrates on the fine grid, beside the ResNets, on the same path.

    Args:
        solver: an :class:`ODESolver`, :class:`SDESolver` or :class:`Exact`.
        drift: ``f(t, h) -> (M, d)``; or give ``drift_from_weights``.
        noise: the SDE noise term (SDE solvers only).
        drift_from_weights: ``smooth -> f``, called once with a mapping from weight name to
            the sampled :class:`numerics.smooth.SmoothPath` (``smooth["A"](t)`` has shape
            ``(M or 1, d, d)``), for limits whose drift involves the per-sample ``Abar(t)``.
    """

    solver: ODESolver | SDESolver | Exact
    drift: DriftFn | None = None
    noise: NoiseTerm | None = None
    drift_from_weights: Callable[[dict], DriftFn] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.solver, ODESolver | SDESolver | Exact):
            raise TypeError(f"solver={self.solver!r} must be an ODE/SDE solver or Exact")
        if self.drift is not None and self.drift_from_weights is not None:
            raise ValueError("give drift or drift_from_weights, not both")
        if isinstance(self.solver, ODESolver) and self.noise is not None:
            raise ValueError(
                f"solver={self.solver!r} is an ODE solver but noise={self.noise!r}; "
                "use EulerMaruyama/Milstein"
            )
        if isinstance(self.solver, SDESolver):
            self.solver.check(self.noise)
        if isinstance(self.solver, Exact) and (self.drift or self.noise or self.drift_from_weights):
            raise ValueError("Exact takes its solution only; leave drift and noise None")
        if (
            not isinstance(self.solver, Exact)
            and self.drift is None
            and self.drift_from_weights is None
            and self.noise is None
        ):
            raise ValueError("LimitSpec needs a drift and/or noise term")


def solve_ode(
    f: DriftFn,
    h0: Tensor,
    n_steps: int,
    *,
    solver: ODESolver | None = None,
    t0: float = 0.0,
    t1: float = 1.0,
    save_every: int | None = None,
) -> Tensor:
    """Integrate ``dH = f(t, H) dt`` from ``t0`` to ``t1`` in ``n_steps`` equal steps.

    Returns ``H_{t1}``; with ``save_every = s`` returns the states at steps ``0, s, 2s, ...``
    stacked on a new leading axis (``n_steps`` must be a multiple of ``s``).
    """
    solver = Heun() if solver is None else solver
    if not isinstance(solver, ODESolver):
        raise TypeError(f"solver={solver!r} must be an ODESolver (Euler, Heun, RK4)")
    if n_steps < 1:
        raise ValueError(f"n_steps={n_steps} must be >= 1")
    if save_every is not None and (save_every < 1 or n_steps % save_every):
        raise ValueError(f"save_every={save_every} must be >= 1 and divide n_steps={n_steps}")
    dt = (t1 - t0) / n_steps
    h = h0
    saved = [h0] if save_every else []
    for j in range(n_steps):
        h = solver.step(f, t0 + j * dt, dt, h)
        if save_every and (j + 1) % save_every == 0:
            saved.append(h)
    return torch.stack(saved) if save_every else h


def solve_sde(
    h0: Tensor,
    increments: Tensor | Iterable[Tensor],
    *,
    noise: NoiseTerm | None,
    drift: DriftFn | None = None,
    solver: SDESolver | None = None,
    variance: float | None = None,
    t0: float = 0.0,
    t1: float = 1.0,
    n_steps: int | None = None,
) -> Tensor:
    """Integrate an Ito SDE on given Brownian increments; returns ``H_{t1}``.

    ``increments``: a tensor ``(n_steps, M, *path_shape)`` or an iterable of per-step
    ``(M, *path_shape)`` tensors (then pass ``n_steps``). ``variance``: entry variance per
    unit time of the driving path (Milstein needs it; default ``noise.variance``).
    """
    solver = EulerMaruyama() if solver is None else solver
    if not isinstance(solver, SDESolver):
        raise TypeError(f"solver={solver!r} must be an SDESolver (EulerMaruyama, Milstein)")
    solver.check(noise)
    if isinstance(increments, Tensor):
        n_steps = increments.shape[0]
        steps: Iterable[Tensor] = increments.unbind(0)
    else:
        if n_steps is None:
            raise ValueError("increments is an iterable: pass n_steps=<number of steps>")
        steps = increments
    if variance is None:
        variance = getattr(noise, "variance", None)
    if variance is None:
        if isinstance(solver, Milstein):
            raise ValueError("Milstein needs variance=<entry variance per unit time of dW>")
        variance = 1.0
    dt = (t1 - t0) / n_steps
    h = h0
    j = -1
    for j, dw in enumerate(steps):
        h = solver.step(drift, noise, t0 + j * dt, dt, h, dw, variance)
    if j + 1 != n_steps:
        raise ValueError(f"got {j + 1} increments but n_steps={n_steps}")
    return h
