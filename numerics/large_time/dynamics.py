"""Dynamics ``x' = f(x, u)`` of a neural ODE and its Euler flow, batched, in float64.

The controls of one time step are a flat vector ``u`` of ``n_controls`` numbers (the
matrices and biases of that step); a control is ``(..., L, n_controls)``, the states of the N
data points ``(..., N, d)``; leading batch dimensions (several problems or controls at once)
broadcast. Each dynamics carries its scalar (d = 1, width 1) sympy form so that
:func:`theory.homogeneity.homogeneity` decides its degree; tests check the torch and the sympy
forms agree. The family (THEORY.md section 6; EGPZ, Esteve, Geshkovski, Pighin, Zuazua,
"Large-time asymptotics in deep learning"):

- :class:`OuterLinear` ``x' = W(t) sigma(x) + b(t)``: degree 1 for any sigma (the EGPZ code);
- :class:`ReluOuter` ``x' = relu(W x + b)``: degree 1;
- :class:`InnerRelu` ``x' = W relu(A x + b)``: degree 2 (a negative control);
- :class:`InnerTanh` ``x' = W tanh(A x + b)``: not homogeneous (a negative control);
- :class:`InnerLinear` ``x' = W (A x + b)``: degree 2 and smooth (the solved degree-2 control).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
import torch
from torch import Tensor

__all__ = ["DYNAMICS", "Dynamics", "InnerRelu", "InnerTanh", "OuterLinear", "ReluOuter",
           "InnerLinear", "dynamics", "flow"]


@dataclass(frozen=True)
class Dynamics:
    """Base: ``d`` the state dimension, ``width`` the hidden width of inner-weight forms."""

    d: int
    width: int = 0
    name = "abstract"

    def __post_init__(self) -> None:
        if self.d < 1 or self.width < 0:
            raise ValueError(f"{type(self).__name__}(d={self.d}, width={self.width}): need "
                             "d >= 1 and width >= 0")

    @property
    def n_controls(self) -> int:
        raise NotImplementedError

    def f(self, x: Tensor, u: Tensor) -> Tensor:
        """The vector field at states ``x`` (..., N, d) and one step's controls ``u`` (..., m)."""
        raise NotImplementedError

    def sympy_scalar(self) -> tuple[sp.Expr, tuple[sp.Symbol, ...], tuple[sp.Symbol, ...]]:
        """(f, states, controls) for d = 1 and width 1, for theory.homogeneity."""
        raise NotImplementedError

    def pack_scalar(self, values: dict[str, float]) -> Tensor:
        """The d = 1, width 1 control vector from values of the sympy controls, by name."""
        return torch.tensor([values[str(c)] for c in self.sympy_scalar()[2]],
                            dtype=torch.float64)


def _split(u: Tensor, shapes: tuple[tuple[int, ...], ...]) -> list[Tensor]:
    out, start = [], 0
    for shape in shapes:
        size = 1
        for n in shape:
            size *= n
        out.append(u[..., start:start + size].reshape(*u.shape[:-1], *shape))
        start += size
    return out


_SIGMAS = {"tanh": (torch.tanh, sp.tanh), "sin": (torch.sin, sp.sin),
           "relu": (torch.relu, lambda z: sp.Max(0, z))}


@dataclass(frozen=True)
class OuterLinear(Dynamics):
    """``x' = W sigma(x) + b`` with ``W`` d x d and ``b`` d: degree 1 in (W, b)."""

    sigma: str = "tanh"
    name = "outer-linear"

    @property
    def n_controls(self) -> int:
        return self.d * self.d + self.d

    def f(self, x: Tensor, u: Tensor) -> Tensor:
        w, b = _split(u, ((self.d, self.d), (self.d,)))
        s = _SIGMAS[self.sigma][0](x)
        return s @ w.transpose(-1, -2) + b.unsqueeze(-2)

    def sympy_scalar(self):
        x, w, b = sp.symbols("x w b", real=True)
        return w * _SIGMAS[self.sigma][1](x) + b, (x,), (w, b)


