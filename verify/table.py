"""The value every measurement returns: per-sample columns over an axis (depths or horizons),
with what the ledger keeps of them (:meth:`Table.summary`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Table"]

_HORIZON_META = ("method", "dynamics", "problem_seeds", "gtol", "grad_norm", "converged",
                 "screen", "screened_out", "n_screened_out", "profiles", "h", "predicted_slope",
                 "slope", "running_cost")
"""What a large-time record keeps: the solver's gradient norm and convergence per problem,
the screen's rule and verdicts, and the profiles of the report."""


@dataclass(frozen=True)
class Table:
    """Per-sample columns over the axis ``over`` (the depth ladder, or the horizons T of a
    large-time claim): ``columns[name]`` has shape (len(at), M) (NaN where a sample
    overflowed; +inf for the network's own quantities; a column ``<name>:<statistic>`` of a
    large-time table may have one row, a value per sample). ``bounds[name]``, where given,
    is a certified upper bound of ``columns[name]`` per entry (the O(1/T) certificate, the
    teacher's norm): a judge reads it, any entry above its bound refutes the claim."""

    at: tuple[float, ...]
    columns: Mapping[str, np.ndarray]
    overflow: np.ndarray
    n_samples: int
    device: str = "cpu"
    meta: Mapping[str, object] = field(default_factory=dict)
    groups: np.ndarray | None = None  # a label per sample column: nested samples (fit_rate)
    over: str = "depth"
    bounds: Mapping[str, np.ndarray] = field(default_factory=dict)

    def summary(self, column: str) -> dict:
        """The judged column as the ledger keeps it: mean, standard error, count, overflow."""
        if column == "law":  # a law claim is judged on all its law columns; show the first
            column = next(k for k in self.columns if k.startswith("law:"))
        values = np.asarray(self.columns[column], dtype=float)
        weak = column.startswith(("weak:", "law:"))
        means, ses, ns = [], [], []
        for row in values:
            ok = row[np.isfinite(row)]
            n = int(ok.size)
            mean = float(abs(ok.mean()) if weak else ok.mean()) if n else float("nan")
            se = float(ok.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
            means.append(mean)
            ses.append(se)
            ns.append(n)
        out = {"over": self.over, "at": list(self.at), "column": column, "mean": means,
               "se": ses, "n": ns,
               "overflow": [float(x) for x in np.asarray(self.overflow).mean(axis=-1)]}
        for key in ("train_loss", "first_loss", "stop_epoch"):  # trained: did each depth fit?
            if key in self.meta:
                out[key] = [float(v) for v in self.meta[key]]
        if "steps" in self.meta:
            out["steps"] = int(self.meta["steps"])
        if self.groups is not None:  # nested samples: the bootstrap's outer level
            out["groups"] = int(len(np.unique(self.groups)))
        if "curve" in self.meta:  # trained: the training curve per depth
            out["curve"] = self.meta["curve"]
        history = self.meta.get("history")
        if history and column in history["columns"]:  # trained: this column per checkpoint
            out["history"] = {"step": list(history["step"]),
                              "mean": history["columns"][column]}
            if "of" in history:  # several data sets: how they were pooled
                out["history"]["of"] = str(history["of"])
        for key in _HORIZON_META:  # large-time: the solver's convergence per problem, screen
            if key in self.meta:
                out[key] = self.meta[key]
        if column in self.bounds:
            out["bound"] = [float(v) for v in np.asarray(self.bounds[column]).mean(axis=-1)]
        return out
