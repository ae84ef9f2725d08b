"""The regime registry: every file loads, claims agree with derivations, bad files are named."""

import sys
import textwrap

import pytest
import sympy as sp

from theory.claims import Claim, Growth, Rate
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
        for claim in regime.claims:
            if sigma in regime.family(claim):
                instance = regime.at(sigma=sigma, width=regime.widths[0], **{
                    k: sum(d.typical) / 2 for k, d in regime.parameters.items()})
                assert instance.predicted(claim) is not None


def test_instance_values_are_checked_against_domains():
    r2 = get("R2")
    assert r2.limit("tanh", beta=0.25).rate("sup").value == sp.Rational(1, 2)
    with pytest.raises(ValueError, match="outside its valid domain"):
        r2.limit("tanh", beta=1.5)
    with pytest.raises(ValueError, match="outside its valid domain"):
        r2.at(sigma="tanh", width=3, beta=1.5)
    with pytest.raises(ValueError, match="widths"):
        r2.at(sigma="tanh", width=1, beta=0.2)


def test_unknown_regime_lists_known_names():
    with pytest.raises(KeyError, match="known: .*R1"):
        get("R99")


def test_domain_typical_inside_valid():
    with pytest.raises(ValueError, match="inside valid"):
        Domain(valid=(0, 1), typical=(0.5, 2))


def test_regime_missing_parameter_domain_is_rejected():
    beta = sp.Symbol("beta", positive=True)
    with pytest.raises(ValueError, match="need a Domain"):
        Regime(name="X", claim="c", source="s", status="derived", block="I",
               activations=("tanh",), scaling=Scaling(1 - beta, inner=WeightLaw.smooth_path(beta)),
               claimed_kind="linear-ode", claims=(Claim(quantity="sup"),))


def test_claims_are_values_with_stable_ids_and_concrete_predictions():
    r5 = get("R5")
    assert [r5.claim_id(c) for c in r5.claims] == ["R5/strong", "R5/weak", "R5/grad-input",
                                                    "R5/grad-weight"]
    instance = r5.at(sigma="silu", width=3)
    assert float(instance.predicted(r5.get_claim("weak")).exponent) == 1.0
    assert float(instance.predicted(r5.get_claim("strong")).exponent) == 0.5
    r4 = get("R4")
    growth = r4.at(sigma="relu", width=3, alpha=0.2).predicted(r4.get_claim("growth"))
    assert isinstance(growth, Growth) and growth.exponent == pytest.approx(0.3)


def test_a_claimed_exponent_is_parsed_safely_with_parameter_names():
    beta = sp.Symbol("beta", positive=True)
    regime = Regime(name="X", claim="c", source="s", status="conjecture", block="I",
                    activations=("tanh",), scaling=Scaling(1 - beta,
                                                           inner=WeightLaw.smooth_path(beta)),
                    parameters={"beta": Domain(valid=(0, 1), typical=(0.1, 0.4))},
                    claimed_kind="linear-ode",
                    claims=(Claim(quantity="sup", predicts=Rate(exponent="Min(1, 2*beta)")),))
    assert regime.parse_exponent("Min(1, 2*beta)") == sp.Min(1, 2 * beta)
    pred = regime.at(sigma="tanh", width=2, beta=0.2).predicted(regime.claims[0])
    assert pred.exponent == pytest.approx(0.4)
    with pytest.raises(ValueError):
        Regime(name="Y", claim="c", source="s", status="conjecture", block="I",
               activations=("tanh",), scaling=Scaling(1, inner=WeightLaw.smooth_path(0)),
               claimed_kind="neural-ode",
               claims=(Claim(quantity="sup", predicts=Rate(exponent="__import__('os')")),))


def test_duplicate_quantities_and_unknown_domains_are_refused():
    law = WeightLaw.smooth_path(0)
    with pytest.raises(ValueError, match="same quantity"):
        Regime(name="Z", claim="c", source="s", status="derived", block="I",
               activations=("tanh",), scaling=Scaling(1, inner=law), claimed_kind="neural-ode",
               claims=(Claim(quantity="sup"), Claim(quantity="sup")))
    with pytest.raises(ValueError, match="unknown parameters"):
        Regime(name="Z", claim="c", source="s", status="derived", block="I",
               activations=("tanh",), scaling=Scaling(1, inner=law), claimed_kind="neural-ode",
               claims=(Claim(quantity="sup", domains={"beta": Domain(valid=(0, 1),
                                                                       typical=(0, 1))}),))


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
