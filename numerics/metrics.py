r"""Error metrics per depth, with per-sample values and standard errors: the :class:`ErrorTable`.

For depth ``L`` and Monte-Carlo sample ``m`` (norms are Euclidean over the ``d`` coordinates,
``H`` the limit on the same path):

* ``"strong"``: :math:`|h^{(L)}_L - H_1|`;
* ``"sup"``: :math:`\max_{0 \le i \le L_{\min}} |h^{(L)}_{t_i} - H_{t_i}|` on the coarse grid
  :math:`t_i = i / L_{\min}`;
* ``"weak:<name>"``: :math:`f(h^{(L)}_L) - f(H_1)` per sample (signed, paired), for each test
  function ``f``; its *mean* column is :math:`|\overline{f(h_L) - f(H_1)}|
  = |\hat E f(h_L) - \hat E f(H_1)|` and its standard error that of the paired differences;
* ``"identity"``: :math:`|h^{(L)}_L - h_0|`; ``"growth"``: :math:`|h^{(L)}_L|`.

Means and standard errors (``std(ddof=1) / sqrt(n)``) are over the samples that did not
overflow at that depth (nor in the limit). Per-sample values of overflowed samples are ``NaN``
for limit-based metrics and ``+inf`` for ``"identity"``/``"growth"`` (they grew past the
threshold); ``overflow_fraction`` says how many.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from numerics.ladder import LadderResult

__all__ = ["ErrorTable", "error_table", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1


def _ro(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=a.dtype, copy=True)
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False)
class ErrorTable:
    """Per-depth errors of one ladder run (numerics -> verify).

    Attributes:
        depths: the ladder (ascending).
        samples: metric -> per-sample values, array ``(n_depths, n_samples)`` (read-only).
        means / stderrs: metric -> ``(n_depths,)``.
        n_valid: ``(n_depths,)`` samples used in the limit-based means (not overflowed at
            that depth nor in the limit); identity/growth means use ``~overflow``.
        overflow: ``(n_depths, n_samples)`` bool; ``limit_overflow``: ``(n_samples,)`` or None.
        seed, n_samples, width, n_fine, device, dtype, draw_dtype, wall_time_s: provenance.
        meta: JSON-able extra information (block, alpha, solver, ...).
    """

    depths: tuple[int, ...]
    samples: Mapping[str, np.ndarray]
    means: Mapping[str, np.ndarray]
    stderrs: Mapping[str, np.ndarray]
    n_valid: np.ndarray
    overflow: np.ndarray
    limit_overflow: np.ndarray | None
    seed: int
    n_samples: int
    width: int
    n_fine: int
    device: str
    dtype: str
    draw_dtype: str
    wall_time_s: float
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(self.samples)

    @property
    def overflow_fraction(self) -> np.ndarray:
        """Fraction of samples flagged at each depth, ``(n_depths,)``."""
        return self.overflow.mean(axis=1)

    def per_sample(self, metric: str) -> np.ndarray:
        """``(n_depths, n_samples)`` values of ``metric`` (raises with the known names)."""
        if metric not in self.samples:
            raise KeyError(f"metric={metric!r} not in this table; have {sorted(self.samples)}")
        return self.samples[metric]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (non-finite floats as the strings 'nan', 'inf', '-inf')."""

        def enc(a: np.ndarray) -> list:
            return [_enc_float(x) for x in np.asarray(a, dtype=np.float64).ravel().tolist()]

        return {
            "schema_version": SCHEMA_VERSION,
            "depths": list(self.depths),
            "n_samples": self.n_samples,
            "samples": {k: enc(v) for k, v in self.samples.items()},
            "means": {k: enc(v) for k, v in self.means.items()},
            "stderrs": {k: enc(v) for k, v in self.stderrs.items()},
            "n_valid": [int(x) for x in self.n_valid],
            "overflow": [int(x) for x in self.overflow.ravel()],
            "limit_overflow": None
            if self.limit_overflow is None
            else [int(x) for x in self.limit_overflow],
            "seed": self.seed,
            "width": self.width,
            "n_fine": self.n_fine,
            "device": self.device,
            "dtype": self.dtype,
            "draw_dtype": self.draw_dtype,
            "wall_time_s": self.wall_time_s,
            "meta": json.loads(json.dumps(dict(self.meta), default=str)),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ErrorTable:
        """Inverse of :meth:`to_dict`."""
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(f"schema_version={version!r}; this code reads {SCHEMA_VERSION}")
        depths = tuple(int(x) for x in data["depths"])
        nd, m = len(depths), int(data["n_samples"])

        def dec(v: list, shape: tuple[int, ...]) -> np.ndarray:
            return _ro(np.array([_dec_float(x) for x in v], dtype=np.float64).reshape(shape))

        lo = data.get("limit_overflow")
        return cls(
            depths=depths,
            samples={k: dec(v, (nd, m)) for k, v in data["samples"].items()},
            means={k: dec(v, (nd,)) for k, v in data["means"].items()},
            stderrs={k: dec(v, (nd,)) for k, v in data["stderrs"].items()},
            n_valid=_ro(np.array(data["n_valid"], dtype=np.int64)),
            overflow=_ro(np.array(data["overflow"], dtype=bool).reshape(nd, m)),
            limit_overflow=None if lo is None else _ro(np.array(lo, dtype=bool)),
            seed=int(data["seed"]),
            n_samples=m,
            width=int(data["width"]),
            n_fine=int(data["n_fine"]),
            device=str(data["device"]),
            dtype=str(data["dtype"]),
            draw_dtype=str(data["draw_dtype"]),
            wall_time_s=float(data["wall_time_s"]),
            meta=dict(data.get("meta", {})),
        )

    def summary(self) -> str:
        """A plain-text table of means +- standard errors."""
        names = list(self.means)
        head = "depth  " + "  ".join(f"{n:>22s}" for n in names) + "  overflow"
        rows = [head]
        for i, d in enumerate(self.depths):
            cells = "  ".join(f"{self.means[n][i]:11.4e}+-{self.stderrs[n][i]:9.2e}" for n in names)
            rows.append(f"{d:5d}  {cells}  {self.overflow_fraction[i]:.3f}")
        return "\n".join(rows)


def _enc_float(x: float) -> float | str:
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _dec_float(x: float | str) -> float:
    return float(x)


def _mean_se(vals: np.ndarray, valid: np.ndarray, absolute: bool = False) -> tuple[float, float]:
    v = vals[valid]
    n = v.size
    if n == 0:
        return math.nan, math.nan
    mean = float(v.mean())
    se = float(v.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    return (abs(mean) if absolute else mean), se


def error_table(
    result: LadderResult,
    test_functions: Mapping[str, Callable[[Tensor], Tensor]] | None = None,
) -> ErrorTable:
    """Build the :class:`ErrorTable` of a :class:`numerics.ladder.LadderResult`.

    ``test_functions``: name -> ``f((M, d) tensor) -> (M,)`` for the weak errors (needs a limit).
    """
    test_functions = dict(test_functions or {})
    if test_functions and result.limit_final is None:
        raise ValueError("test_functions given but the run has no limit; pass limit=LimitSpec")
    nd, m = len(result.depths), result.n_samples
    over = result.overflow.numpy().astype(bool)
    lim_over = None if result.limit_overflow is None else result.limit_overflow.numpy()
    valid = ~over if lim_over is None else ~over & ~lim_over[None, :]

    samples: dict[str, np.ndarray] = {}
    final = result.final.to(torch.float64)
    if result.limit_final is not None:
        lim = result.limit_final.to(torch.float64)
        samples["strong"] = (final - lim).norm(dim=-1).numpy()
        assert result.limit_coarse is not None
        diff = result.coarse.to(torch.float64) - result.limit_coarse.to(torch.float64)[None]
        samples["sup"] = diff.norm(dim=-1).amax(dim=1).numpy()
        for name, f in test_functions.items():
            fh = torch.stack([f(final[i]).reshape(m) for i in range(nd)])
            fl = f(lim).reshape(m)
            samples[f"weak:{name}"] = (fh - fl[None]).to(torch.float64).numpy()
    samples["identity"] = (final - result.x0.to(torch.float64)[None]).norm(dim=-1).numpy()
    samples["growth"] = final.norm(dim=-1).numpy()

    own = ("identity", "growth")  # metrics that do not involve the limit
    for k in list(samples):
        a = np.array(samples[k], dtype=np.float64)
        if k in own:
            a[over] = np.inf
        else:
            a[~valid] = np.nan
        samples[k] = a

    means: dict[str, np.ndarray] = {}
    ses: dict[str, np.ndarray] = {}
    for k, a in samples.items():
        ok = ~over if k in own else valid
        ms, ss = zip(
            *(_mean_se(a[i], ok[i], absolute=k.startswith("weak:")) for i in range(nd)),
            strict=True,
        )
        means[k] = _ro(np.array(ms))
        ses[k] = _ro(np.array(ss))
    return ErrorTable(
        depths=result.depths,
        samples={k: _ro(v) for k, v in samples.items()},
        means=means,
        stderrs=ses,
        n_valid=_ro(valid.sum(axis=1).astype(np.int64)),
        overflow=_ro(over),
        limit_overflow=None if lim_over is None else _ro(lim_over.astype(bool)),
        seed=result.seed,
        n_samples=m,
        width=result.width,
        n_fine=result.n_fine,
        device=result.device,
        dtype=result.dtype,
        draw_dtype=result.draw_dtype,
        wall_time_s=result.wall_time_s,
        meta=dict(result.meta, test_functions=sorted(test_functions)),
    )
