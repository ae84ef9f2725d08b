"""Trained weights (THEORY.md section 5, CCRX21): tasks (:mod:`numerics.train.data`), the
minibatch stream (:mod:`numerics.train.batches`), the protocol (:mod:`numerics.train.config`),
a whole depth x seed ladder trained as one stacked model (:mod:`numerics.train.stacked`,
optimisers in :mod:`numerics.train.optim`), the one-model reference the authors' way
(:mod:`numerics.train.reference`) and the trained weights (:mod:`numerics.train.result`)."""

from numerics.train.batches import batch_indices
from numerics.train.config import DELTA_MODES, TrainConfig, init_model, resolve_activation
from numerics.train.data import Task, eeg_task, ode_task
from numerics.train.reference import SingleModel, single_weights, train_single
from numerics.train.result import TrainedLadder
from numerics.train.stacked import StackedTrainer, train_ladder
from numerics.train.stopping import AuthorsStopping, train_with_stopping

__all__ = [
    "AuthorsStopping",
    "DELTA_MODES",
    "SingleModel",
    "StackedTrainer",
    "Task",
    "TrainConfig",
    "TrainedLadder",
    "batch_indices",
    "eeg_task",
    "init_model",
    "ode_task",
    "resolve_activation",
    "single_weights",
    "train_ladder",
    "train_single",
    "train_with_stopping",
]
