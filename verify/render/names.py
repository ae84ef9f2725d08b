r"""Human names for the internal function names in derived equations (display only).

Gaussian expectations that have no closed form are sympy functions made by
``theory.gaussian._quadrature_function``, named ``<label>_<activation slug>_<crc32 hex>``
with label ``E_sigma`` (E sigma(Z)), ``E_sigma_sq`` (E sigma(Z)^2) or ``E_dsigma``
(E sigma'(Z)), Z ~ N(0, q). ``str`` prints ``E_sigma_sq_tanh_4709fa07(q)``; ``latex`` prints
``E_{\sigma sq tanh 4709fa07}{\left(q \right)}``. This module rewrites both into
``E[sigma(Z)^2](q)`` and ``\mathbb{E}[\sigma(Z)^2]`` and states what ``Z`` is. Text is only
rewritten with regular expressions, never evaluated.
"""

from __future__ import annotations

import re

__all__ = ["LEGEND", "human_equation", "human_latex", "uses_expectations"]

_TEXT = {"E_sigma_sq": "E[sigma(Z)^2]", "E_sigma": "E[sigma(Z)]", "E_dsigma": "E[sigma'(Z)]"}
_LATEX = {r"\sigma sq": r"\mathbb{E}[\sigma(Z)^2]", r"\sigma": r"\mathbb{E}[\sigma(Z)]",
          "dsigma": r"\mathbb{E}[\sigma'(Z)]"}
_TEXT_RE = re.compile(r"\b(E_sigma_sq|E_dsigma|E_sigma)_\w*?_[0-9a-f]{8}\b")
_LATEX_RE = re.compile(r"E_\{(\\sigma sq|\\sigma|dsigma) [^{}]*?[0-9a-f]{8}\}")

LEGEND = "E[f(Z)](q): the Gaussian expectation of f(Z) with Z ~ N(0, q) (no closed form; " \
         "evaluated by quadrature)"


def human_equation(text: str) -> str:
    """``"g = E_sigma_sq_tanh_4709fa07(q)"`` -> ``"g = E[sigma(Z)^2](q)"``."""
    return _TEXT_RE.sub(lambda m: _TEXT[m.group(1)], text)


def human_latex(text: str) -> str:
    r"""``E_{\sigma sq tanh 4709fa07}{\left(q \right)}`` -> ``\mathbb{E}[\sigma(Z)^2]{\left(q
    \right)}``."""
    return _LATEX_RE.sub(lambda m: _LATEX[m.group(1)], text)


def uses_expectations(text: str) -> bool:
    """Whether ``text`` holds an internal expectation name (then show :data:`LEGEND`)."""
    return bool(_TEXT_RE.search(text) or _LATEX_RE.search(text))
