"""The regime registry: every file loads, claims agree with derivations, bad files are named."""

import sys
import textwrap

import pytest
import sympy as sp

from theory.regime import Domain, Regime
from theory.regimes import RegimeFileError, get, registry
from theory.scaling import Scaling, WeightLaw

EXPECTED = {"R1", "R2", "R3-smooth", "R3-iid", "R4", "R5", "R5b", "R6'", "R6", "R7"}


def test_registry_has_every_forward_claim():
    assert EXPECTED <= set(registry())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_claimed_kind_matches_derivation_for_every_activation(name):
    regime = get(name)
    for sigma in regime.activations:
        limit = regime.limit(sigma)
        assert limit.kind == regime.claimed_kind, (name, sigma, limit.summary())
        assert limit.rate(regime.metric) is not None


def test_instance_values_are_checked_against_domains():
    r2 = get("R2")
    assert r2.limit("tanh", beta=0.25).rate("sup").value == sp.Rational(1, 2)
    with pytest.raises(ValueError, match="outside its valid domain"):
        r2.limit("tanh", beta=1.5)


def test_unknown_regime_lists_known_names():
    with pytest.raises(KeyError, match="known: R1"):
        get("R99")


def test_domain_typical_inside_valid():
    with pytest.raises(ValueError, match="inside valid"):
        Domain(valid=(0, 1), typical=(0.5, 2))


def test_regime_missing_parameter_domain_is_rejected():
    beta = sp.Symbol("beta", positive=True)
    with pytest.raises(ValueError, match="need a Domain"):
        Regime(name="X", claim="c", source="s", status="derived", block="I",
               activations=("tanh",), scaling=Scaling(1 - beta, inner=WeightLaw.smooth_path(beta)),
               claimed_kind="linear-ode", metric="sup")


def test_malformed_regime_file_is_reported_with_its_name(tmp_path, monkeypatch):
    from theory import regimes as package
    from theory.regimes import _load

    bad = tmp_path / "bad_regime.py"
    bad.write_text(textwrap.dedent("""
        REGIME = 42
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(RegimeFileError, match="bad_regime.py: must define REGIME"):
        _load("bad_regime", "theory/regimes/bad_regime.py")
    broken = tmp_path / "broken_regime.py"
    broken.write_text("from theory.regime import Regime\nREGIME = Regime(name='x')\n")
    with pytest.raises(RegimeFileError, match="broken_regime.py: cannot be loaded: TypeError"):
        _load("broken_regime", "theory/regimes/broken_regime.py")
    sys.modules.pop("bad_regime", None)
    sys.modules.pop("broken_regime", None)
    assert package.registry()
