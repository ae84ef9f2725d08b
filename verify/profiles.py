"""Profiles: one name selects both the Hypothesis settings and the numeric budget.

=========  ===============================================================================
``dev``    Quick feedback while editing: a short ladder, few paths, float32 draws, few
           examples, random exploration with the local example database.
``ci``     What CI runs on every push: cheap (depths 16..256, M = 256) but honest; derandomised,
           no example database, no deadline, built on Hypothesis' own ``ci`` profile (which it
           loads by itself whenever ``CI`` is set).
``thorough`` Before a release or when a claim is in doubt: deeper ladder, M = 2048, a wider
           window, a tighter tolerance and width, many examples.
=========  ===============================================================================

Budget arithmetic: the interval width of a fitted rate falls like ``1/sqrt(M)``, so going from
``M = 256`` to ``M = 2048`` narrows it by ``sqrt(8) ~ 2.8``; ``thorough`` spends that on a
``max_width`` half as large and a tolerance half as large, and on deeper depths where the
pre-asymptotic terms the tolerance absorbs are smaller.

Resolution order (:func:`resolve_profile`): the ``--profile`` command-line value beats the
environment variable ``RESNET_LIMITS_PROFILE``, which beats CI detection (``CI`` set to
anything but ``""``, ``"0"`` or ``"false"`` gives ``ci``), which beats ``dev``.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import InvalidArgument

from verify.budgets import NO_TRAINING, HorizonBudget, TrainingBudget  # re-exported

__all__ = [
    "DEFAULT_PROFILE",
    "HorizonBudget",
    "PROFILES",
    "PROFILE_ENV",
    "Budget",
    "Profile",
    "TrainingBudget",
    "ci_detected",
    "get_profile",
    "hypothesis_settings",
    "register_hypothesis_profiles",
    "resolve_profile",
]

PROFILE_ENV = "RESNET_LIMITS_PROFILE"
DEFAULT_PROFILE = "dev"
_DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class Budget:
    """The numeric budget of one profile.

    Attributes
    ----------
    depths:
        Depth ladder ``L_1 < ... < L_n`` shared by every example (common random numbers).
    n_samples:
        ``M``, sample paths per depth; the rate interval's width falls like ``1/sqrt(M)``.
    window:
        Number of deepest depths above the round-off floor that are fitted.
    n_boot:
        Bootstrap resamples of the paths per fit.
    tolerance:
        Declared model tolerance added to both ends of the rate interval.
    max_width:
        Widest rate interval that may be judged consistent.
    dtype:
        Name of the floating dtype of the simulation (``"float32"`` or ``"float64"``).
    confidence:
        Level of the bootstrap interval.
    """

    depths: tuple[int, ...]
    n_samples: int
    window: int
    n_boot: int
    tolerance: float
    max_width: float
    dtype: str
    confidence: float = 0.95
    tolerance_floor: float = 0.03
    tolerance_relative: float = 0.2
    ladders: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    samples_factor: Mapping[str, int] = field(default_factory=dict)
    training: TrainingBudget = NO_TRAINING
    horizon: HorizonBudget = field(default_factory=HorizonBudget)

    def tolerance_for(self, predicted: float) -> float:
        """The model tolerance for a predicted rate p: ``min(tolerance, floor + relative |p|)``.

        It scales with the prediction, so that a rate twice the true one is told apart when
        the true rate is small (an absolute 0.1 judged a claim of 0.16 consistent with a fitted
        0.072 [0.069, 0.075]); the cap keeps today's band for large rates."""
        return min(self.tolerance, self.tolerance_floor + self.tolerance_relative * abs(
            float(predicted)))

    def __post_init__(self) -> None:
        d = self.depths
        if len(d) < 3 or any(not isinstance(x, int) or x < 1 for x in d):
            raise ValueError(f"depths={d!r} must be a tuple of >= 3 positive ints")
        if any(b <= a for a, b in zip(d, d[1:], strict=False)):
            raise ValueError(f"depths={d!r} must be strictly increasing")
        if not 2 <= self.n_samples:
            raise ValueError(f"n_samples={self.n_samples!r} must be >= 2 (the bootstrap unit)")
        if not 3 <= self.window <= len(d):
            raise ValueError(
                f"window={self.window!r} must lie in [3, len(depths)={len(d)}]; add depths or "
                "shrink the window"
            )
        if self.n_boot < 100:
            raise ValueError(f"n_boot={self.n_boot!r} must be >= 100")
        if not (math.isfinite(self.tolerance) and self.tolerance >= 0):
            raise ValueError(f"tolerance={self.tolerance!r} must be finite and >= 0")
        if not (math.isfinite(self.max_width) and self.max_width > 0):
            raise ValueError(f"max_width={self.max_width!r} must be finite and > 0")
        if self.dtype not in _DTYPES:
            raise ValueError(f"dtype={self.dtype!r} must be one of {_DTYPES}")
        if not 0 < self.confidence < 1:
            raise ValueError(f"confidence={self.confidence!r} must lie in (0, 1)")

    def fit_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`verify.rates.fit_rate` (window, n_boot, confidence)."""
        return {"window": self.window, "n_boot": self.n_boot, "confidence": self.confidence}

    def judge_kwargs(self) -> dict[str, float]:
        """Keyword arguments for :func:`verify.verdict.judge` (tolerance, max_width)."""
        return {"tolerance": self.tolerance, "max_width": self.max_width}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (for the ledger)."""
        return {
            "depths": list(self.depths),
            "n_samples": self.n_samples,
            "window": self.window,
            "n_boot": self.n_boot,
            "tolerance": self.tolerance,
            "max_width": self.max_width,
            "dtype": self.dtype,
            "confidence": self.confidence,
            "tolerance_floor": self.tolerance_floor,
            "tolerance_relative": self.tolerance_relative,
            "ladders": {k: list(v) for k, v in self.ladders.items()},
            "samples_factor": dict(self.samples_factor),
            "training": self.training.to_dict(),
            "horizon": self.horizon.to_dict(),
        }