@dataclass(frozen=True)
class ReluOuter(Dynamics):
    """``x' = relu(W x + b)``: degree 1 in (W, b)."""

    name = "relu-outer"

    @property
    def n_controls(self) -> int:
        return self.d * self.d + self.d

    def f(self, x: Tensor, u: Tensor) -> Tensor:
        w, b = _split(u, ((self.d, self.d), (self.d,)))
        return torch.relu(x @ w.transpose(-1, -2) + b.unsqueeze(-2))

    def sympy_scalar(self):
        x, w, b = sp.symbols("x w b", real=True)
        return sp.Max(0, w * x + b), (x,), (w, b)


@dataclass(frozen=True)
class _Inner(Dynamics):
    """``x' = W act(A x + b)``, W d x width, A width x d, b width."""

    @property
    def n_controls(self) -> int:
        return 2 * self.d * self.width + self.width

    def _act(self, z: Tensor) -> Tensor:
        raise NotImplementedError

    def f(self, x: Tensor, u: Tensor) -> Tensor:
        w, a, b = _split(u, ((self.d, self.width), (self.width, self.d), (self.width,)))
        z = x @ a.transpose(-1, -2) + b.unsqueeze(-2)
        return self._act(z) @ w.transpose(-1, -2)


@dataclass(frozen=True)
class InnerRelu(_Inner):
    """``x' = W relu(A x + b)``: degree 2 in (W, A, b)."""

    name = "inner-relu"

    def _act(self, z: Tensor) -> Tensor:
        return torch.relu(z)

    def sympy_scalar(self):
        x, w, a, b = sp.symbols("x w a b", real=True)
        return w * sp.Max(0, a * x + b), (x,), (w, a, b)


@dataclass(frozen=True)
class InnerTanh(_Inner):
    """``x' = W tanh(A x + b)``: not homogeneous in (W, A, b)."""

    name = "inner-tanh"

    def _act(self, z: Tensor) -> Tensor:
        return torch.tanh(z)

    def sympy_scalar(self):
        x, w, a, b = sp.symbols("x w a b", real=True)
        return w * sp.tanh(a * x + b), (x,), (w, a, b)


@dataclass(frozen=True)
class InnerLinear(_Inner):
    """``x' = W (A x + b)``: degree 2 in (W, A, b) and smooth, the degree-2 control whose
    optimum has a zero gradient (at InnerRelu's optima the gradient jumps across a kink, so a
    gradient-norm convergence test cannot pass there)."""

    name = "inner-linear"

    def _act(self, z: Tensor) -> Tensor:
        return z

    def sympy_scalar(self):
        x, w, a, b = sp.symbols("x w a b", real=True)
        return w * (a * x + b), (x,), (w, a, b)


DYNAMICS: dict[str, type[Dynamics]] = {
    c.name: c for c in (OuterLinear, ReluOuter, InnerRelu, InnerTanh, InnerLinear)}
"""Name -> class (a plain dict registry; add your own subclass)."""


def dynamics(name: str, d: int, width: int | None = None) -> Dynamics:
    """The named dynamics in dimension d (width defaults to d for the inner forms)."""
    try:
        cls = DYNAMICS[name]
    except KeyError:
        raise ValueError(f"dynamics name={name!r} is unknown; use one of {sorted(DYNAMICS)}"
                         ) from None
    return cls(d=d, width=d if width is None else width) if issubclass(cls, _Inner) \
        else cls(d=d)


def flow(dyn: Dynamics, x0: Tensor, u: Tensor, horizon: float | Tensor) -> Tensor:
    """Euler trajectory ``x_{k+1} = x_k + (T/L) f(x_k, u_k)``, k = 0..L-1.

    ``x0`` (..., N, d), ``u`` (..., L, m), ``horizon`` a float or a tensor broadcasting
    against the batch dimensions. Returns the states (..., L + 1, N, d).
    """
    if u.shape[-1] != dyn.n_controls:
        raise ValueError(f"u has {u.shape[-1]} controls per step, {dyn.name}(d={dyn.d}) needs "
                         f"{dyn.n_controls}. Fix: shape the control (..., L, {dyn.n_controls})")
    steps = u.shape[-2]
    h = torch.as_tensor(horizon, dtype=u.dtype) / steps
    h = h.reshape(*h.shape, 1, 1) if h.ndim else h
    states = [x0]
    x = x0
    for k in range(steps):
        x = x + h * dyn.f(x, u[..., k, :])
        states.append(x)
    return torch.stack(states, dim=-3)
