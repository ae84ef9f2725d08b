"""Per-regime outcomes of a run (verified / failed / inconclusive; confirmed / refuted /
inconclusive for conjectures): the public name of :mod:`verify.render.outcomes`, where the
rules are documented. Pure: no torch, no numerics, no theory."""

from verify.render.outcomes import (
    CONJECTURE_WORDS,
    THEOREM_WORDS,
    NodeFold,
    RegimeOutcome,
    counted_indices,
    describe_instance,
    expected_verdict,
    fold,
    meets,
    outcomes,
    record_order,
    run_passed,
    summary_json,
    summary_lines,
)

__all__ = [
    "CONJECTURE_WORDS",
    "THEOREM_WORDS",
    "NodeFold",
    "RegimeOutcome",
    "counted_indices",
    "describe_instance",
    "expected_verdict",
    "fold",
    "meets",
    "outcomes",
    "record_order",
    "run_passed",
    "summary_json",
    "summary_lines",
]