@dataclass(frozen=True)
class Profile:
    """A named profile: the numeric budget and the Hypothesis settings it implies."""

    name: str
    budget: Budget
    max_examples: int
    derandomize: bool
    use_database: bool
    description: str

    def hypothesis_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``hypothesis.settings`` (deadline None: simulations vary)."""
        kwargs: dict[str, Any] = {
            "max_examples": self.max_examples,
            "deadline": None,
            "derandomize": self.derandomize,
            "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
            "print_blob": True,
            # no explain phase: after shrinking it re-runs hundreds of variations of the
            # minimal example to mark which parts vary freely; at ~1 s per check a refuted
            # conjecture spent Hypothesis' whole 300 s shrink budget there (218 checks).
            "phases": tuple(p for p in Phase if p is not Phase.explain),
        }
        if not self.use_database:
            kwargs["database"] = None
        return kwargs


PROFILES: Mapping[str, Profile] = {
    "dev": Profile(
        name="dev",
        budget=Budget(
            depths=(8, 16, 32, 64, 128),
            n_samples=128,
            window=4,
            n_boot=1000,
            tolerance=0.1,
            max_width=0.6,
            dtype="float32",
            ladders={"weak": (4, 8, 16)},
            # growth x4: at M = 128 a d = 3 slope interval is about +-0.075, as wide as the
            # band of an at-least claim L^0.23, so a true R4 instance whose slope sits at the
            # claim was inconclusive in both stages (main job, tanh d = 3 alpha = 0.27: 0.226
            # in [0.153, 0.298] against 0.154); x4 halves the interval. sup x4: R2 at beta =
            # 0.1, d = 2 (softplus) let its neural-ode twin through in both stages at M = 128
            # (twin slope 0.028 in [-0.012, 0.071] against the band 0.05..0.15); at M = 512 the
            # same instance rejected it on 3 of 4 seeds (the 4th: 0.050, pre-asymptotic).
            samples_factor={"law": 16, "weak": 128, "growth": 4, "sup": 4},
            training=TrainingBudget(depths=(4, 8, 16, 32, 64), n_seeds=16, steps=500,
                                    data_seeds=(0, 1)),
            horizon=HorizonBudget(n_problems=6),
        ),
        max_examples=5,
        derandomize=False,
        use_database=True,
        description="quick local feedback: short ladder, few paths, float32, 5 examples",
    ),
    "ci": Profile(
        name="ci",
        budget=Budget(
            depths=(16, 32, 64, 128, 256),
            n_samples=256,
            window=4,
            n_boot=2000,
            tolerance=0.1,
            max_width=0.5,
            dtype="float64",
            ladders={"weak": (4, 8, 16)},
            samples_factor={"law": 8, "weak": 64},
            # trained claims: one data set, 16 training seeds (a ladder costs 4.1 s with 16
            # seeds, 3.3 s with 8: the layer loop dominates; with 8, T4b's interval was
            # +-0.14 and it raised 2 false alarms in 20), 500 steps for every depth
            training=TrainingBudget(depths=(4, 8, 16, 32, 64), n_seeds=16, steps=500),
            # large-time claims: 8 teacher problems per check, horizons 1..512
            horizon=HorizonBudget(n_problems=8),
        ),
        max_examples=10,
        derandomize=True,
        use_database=False,
        description="every push: cheap ladder 16..256, M=256, derandomised, no database",
    ),
    "thorough": Profile(
        name="thorough",
        budget=Budget(
            depths=(16, 32, 64, 128, 256, 512, 1024, 2048),
            n_samples=2048,
            window=5,
            n_boot=5000,
            tolerance=0.05,
            max_width=0.25,
            dtype="float64",
            tolerance_floor=0.02,
            tolerance_relative=0.1,
            ladders={"weak": (4, 8, 16, 32)},
            samples_factor={"law": 4, "weak": 32},
            training=TrainingBudget(depths=(8, 16, 32, 64, 128, 256), n_seeds=16, steps=2000,
                                    data_seeds=(0, 1, 2, 3), outer_data=True),
            horizon=HorizonBudget(horizons=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
                                  n_problems=16,
                                  turnpike_horizons=(3.0, 6.0, 9.0), data_seeds=(0, 1, 2, 3)),
        ),
        max_examples=100,
        derandomize=False,
        use_database=True,
        description="release checks: ladder 16..2048, M=2048, tighter tolerance, 100 examples",
    ),
}


def get_profile(name: str) -> Profile:
    """The :class:`Profile` called ``name`` (case-insensitive); ``ValueError`` if unknown."""
    key = name.strip().lower()
    if key not in PROFILES:
        raise ValueError(
            f"profile={name!r} is unknown; known profiles: {', '.join(sorted(PROFILES))} "
            f"(choose with --profile or {PROFILE_ENV})"
        )
    return PROFILES[key]


def ci_detected(environ: Mapping[str, str] | None = None) -> bool:
    """True when ``CI`` is set to anything but ``""``, ``"0"`` or ``"false"`` (any case)."""
    env = os.environ if environ is None else environ
    value = env.get("CI")
    return value is not None and value.strip().lower() not in ("", "0", "false")


def resolve_profile(cli_value: str | None, environ: Mapping[str, str] | None = None) -> str:
    """Pick the profile name: CLI value, then ``RESNET_LIMITS_PROFILE``, then CI, then dev.

    Empty strings count as unset. ``environ`` defaults to ``os.environ`` (tests pass a dict).
    Unknown names raise ``ValueError`` listing the known ones.
    """
    env = os.environ if environ is None else environ
    if cli_value is not None and cli_value.strip():
        return get_profile(cli_value).name
    from_env = env.get(PROFILE_ENV, "")
    if from_env.strip():
        return get_profile(from_env).name
    if ci_detected(env):
        return "ci"
    return DEFAULT_PROFILE


def hypothesis_settings(name: str) -> settings:
    """A ``hypothesis.settings`` for profile ``name``; ``ci`` builds on Hypothesis' own ``ci``."""
    profile = get_profile(name)
    # Build on a named parent, never on whatever profile happens to be loaded now (under
    # CI=true that is Hypothesis' ci profile, whose database=None would leak into dev).
    parent = settings.get_profile("default")
    if profile.name == "ci":
        with contextlib.suppress(InvalidArgument):  # older Hypothesis: no built-in ci
            parent = settings.get_profile("ci")
    return settings(parent, **profile.hypothesis_kwargs())


def register_hypothesis_profiles() -> tuple[str, ...]:
    """Register ``dev``, ``ci`` and ``thorough`` with Hypothesis; returns the names.

    ``ci`` refines Hypothesis' built-in ``ci`` profile (``settings.get_profile("ci")``), which
    Hypothesis loads by itself when ``CI`` is set; registering under the active name takes
    effect at once, so no other profile is loaded over it. Call at import or configure time,
    not inside a test decorated with ``@settings``.
    """
    for name in PROFILES:
        settings.register_profile(name, hypothesis_settings(name))
    return tuple(PROFILES)
