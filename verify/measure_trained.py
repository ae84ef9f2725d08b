"""Trained-weight measurements (THEORY.md section 5): a ladder trained with every depth and
training seed stacked in one model (numerics.train), tabulated as float64 statistics with the
training seeds as samples, the training curve and the statistics at checkpoints kept for the
report (training-time drift)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from theory.training import TRAINED_QUANTITIES, Training
from verify.profiles import TrainingBudget
from verify.table import Table

__all__ = ["CHECKPOINTS", "CURVE_POINTS", "trained_table", "training_curve", "training_seeds"]


def training_seeds(seed: int, n: int, data: int | None = None) -> tuple[int, ...]:
    """The ``n`` training seeds of a check with seed ``seed``: an independent stream per
    check (the retest stage's seed gives fresh ones), and per data set ``data`` where a check
    trains on several (``TrainingBudget.outer_data``)."""
    entropy = [int(seed), 5] if data is None else [int(seed), 5, int(data)]
    state = np.random.SeedSequence(entropy).generate_state(n, dtype=np.uint32)
    seeds = tuple(int(x) & 0x7FFF_FFFF for x in state)
    if len(set(seeds)) != n:  # pragma: no cover - a 31-bit collision
        raise ValueError(f"training seeds of seed {seed} collide; use another seed")
    return seeds


def _torch_activation(sigma: str):
    if sigma in ("tanh", "relu"):
        return sigma  # torch's own kernels
    from theory.activations import activation, x
    from theory.lambdify import to_torch

    return to_torch(activation(sigma).expr, (x,))


CHECKPOINTS = 8
"""Checkpoints at which a trained ladder's statistics are read during training (log-spaced
in steps, or in epochs under the authors' stopping rule), besides the end: the report's
exponent against training step (T5's training-time drift)."""
CURVE_POINTS = 40
"""Log-spaced bins of the training curve each ledger record keeps per depth."""


def _log_spaced(last: int, n: int) -> list[int]:
    """``n`` distinct log-spaced ints in [1, last), increasing."""
    if last <= 1:
        return []
    return sorted({int(v) for v in np.unique(np.round(np.geomspace(1, last, n + 1)))[:-1]
                   if 1 <= v < last})


def training_curve(losses: torch.Tensor, points: int = CURVE_POINTS) -> dict[str, list]:
    """The training curve per depth: minibatch MSE ``(steps, n_depths, n_seeds)`` -> the median
    over seeds of each log-spaced bin's mean, at the bin's last step (steps counted from 1)."""
    steps = int(losses.shape[0])
    if steps == 0:
        return {"step": [], "loss": []}
    edges = sorted({0, *(int(v) for v in np.round(np.geomspace(1, steps, points))), steps})
    values = losses.to(torch.float64)
    out_steps, out_loss = [], []
    for lo, hi in zip(edges, edges[1:], strict=False):
        if hi > lo:
            out_steps.append(hi)
            out_loss.append([float(v) for v in values[lo:hi].mean(dim=0).median(dim=-1).values])
    return {"step": out_steps, "loss": out_loss}


def _columns(ladder) -> dict[str, np.ndarray]:
    """Every trained quantity of ``ladder``, ``(n_depths, n_seeds)`` each."""
    from numerics.measure.trained import ladder_columns, weight_statistics

    return ladder_columns(weight_statistics(ladder))


def _history_entry(steps: int, columns: dict[str, np.ndarray]
                   ) -> tuple[int, dict[str, list[float]]]:
    """Mean over seeds, per depth, of every trained quantity at one checkpoint."""
    means = {q: [float(v) for v in np.nanmean(np.asarray(c, dtype=float), axis=-1)]
             for q, c in columns.items()}
    return int(steps), means


@lru_cache(maxsize=16)
def trained_table(training: Training, sigma: str, budget: TrainingBudget, seed: int) -> Table:
    """Train the ladder of ``training`` (activation ``sigma``) on the budget's depths and
    training seeds, the data drawn from ``seed``, and tabulate :data:`TRAINED_QUANTITIES`
    (float64 statistics of float32 training). Cached: claims on the same protocol share it.

    With ``budget.outer_data`` the ladder is trained on every data set of ``data_seeds``
    (training seeds from ``seed`` and the data set) and the samples are grouped by data set
    (``Table.groups``: the fit's bootstrap has two levels).

    ``meta`` keeps what the report shows beside the fit: the training curve per depth
    (:func:`training_curve`), and the mean of every quantity per depth at
    :data:`CHECKPOINTS` log-spaced checkpoints and at the end (``history``), from which the
    fitted exponent against training step is drawn (under ``outer_data``: the mean over data
    sets of each set's means, the judged statistic's own pooling)."""
    if not budget.outer_data:
        return _train_table(training, sigma, budget, seed, training_seeds(seed, budget.n_seeds))
    parts = [_train_table(training, sigma, budget, data, training_seeds(seed, budget.n_seeds,
                                                                        data))
             for data in budget.data_seeds]
    columns = {q: np.concatenate([p.columns[q] for p in parts], axis=1) for q in parts[0].columns}
    overflow = np.concatenate([p.overflow for p in parts], axis=1)
    meta = dict(parts[0].meta)
    meta["train_loss"] = [max(v) for v in zip(*(p.meta["train_loss"] for p in parts),
                                              strict=True)]
    meta["first_loss"] = [min(v) for v in zip(*(p.meta["first_loss"] for p in parts),
                                              strict=True)]
    meta["task"] = f"{meta['task']} (data seeds {list(budget.data_seeds)})"
    meta["history"] = _pooled_history([p.meta["history"] for p in parts], budget.data_seeds)
    meta.pop("not_judged", None)
    unjudged = [str(p.meta["not_judged"]) for p in parts if p.meta.get("not_judged")]
    if unjudged:
        meta["not_judged"] = f"{len(unjudged)} of {len(parts)} data sets: {unjudged[0]}"
    groups = np.repeat(np.arange(len(parts)), budget.n_seeds)
    return Table(parts[0].at, columns, overflow, len(groups), "cpu", meta=meta, groups=groups)


def _pooled_history(histories: list[dict], data_seeds: tuple[int, ...]) -> dict:
    """One history for several data sets: at each checkpoint, the mean over the sets of
    their per-depth means (every set has the same number of training seeds, so this is the
    mean over all samples, as the judged table pools them). When the sets' checkpoints differ
    (an early stop), the first set's history is kept and ``of`` says so."""
    steps = histories[0]["step"]
    if any(h["step"] != steps for h in histories[1:]):
        return {**histories[0], "of": f"data seed {data_seeds[0]} (checkpoints differ)"}
    columns = {q: np.mean([np.asarray(h["columns"][q], dtype=float) for h in histories],
                          axis=0).tolist() for q in histories[0]["columns"]}
    return {"step": list(steps), "columns": columns,
            "of": f"mean over data seeds {list(data_seeds)}"}


def _train_table(training: Training, sigma: str, budget: TrainingBudget, data_seed: int,
                 seeds: tuple[int, ...]) -> Table:
    """One data set: the ladder trained with ``seeds`` on the task drawn from ``data_seed``."""
    from numerics.train import TrainConfig, eeg_task, ode_task, train_ladder

    task = (ode_task if training.task == "ode" else eeg_task)(data_seed, width=training.width)
    depths = training.depths or budget.depths
    config = TrainConfig(depths=depths, seeds=seeds,
                         delta=training.delta, activation=_torch_activation(sigma),
                         optimizer=training.optimizer, lr=training.lr,
                         batch_size=training.batch_size, init_sd=training.init_sd,
                         bias=training.bias)
    history: list[tuple[int, dict[str, list[float]]]] = []

    def observe(ladder) -> None:
        history.append(_history_entry(ladder.steps, _columns(ladder)))

    epochs = None
    if training.stopping == "authors":
        from numerics.train import AuthorsStopping, train_with_stopping

        rule = AuthorsStopping()
        ladder, epochs = train_with_stopping(
            task, config, rule, at_epochs=_log_spaced(rule.max_epochs, CHECKPOINTS),
            observe=observe)
    else:
        ladder = train_ladder(task, config, budget.steps,
                              at=_log_spaced(budget.steps, CHECKPOINTS), observe=observe)
    columns = _columns(ladder)  # the end: judged, and the history's last entry
    history.append(_history_entry(ladder.steps, columns))
    assert set(columns) == set(TRAINED_QUANTITIES)
    overflow = np.zeros((len(depths), budget.n_seeds), dtype=bool)
    for v in columns.values():
        overflow |= ~np.isfinite(v)
    losses = ladder.losses.to(torch.float64)
    late = losses[-budget.loss_window:].mean(dim=0).median(dim=-1).values.numpy()
    first = losses[0].median(dim=-1).values.numpy()
    ratio = late / first  # per depth, medians over seeds
    unfit = [L for L, r in zip(depths, ratio, strict=True) if not r <= budget.fit_fraction]
    meta: dict[str, object] = {"train_loss": [float(v) for v in late],
                               "first_loss": [float(v) for v in first],
                               "steps": ladder.steps, "task": task.name,
                               "curve": training_curve(ladder.losses),
                               "history": {"step": [h[0] for h in history],
                                           "columns": {q: [h[1][q] for h in history]
                                                       for q in TRAINED_QUANTITIES}}}
    if epochs is not None:  # the authors' rule: each model stopped at its own epoch
        meta["stop_epoch"] = [float(np.median(row)) for row in epochs]
    if unfit:
        meta["not_judged"] = (
            f"the ladder has not fitted the data after {ladder.steps} steps: training MSE "
            f"{', '.join(f'{v:.2g}' for v in late)} at depths {list(depths)}, above "
            f"{budget.fit_fraction:g} of the first step's at depths {unfit}; train longer "
            "(steps) or check the protocol")
    return Table(tuple(depths), columns, overflow, budget.n_seeds, "cpu", meta=meta)
