"""Experiments on the engine, one kind per module: :mod:`numerics.measure.init_map` (the regime
map at initialisation, B2)."""
