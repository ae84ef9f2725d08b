r"""The one signature every stepper shares, and the orders it declares.

A stepper advances a state on its own grid of the driver's dyadic tree: at ``level`` it takes
:math:`n = N / 2^{\text{level}}` steps of size :math:`\Delta t = 2^{\text{level}} / N` on
:math:`[0, 1]`, step ``k`` at :math:`t_k = k\,\Delta t` consuming the increments
:math:`\Delta^{(n)}_k` of the paths it names in ``sources`` (the dyadic sums of the fine
increments, :mod:`numerics.noise`). A ResNet of depth :math:`L` is the stepper at level
:math:`\log_2(N / L)`; a limit solver runs on the fine grid (level 0); an exact solution on the
coarse grid. The loop (:func:`numerics.ladder.run`) calls, per chunk of fine steps,
:meth:`Stepper.window` once and then :meth:`Stepper.step` for every step the chunk completes.

Orders (attributes): ``order`` (deterministic), ``strong_order`` and ``weak_order``
(:math:`\mathbb E|X_n - X(1)| = O(\Delta t^{\text{strong}})`,
:math:`|\mathbb E f(X_n) - \mathbb E f(X(1))| = O(\Delta t^{\text{weak}})`); ``math.inf`` for an
exact solution, ``math.nan`` where no order is claimed.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping

from torch import Tensor

__all__ = ["Stepper"]


class Stepper(abc.ABC):
    """``init(x0) -> state``; ``step(state, k, dw) -> state`` for step ``k`` on its level.

    Attributes:
        level: dyadic level consumed (0: the fine grid).
        n_steps: steps on ``[0, 1]`` (``N >> level``).
        sources: path keys whose increments :meth:`step` receives in ``dw``.
    """

    order: float = math.nan
    strong_order: float = math.nan
    weak_order: float = math.nan

    level: int
    n_steps: int
    sources: tuple[str, ...] = ()

    @property
    def dt(self) -> float:
        """Step size ``1 / n_steps``."""
        return 1.0 / self.n_steps

    @abc.abstractmethod
    def init(self, x0: Tensor) -> Tensor:
        """The state at ``t = 0`` from the inputs ``(M, d)``."""

    @abc.abstractmethod
    def step(self, state: Tensor, k: int, dw: Mapping[str, Tensor]) -> Tensor:
        """The state after step ``k`` (from ``t_k`` to ``t_{k+1}``)."""

    def window(self, k0: int, k1: int) -> None:  # noqa: B027 - optional hook, no-op default
        """Called before steps ``k0 .. k1 - 1`` of one chunk: batch work for them (smooth
        weights at their times). Default: nothing."""

    def observed(self, state: Tensor) -> Tensor:
        """The network state ``(M, d)`` within ``state`` (peaks and coarse records)."""
        return state
