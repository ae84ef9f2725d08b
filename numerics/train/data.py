r"""Regression tasks for trained ResNets: inputs and targets in :math:`\mathbb R^d` (block I maps
:math:`\mathbb R^d \to \mathbb R^d`, no read-out layer), as in THEORY.md section 5 [CCRX21].

* :func:`ode_task`: the authors' synthetic data (instadeepai/scaling-resnets,
  ``generate_dataset.generate_data_ODE`` with ``f = sin``, ``g = cos``): :math:`x \sim U[-1,1]^d`,
  target :math:`z_{100}` of the 100-step recursion
  :math:`z_{t+1} = z_t + 100^{-1/2} \tanh(\sin(5\pi t/100)\, z_t + \cos(5\pi t/100))`,
  :math:`z_0 = x`, :math:`t = 0..99` (plus optional isotropic noise); then both :math:`x` and the
  target are normalised to unit norm. As in the authors' code, the recursion starts from the
  *raw* :math:`x` and the normalisation comes after it (THEORY.md's sentence leaves the order
  open; the source wins).
* :func:`eeg_task`: a small real data set shipped inside an installed dependency, so no download:
  matplotlib's sample EEG recording (``mpl-data/sample_data/eeg.dat``, 800 samples of 4
  channels). Task: from a window of ``width`` consecutive samples of one channel, predict the
  next ``width`` samples (one-window-ahead forecasting); windows normalised to unit norm like the
  synthetic task. scikit-learn's digits (THEORY.md's suggestion) is not a dependency of this
  project, hence this substitute.

Every random draw comes from :func:`numerics._util.make_generator` on an explicit seed.
Construct a :class:`Task` from your own tensors with :meth:`Task.from_tensors`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from numerics._util import make_generator, resolve_dtype

__all__ = ["Task", "eeg_task", "ode_task"]


@dataclass(frozen=True)
class Task:
    """Inputs ``x_*`` and targets ``y_*``, each ``(n, d)`` with the same ``d`` (block I keeps the
    width). ``x_test``/``y_test`` may have zero rows."""

    name: str
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor

    def __post_init__(self) -> None:
        for nm in ("x_train", "y_train", "x_test", "y_test"):
            t = getattr(self, nm)
            if not isinstance(t, Tensor) or t.ndim != 2:
                raise ValueError(
                    f"Task {self.name!r}: {nm} must be a 2-d tensor (n, d), got "
                    f"{type(t).__name__} of shape {tuple(getattr(t, 'shape', ()))}; "
                    "reshape it to (samples, features)"
                )
            if not t.is_floating_point():
                raise ValueError(f"Task {self.name!r}: {nm} has dtype {t.dtype}; pass floats")
        d = self.x_train.shape[1]
        for nm in ("y_train", "x_test", "y_test"):
            if getattr(self, nm).shape[1] != d:
                raise ValueError(
                    f"Task {self.name!r}: {nm} has {getattr(self, nm).shape[1]} columns but "
                    f"x_train has {d}; block I maps R^d to R^d, so inputs and targets need the "
                    "same width (pad or project the targets)"
                )
        if self.x_train.shape[0] != self.y_train.shape[0] or self.x_train.shape[0] == 0:
            raise ValueError(
                f"Task {self.name!r}: x_train has {self.x_train.shape[0]} rows and y_train "
                f"{self.y_train.shape[0]}; they must match and be at least 1"
            )
        if self.x_test.shape[0] != self.y_test.shape[0]:
            raise ValueError(
                f"Task {self.name!r}: x_test has {self.x_test.shape[0]} rows, y_test "
                f"{self.y_test.shape[0]}; they must match"
            )

    @property
    def width(self) -> int:
        """The dimension ``d`` of inputs and targets."""
        return int(self.x_train.shape[1])

    @property
    def n_train(self) -> int:
        return int(self.x_train.shape[0])

    @classmethod
    def from_tensors(cls, x: Tensor, y: Tensor, *, x_test: Tensor | None = None,
                     y_test: Tensor | None = None, name: str = "user",
                     dtype: torch.dtype | str = torch.float32) -> Task:
        """A task from user tensors (cast to ``dtype``); no test set unless given."""
        dt = resolve_dtype(dtype)
        x, y = torch.as_tensor(x).to(dt), torch.as_tensor(y).to(dt)
        if (x_test is None) != (y_test is None):
            raise ValueError("pass both x_test and y_test, or neither")
        if x_test is None:
            x_test = x.new_zeros((0, x.shape[-1] if x.ndim == 2 else 0))
            y_test = x_test.clone()
        return cls(name, x, y, torch.as_tensor(x_test).to(dt), torch.as_tensor(y_test).to(dt))


def _unit_rows(z: Tensor) -> Tensor:
    return z / torch.linalg.vector_norm(z, dim=1, keepdim=True)


def _check_sizes(n_train: int, n_test: int, width: int) -> None:
    if not (isinstance(n_train, int) and n_train >= 1):
        raise ValueError(f"n_train={n_train!r} must be an int >= 1, e.g. 1024")
    if not (isinstance(n_test, int) and n_test >= 0):
        raise ValueError(f"n_test={n_test!r} must be an int >= 0, e.g. 256")
    if not (isinstance(width, int) and width >= 1):
        raise ValueError(f"width={width!r} must be an int >= 1, e.g. 10")


def ode_task(seed: int, *, width: int = 10, n_train: int = 1024, n_test: int = 256,
             n_steps: int = 100, noise: float = 0.0,
             dtype: torch.dtype | str = torch.float32) -> Task:
    r"""The authors' synthetic regression task (THEORY.md section 5; defaults = their
    configuration: ``d = 10``, 1024 train / 256 test, 100 steps, no noise).

    :math:`x \sim U[-1, 1]^d` (stream ``(seed, "train-data", "ode", "x")``),
    :math:`z_{t+1} = z_t + n^{-1/2}\tanh(\sin(5\pi t/n) z_t + \cos(5\pi t/n))` for
    :math:`t = 0..n-1` from :math:`z_0 = x`, target :math:`z_n + \text{noise}\cdot\varepsilon`
    (:math:`\varepsilon` standard normal, stream ``(seed, "train-data", "ode", "noise")``);
    inputs and targets normalised to unit norm. Computed in float64, returned in ``dtype``.
    """
    _check_sizes(n_train, n_test, width)
    if not (isinstance(n_steps, int) and n_steps >= 1):
        raise ValueError(f"n_steps={n_steps!r} must be an int >= 1 (the authors use 100)")
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise={noise!r} must be a finite number >= 0 (the authors use 0)")
    n = n_train + n_test
    gx = make_generator(seed, "train-data", "ode", "x")
    x = torch.rand((n, width), generator=gx, dtype=torch.float64) * 2.0 - 1.0
    z = x.clone()
    for t in range(n_steps):
        s = 5.0 * t * math.pi / n_steps
        z = z + n_steps ** -0.5 * torch.tanh(math.sin(s) * z + math.cos(s))
    if noise > 0:
        ge = make_generator(seed, "train-data", "ode", "noise")
        z = z + noise * torch.randn((n, width), generator=ge, dtype=torch.float64)
    x, z = _unit_rows(x), _unit_rows(z)
    dt = resolve_dtype(dtype)
    return Task(f"ode(seed={seed})", x[:n_train].to(dt), z[:n_train].to(dt),
                x[n_train:].to(dt), z[n_train:].to(dt))


def _eeg_recording() -> np.ndarray:
    """matplotlib's sample EEG: ``(800, 4)`` float64 (800 time samples, 4 channels)."""
    import matplotlib.cbook as cbook

    path = cbook.get_sample_data("eeg.dat", asfileobj=False)
    data = np.fromfile(path, dtype=np.float64)
    if data.size != 3200:
        raise RuntimeError(
            f"{path} holds {data.size} float64 values, expected 3200 (800 x 4); this "
            "matplotlib's sample data differs from the one eeg_task was written for"
        )
    return data.reshape(800, 4)


