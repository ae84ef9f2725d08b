r"""Train every (depth, seed) model of a ladder at once, as ONE stacked, masked ResNet.

Block I [CCRX21 eq. 1; THEORY.md section 5]: :math:`h_{k+1} = h_k + \delta_k\sigma(A_kh_k + b_k)`,
MSE loss :math:`\ell_m = \frac{1}{Bd}\sum |h^{(m)}_{L_m} - y|^2` per model ``m`` (the authors'
``nn.MSELoss``). Layout: model ``m = i_depth * n_seeds + i_seed``; ``A`` is
``(L_max, models, d, d)``, ``b`` ``(L_max, models, d)``, shared delta ``(models,)``, per-layer
delta ``(L_max, models)``. Depth ``L`` is padded to ``L_max`` with layers that are exactly zero.

The mask is a suffix: depths increase with ``i_depth``, so the models alive at layer ``k`` are
``m >= n_seeds * #{L <= k}``. The forward pass loops over layers ``k < L_max`` (the only Python
loop) and at each layer advances only that suffix, with batched products; a model whose depth is
reached leaves the state with its output. Padded layers are therefore never read: their
gradients are exactly zero and neither SGD nor Adam (zero moments) moves them.

The objective is :math:`\sum_m \ell_m`, whose gradient in model ``m``'s parameters is
:math:`\nabla\ell_m` (disjoint parameters): no loss averaging across models. Adam/SGD are
elementwise (:mod:`numerics.train.optim`) and clipping is per model, so each model follows the
trajectory it would follow alone (tested against :func:`numerics.train.reference.train_single`).
Every seed has one minibatch stream (:func:`numerics.train.batches.batch_indices`) shared by all
depths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import Tensor

from numerics.train.batches import batch_indices
from numerics.train.config import TrainConfig, fixed_delta, init_model
from numerics.train.data import Task
from numerics.train.optim import StackedAdam, StackedSGD, clip_per_model
from numerics.train.result import TrainedLadder

__all__ = ["Observer", "StackedTrainer", "train_ladder"]

Observer = Callable[[TrainedLadder], None]
"""Called with the weights at a checkpoint during training (training-time drift)."""


class StackedTrainer:
    """The stacked ladder and its optimiser state; :meth:`run` trains a fixed number of steps.

    ``run(a); result(); run(b)`` gives the weights of ``run(a + b)`` exactly (the batch stream
    is a function of the step), so statistics can be followed along training time."""

    def __init__(self, task: Task, config: TrainConfig) -> None:
        cfg, d = config, task.width
        self.task, self.cfg, self.width = task, cfg, d
        nd, ns, lmax = len(cfg.depths), len(cfg.seeds), cfg.max_depth
        self.n_models = nd * ns
        dev, dt = torch.device(cfg.device), cfg.dtype
        A = torch.zeros((lmax, self.n_models, d, d), dtype=dt)
        b = torch.zeros((lmax, self.n_models, d), dtype=dt)
        delta = None
        if cfg.delta == "shared":
            delta = torch.zeros((self.n_models,), dtype=dt)
        elif cfg.delta == "multi":
            delta = torch.zeros((lmax, self.n_models), dtype=dt)
        fixed = torch.ones((self.n_models,), dtype=dt)
        for i, L in enumerate(cfg.depths):  # initialisation only: one generator per model
            for s, seed in enumerate(cfg.seeds):
                m = i * ns + s
                a0, b0, d0 = init_model(L, seed, d, cfg)
                A[:L, m], b[:L, m] = a0, b0
                if cfg.delta == "shared":
                    delta[m] = d0
                elif cfg.delta == "multi":
                    delta[:L, m] = d0
                fixed[m] = fixed_delta(L, cfg)
        self.A = A.to(dev).requires_grad_(True)
        self.b = b.to(dev).requires_grad_(cfg.bias)
        self.delta = None if delta is None else delta.to(dev).requires_grad_(True)
        self.fixed_delta = fixed.to(dev)
        # first alive model at layer k
        counts = torch.tensor([sum(L <= k for L in cfg.depths) for k in range(lmax)])
        self.start = (counts * ns).tolist()
        params = [self.A] + ([self.b] if cfg.bias else []) + (
            [self.delta] if self.delta is not None else [])
        self._axes = [1] + ([1] if cfg.bias else []) + (
            [] if self.delta is None else [0 if cfg.delta == "shared" else 1])
        self.params = params
        if cfg.optimizer == "adam":
            self.opt: StackedAdam | StackedSGD = StackedAdam(
                params, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps)
        else:
            self.opt = StackedSGD(params, lr=cfg.lr)
        self.step = 0
        self._frozen: list[tuple[Tensor, int, Tensor, Tensor]] = []
        self._losses: list[Tensor] = []
        self._x = task.x_train.to(device=dev, dtype=dt)
        self._y = task.y_train.to(device=dev, dtype=dt)

    def forward(self, x: Tensor) -> Tensor:
        """``x (models, B, d) -> h_L (models, B, d)``, model ``m`` through its own depth."""
        cfg = self.cfg
        # whole-stack views taken once (few autograd nodes per layer): A_k^T, b_k as a row
        At_k = self.A.transpose(2, 3).unbind(0)
        b_k = self.b.unsqueeze(2).unbind(0)
        if cfg.delta == "shared":
            dl = self.delta.abs()[:, None, None]
        elif cfg.delta == "multi":
            dk = self.delta[:, :, None, None].unbind(0)
        else:
            dl = self.fixed_delta[:, None, None]
        h, cur, done = x, 0, []
        for k in range(cfg.max_depth):
            s = self.start[k]
            if s > cur:
                done.append(h[: s - cur])
                h, cur = h[s - cur :], s
            At = At_k[k][cur:]
            z = torch.baddbmm(b_k[k][cur:], h, At) if cfg.bias else torch.bmm(h, At)
            dd = dk[k][cur:] if cfg.delta == "multi" else dl[cur:]
            h = torch.addcmul(h, dd, cfg.sigma(z))
        done.append(h)
        return torch.cat(done, dim=0)

    def _inputs(self, rows: Tensor) -> tuple[Tensor, Tensor]:
        """Rows ``(n_seeds, B)`` -> per-model inputs and targets ``(models, B, d)``."""
        nd = len(self.cfg.depths)
        x, y = self._x[rows], self._y[rows]  # (n_seeds, B, d)
        shape = (self.n_models, *x.shape[1:])
        return (x.unsqueeze(0).expand(nd, *x.shape).reshape(shape),
                y.unsqueeze(0).expand(nd, *y.shape).reshape(shape))

    def model_losses(self, x: Tensor, y: Tensor) -> Tensor:
        """Per-model MSE ``(models,)`` of ``forward(x)`` against ``y``."""
        return (self.forward(x) - y).square().mean(dim=(1, 2))

    def run(self, steps: int) -> Tensor:
        """Train ``steps`` more steps; their minibatch losses ``(steps, n_depths, n_seeds)``."""
        if not (isinstance(steps, int) and steps >= 0):
            raise ValueError(f"steps={steps!r} must be an int >= 0")
        cfg = self.cfg
        rows = batch_indices(cfg.seeds, n_rows=self.task.n_train, batch_size=cfg.batch_size,
                             start=self.step, steps=steps).to(self._x.device)
        out = torch.empty((steps, self.n_models), dtype=self.cfg.dtype)
        for t in range(steps):
            x, y = self._inputs(rows[:, t])
            for p in self.params:
                p.grad = None
            loss = self.model_losses(x, y)
            loss.sum().backward()
            if cfg.clip_norm is not None:
                self._clip(cfg.clip_norm)
            self.opt.step()
            self._restore_frozen()
            out[t] = loss.detach().cpu()
            self.step += 1
        out = out.view(steps, len(cfg.depths), len(cfg.seeds))
        self._losses.append(out)
        return out

    @torch.no_grad()
    def freeze(self, models: Tensor) -> None:
        """Stop training the models where ``models`` (bool, ``(n_models,)``, model ``m =
        i_depth * n_seeds + i_seed``) is true: their parameters are restored to their values now
        after every later step (the authors' early stopping, :mod:`numerics.train.stopping`)."""
        models = torch.as_tensor(models, dtype=torch.bool).reshape(-1)
        if models.numel() != self.n_models:
            raise ValueError(f"freeze: {models.numel()} flags for {self.n_models} models")
        index = models.nonzero().reshape(-1).to(self.A.device)
        self._frozen = [(p, ax, index, p.index_select(ax, index).clone())
                        for p, ax in zip(self.params, self._axes, strict=True)]

    @torch.no_grad()
    def _restore_frozen(self) -> None:
        for p, ax, index, value in self._frozen:
            p.index_copy_(ax, index, value)

    def _clip(self, max_norm: float) -> None:
        """Per-model gradient clipping (never over the whole stack)."""
        clip_per_model([(p.grad, ax) for p, ax in zip(self.params, self._axes, strict=True)],
                       max_norm)

    @torch.no_grad()
    def evaluate(self, x: Tensor, y: Tensor) -> Tensor:
        """MSE ``(n_depths, n_seeds)`` of every model on the same rows ``x, y (n, d)``."""
        dev, dt = self._x.device, self.cfg.dtype
        xs = x.to(device=dev, dtype=dt).expand(self.n_models, *x.shape)
        ys = y.to(device=dev, dtype=dt).expand(self.n_models, *y.shape)
        return self.model_losses(xs, ys).cpu().view(len(self.cfg.depths), len(self.cfg.seeds))

    @torch.no_grad()
    def result(self) -> TrainedLadder:
        """The weights now, per (depth, seed), padded with zeros (copies, on the CPU)."""
        cfg = self.cfg
        nd, ns, lmax = len(cfg.depths), len(cfg.seeds), cfg.max_depth

        def per_model(t: Tensor) -> Tensor:  # (L_max, models, ...) -> (nd, ns, L_max, ...)
            return t.detach().movedim(1, 0).reshape(nd, ns, lmax, *t.shape[2:]).cpu().clone()

        mask = torch.arange(lmax)[None, :] < torch.tensor(cfg.depths)[:, None]
        mask = mask[:, None, :].expand(nd, ns, lmax).to(cfg.dtype)
        if cfg.delta == "shared":
            param = self.delta.detach().cpu().view(nd, ns).clone()
            delta = param.abs()[..., None] * mask
        elif cfg.delta == "multi":
            param = per_model(self.delta)
            delta = param.clone()
        else:
            param = None
            delta = self.fixed_delta.cpu().view(nd, ns)[..., None] * mask
        losses = (torch.cat(self._losses) if self._losses
                  else torch.empty((0, nd, ns), dtype=cfg.dtype))
        return TrainedLadder(cfg.depths, cfg.seeds, cfg.delta, per_model(self.A),
                             per_model(self.b), delta, param, losses, self.step)


def train_ladder(task: Task, config: TrainConfig, steps: int, *, at: Iterable[int] = (),
                 observe: Observer | None = None) -> TrainedLadder:
    """Train the whole ladder of ``config`` on ``task`` for ``steps`` steps (one step count for
    every depth, THEORY.md section 5 pitfalls) and return its weights; ``observe`` sees the
    weights after each step count of ``at`` below ``steps`` (training in segments draws the
    same minibatches and gives the same weights as one run)."""
    trainer = StackedTrainer(task, config)
    for checkpoint in sorted({int(s) for s in at if 0 < int(s) < steps}):
        trainer.run(checkpoint - trainer.step)
        if observe is not None:
            observe(trainer.result())
    trainer.run(steps - trainer.step)
    return trainer.result()
