"""The command line: regimes and derive, and one-line errors with status 2."""

import pytest

from verify.cli import main


def test_regimes_prints_every_registered_regime(capsys):
    assert main(["regimes"]) == 0
    out = capsys.readouterr().out
    for name in ("R1", "R2", "R5", "R7"):
        assert f"{name} [" in out
    assert "Ito correction q/8" in out  # softplus(x) - log 2 in R5
    assert "<--" not in out  # no regime disagrees with its derivation


def test_derive_prints_the_limit(capsys):
    code = main(["derive", "x + x**2/2", "--alpha", "0", "--inner-rough", "1/2",
                 "--inner-smooth", "1", "--latex"])
    assert code == 0
    out = capsys.readouterr().out
    assert "[sde]" in out and "Ito correction q/2" in out and "strong rate = 1/2" in out


@pytest.mark.parametrize(
    "argv, match",
    [
        (["regimes", "R99"], "unknown regime 'R99'"),
        (["derive", "tanh(x", "--alpha", "1"], "not a sympy expression"),
        (["derive", "tanh", "--alpha", "-1"], "alpha=-1"),
        (["derive", "tanh", "--block", "Q", "--alpha", "1"], "not a residual block"),
    ],
)
def test_bad_input_is_one_line_with_status_2(capsys, argv, match):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1
