"""Experiments on the engine, one kind per module: :mod:`numerics.measure.gradients` (network
gradients against the first-variation limit on one coupled path, with
:mod:`numerics.measure.adjoint`), :mod:`numerics.measure.init_map` (the regime map at
initialisation, B2, rows by :mod:`numerics.measure.map_rows`). The forward errors are
:func:`numerics.metrics.error_table` of :func:`numerics.ladder.simulate_ladder`."""
