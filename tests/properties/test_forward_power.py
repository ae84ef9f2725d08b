"""False-alarm rate and power of every forward claim check over 50 seeds (slow: ~15 min on
2 cores; `python -m verify.power --profile ci --seeds 50` prints the same table)."""

import pytest

from theory.regimes import registry
from verify.power import measure

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", sorted(registry()))
def test_false_alarms_at_most_2_percent_and_power_at_least_95_percent(name):
    result = measure([name], n_seeds=50, profile="ci", workers=2)[name]
    assert result["false_alarm_rate"] <= 0.02, result["false_alarms"]
    assert result["power"] >= 0.95, result["missed_controls"]
