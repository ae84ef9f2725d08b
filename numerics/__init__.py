"""How the large-depth limits are simulated: one driver (coupled paths, dyadic tree), steppers
with one signature (ResNets of blocks I/O/S, limit solvers, exact solutions, first variation),
and measurements on them. Takes plain torch callables; see :func:`numerics.simulate`, which
takes :class:`Model`, :class:`Ladder`, :class:`Sampling` and :class:`Execution`."""

from numerics.api import simulate
from numerics.config import Execution, Ladder, Model, Sampling
from numerics.driver import Chunk, Driver
from numerics.fbm import FractionalPath, fbm_increments, fgn
from numerics.ladder import BLOCKS, LadderResult, run, run_ladder, simulate_ladder, weights_at_depth
from numerics.laws import (
    Brownian,
    FixedInput,
    FractionalBrownian,
    GaussianInput,
    InputLaw,
    Smooth,
    SphereInput,
    WeightLaw,
    brownian_weights,
    iid_gaussian,
    smooth_weights,
)
from numerics.metrics import ErrorTable, error_table
from numerics.noise import BrownianPath, DyadicSplitter, block_sums, brownian_increments
from numerics.smooth import DeterministicPath, FourierSeries, RBFProcess, SmoothPath
from numerics.solvers import (
    RK4,
    Euler,
    EulerMaruyama,
    Exact,
    Heun,
    LimitSpec,
    MatrixNoise,
    Milstein,
    ScalarNoise,
    VectorNoise,
    solve_ode,
    solve_sde,
)

__all__ = [
    "BLOCKS",
    "Chunk",
    "Driver",
    "Execution",
    "Ladder",
    "Model",
    "Sampling",
    "run",
    "simulate_ladder",
    "RK4",
    "Brownian",
    "BrownianPath",
    "DeterministicPath",
    "DyadicSplitter",
    "ErrorTable",
    "Euler",
    "EulerMaruyama",
    "Exact",
    "FixedInput",
    "FourierSeries",
    "FractionalBrownian",
    "FractionalPath",
    "GaussianInput",
    "Heun",
    "InputLaw",
    "LadderResult",
    "LimitSpec",
    "MatrixNoise",
    "Milstein",
    "RBFProcess",
    "ScalarNoise",
    "Smooth",
    "SmoothPath",
    "SphereInput",
    "VectorNoise",
    "WeightLaw",
    "block_sums",
    "brownian_increments",
    "brownian_weights",
    "error_table",
    "fbm_increments",
    "fgn",
    "iid_gaussian",
    "run_ladder",
    "simulate",
    "smooth_weights",
    "solve_ode",
    "solve_sde",
    "weights_at_depth",
]
