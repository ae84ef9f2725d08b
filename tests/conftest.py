"""Shared test setup: one torch thread per xdist worker, float64 by default nowhere implicit."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover - torch is a hard dependency
    pass

# The pytest11 entry point "verify.plugin" registers it too; importing it again is a no-op.
pytest_plugins = ["verify.plugin"]
