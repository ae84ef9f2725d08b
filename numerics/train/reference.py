r"""One (depth, seed) model trained alone, the authors' way (instadeepai/scaling-resnets
``FinalResNet``): a list of per-layer ``nn.Parameter`` s, a Python loop over layers,
``torch.optim.Adam`` / ``torch.optim.SGD`` and ``torch.nn.utils.clip_grad_norm_``.

Same initialisation (:func:`numerics.train.config.init_model`) and minibatch stream
(:func:`numerics.train.batches.batch_indices`) as :class:`numerics.train.stacked.StackedTrainer`:
the reference the stacked trainer must reproduce, and the baseline of
``python -m numerics.bench_train``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from numerics.train.batches import batch_indices
from numerics.train.config import TrainConfig, fixed_delta, init_model
from numerics.train.data import Task

__all__ = ["SingleModel", "train_single"]


class SingleModel(nn.Module):
    """Block I of one depth: :math:`h_{k+1} = h_k + \\delta_k \\sigma(A_k h_k + b_k)`."""

    def __init__(self, depth: int, seed: int, width: int, cfg: TrainConfig) -> None:
        super().__init__()
        a0, b0, d0 = init_model(depth, seed, width, cfg)
        self.cfg, self.depth = cfg, depth
        self.A = nn.ParameterList([nn.Parameter(a0[k].clone()) for k in range(depth)])
        self.b = nn.ParameterList(
            [nn.Parameter(b0[k].clone(), requires_grad=cfg.bias) for k in range(depth)])
        if cfg.delta == "shared":
            self.delta = nn.ParameterList([nn.Parameter(d0.clone())])
        elif cfg.delta == "multi":
            self.delta = nn.ParameterList([nn.Parameter(d0[k].clone()) for k in range(depth)])
        else:
            self.delta = nn.ParameterList()
        self.fixed = fixed_delta(depth, cfg)

    def trainable(self) -> list[nn.Parameter]:
        return list(self.A) + (list(self.b) if self.cfg.bias else []) + list(self.delta)

    def forward(self, h: Tensor) -> Tensor:
        cfg = self.cfg
        for k in range(self.depth):
            z = torch.addmm(self.b[k], h, self.A[k].T) if cfg.bias else h @ self.A[k].T
            if cfg.delta == "shared":
                dk: Tensor | float = self.delta[0].abs()
            elif cfg.delta == "multi":
                dk = self.delta[k]
            else:
                dk = self.fixed
            h = h + dk * cfg.sigma(z)
        return h


def train_single(task: Task, depth: int, seed: int, config: TrainConfig, steps: int
                 ) -> tuple[SingleModel, Tensor]:
    """Train one model; returns it and its minibatch losses ``(steps,)``."""
    cfg = config
    model = SingleModel(depth, seed, task.width, cfg)
    params = model.trainable()
    if cfg.optimizer == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam(
            params, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, foreach=False)
    else:
        opt = torch.optim.SGD(params, lr=cfg.lr, foreach=False)
    x_all, y_all = task.x_train.to(cfg.dtype), task.y_train.to(cfg.dtype)
    rows = batch_indices([seed], n_rows=task.n_train, batch_size=cfg.batch_size, start=0,
                         steps=steps)[0]
    losses = torch.empty((steps,), dtype=cfg.dtype)
    for t in range(steps):
        opt.zero_grad()
        x, y = x_all[rows[t]], y_all[rows[t]]
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        if cfg.clip_norm is not None:
            nn.utils.clip_grad_norm_(params, cfg.clip_norm)
        opt.step()
        losses[t] = loss.detach()
    return model, losses


@torch.no_grad()
def single_weights(model: SingleModel) -> tuple[Tensor, Tensor, Tensor]:
    """``(A (L, d, d), b (L, d), delta used per layer (L,))`` of a trained single model."""
    A = torch.stack([p.detach() for p in model.A])
    b = torch.stack([p.detach() for p in model.b])
    if model.cfg.delta == "shared":
        delta = model.delta[0].detach().abs().expand(model.depth).clone()
    elif model.cfg.delta == "multi":
        delta = torch.stack([p.detach() for p in model.delta])
    else:
        delta = torch.full((model.depth,), model.fixed, dtype=model.cfg.dtype)
    return A, b, delta