def eeg_task(seed: int = 0, *, width: int = 10, n_train: int = 1024, n_test: int = 256,
             dtype: torch.dtype | str = torch.float32) -> Task:
    r"""One-window-ahead forecasting on matplotlib's sample EEG recording (real data, offline).

    Every window ``s[i : i + width]`` of every channel with ``i + 2 width <= 800`` is an input,
    the following window ``s[i + width : i + 2 width]`` its target; both normalised to unit norm.
    ``n_train + n_test`` distinct windows are chosen by a permutation from stream
    ``(seed, "train-data", "eeg")``, the first ``n_train`` for training.
    """
    _check_sizes(n_train, n_test, width)
    rec = torch.from_numpy(_eeg_recording())
    n_pos = rec.shape[0] - 2 * width + 1
    if n_pos < 1:
        raise ValueError(f"width={width} is too large for 800 samples; use width <= 400")
    win = rec.T.unfold(1, 2 * width, 1)  # (4, n_pos, 2 width)
    win = win.reshape(-1, 2 * width)
    if n_train + n_test > win.shape[0]:
        raise ValueError(
            f"n_train + n_test = {n_train + n_test} exceeds the {win.shape[0]} windows of width "
            f"{width} in the recording; ask for fewer samples or a smaller width"
        )
    g = make_generator(seed, "train-data", "eeg")
    pick = torch.randperm(win.shape[0], generator=g)[: n_train + n_test]
    x, y = _unit_rows(win[pick, :width]), _unit_rows(win[pick, width:])
    dt = resolve_dtype(dtype)
    return Task(f"eeg(seed={seed})", x[:n_train].to(dt), y[:n_train].to(dt),
                x[n_train:].to(dt), y[n_train:].to(dt))
