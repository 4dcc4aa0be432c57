"""Every public symbolic function answers for both loss forms, softmax and sigmoid, or
refuses the sigmoid form in one line: none returns the softmax formulas for a sigmoid spec.

The answers are checked against the per-pair reference of tests/helpers/references.py (the
loss of explicit SSEM vectors) and, for the collapse boundary at the collapsed vertex, against
the sigmoid module's own closed-form alpha_c (tested against free unit vectors in
tests/test_sigmoid.py).
"""

import sys
from pathlib import Path

import pytest
import sympy as sp
import torch

from ssem_symbolic.ssem import (
    alpha_c_limits,
    alpha_c_value,
    alpha_side,
    collapse_rule,
    collapses,
    derive,
    loss_value,
    optimal_beta,
    reduced,
    symmetric_loss,
)
from ssem_symbolic.ssem._faces import collapse_boundaries, face_equations, vertex_multipliers
from ssem_symbolic.setting._model import gram_entries, realise
from ssem_symbolic.vocab import c_sym, o_sym, v_sym
from ssem_symbolic.spec import UnsupportedConvention, alpha, get_spec, k, m, p, tau

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "helpers"))
from references import loss_of_embeddings  # noqa: E402

sys.path.pop(0)

SIGMOID = get_spec(str(Path(__file__).resolve().parents[2] / "examples" / "specs"
                       / "supervised-sigmoid.toml"))
FORMS = [get_spec("supcon"), SIGMOID]
BATCH = {m: 3, k: 4, p: 2}


@pytest.mark.parametrize("spec", FORMS, ids=lambda s: s.form)
def test_symmetric_loss_is_the_per_pair_loss_of_ssem_vectors(spec):
    phi = symmetric_loss(spec)
    for b in (0.3, 0.8):
        z, labels = realise(3, 4, b, d=15, views=2, seed=2)
        want = loss_of_embeddings(torch.from_numpy(z), torch.from_numpy(labels), 0.4, 0.7, spec)
        g = gram_entries(sp.Rational(str(b)), 3, 4)
        got = phi.subs(BATCH).subs({v_sym: 1, c_sym: g["class"], o_sym: g["other"],
                                    alpha: sp.Rational(2, 5), tau: sp.Rational(7, 10)})
        assert float(got) == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize("spec", FORMS, ids=lambda s: s.form)
def test_face_equations_differentiate_the_forms_own_loss(spec):
    eqs = face_equations(spec, ("view", "all-ones"))
    phi = symmetric_loss(spec)
    for eq, x in zip(eqs, (v_sym, c_sym, o_sym)):
        assert sp.simplify(eq.lhs - sp.diff(phi, x)) == 0


@pytest.mark.parametrize("spec", FORMS, ids=lambda s: s.form)
def test_the_vertex_within_class_root_is_the_forms_alpha_c(spec):
    bounds = collapse_boundaries(spec)
    assert set(vertex_multipliers(spec)) == {"view", "within-class", "all-ones"}
    for t in ("0.3", "0.5", "2"):
        got = bounds["within-class"].subs(BATCH).subs(tau, sp.Rational(t))
        assert float(got) == pytest.approx(float(alpha_c_value(spec, 3, 4, 2, t)), abs=1e-12)


@pytest.mark.parametrize("spec", FORMS, ids=lambda s: s.form)
def test_numeric_functions_answer_for_both_forms(spec):
    a_c = float(alpha_c_value(spec, 3, 4, 2, "0.5"))
    assert 0 < a_c < 1
    assert alpha_side(spec, 3, 4, 2, "0.5") == 1
    assert collapses(spec, 3, 4, 2, a_c - 0.01, "0.5") and \
        not collapses(spec, 3, 4, 2, a_c + 0.01, "0.5")
    assert float(optimal_beta(spec, 3, 4, 2, a_c - 0.01, "0.5")) == 1.0
    lo, hi = alpha_c_limits(spec, 3, 4, 2)
    assert 0 <= lo <= 1 and 0 <= hi <= 1
    assert collapse_rule(spec, 3, 4, 2, "0.2").kind in ("always", "never", "tau>=", "tau<=")
    z, labels = realise(3, 4, 0.6, d=15, views=2, seed=1)
    want = loss_of_embeddings(torch.from_numpy(z), torch.from_numpy(labels), 0.3, 0.5, spec)
    assert float(loss_value(spec, 3, 4, 2, "0.3", "0.5", "0.6")) == pytest.approx(want,
                                                                                 abs=1e-12)


@pytest.mark.parametrize("fn", [derive, reduced])
def test_softmax_only_closed_forms_refuse_the_sigmoid_form_in_one_line(fn):
    with pytest.raises(UnsupportedConvention) as exc:
        fn(SIGMOID)
    assert "sigmoid form" in str(exc.value) and "\n" not in str(exc.value)
