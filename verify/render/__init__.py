"""Rendering of stored runs: reads ledger records only, never runs numerics.

``outcomes`` (pure, cheap: the plugin's terminal summary uses it), ``names`` (human names in
equations), ``model`` (the report's view model), ``figures``, ``html``, ``markdown``, ``write``.
Importing this package imports nothing heavy.
"""
