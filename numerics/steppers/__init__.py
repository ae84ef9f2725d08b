"""Steppers with one signature (``init``, ``step``, ``window``) that declare their orders:
the ResNet of depth L (blocks I/O/S), the ODE/SDE limit schemes, the exact solutions and the
first variation. :func:`numerics.ladder.run` drives any of them on one driver."""

from numerics.steppers.base import Stepper
from numerics.steppers.limit import ExactStepper, LimitStepper, limit_stepper
from numerics.steppers.resnet import ResNet
from numerics.steppers.variation import FirstVariation, FirstVariationStepper

__all__ = ["ExactStepper", "FirstVariation", "FirstVariationStepper", "LimitStepper", "ResNet",
           "Stepper", "limit_stepper"]
