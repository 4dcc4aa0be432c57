import numpy as np
import pytest
import sympy as sp

from ssem_symbolic.setting._model import (
    gram_entries,
    measured_variances,
    realise,
    required_dimension,
    ssem_eigenvalues,
    ssem_rank,
    ssem_variances,
)
from ssem_symbolic.spec import beta, k, m


def _pair_type(i, j, k_, p_):
    ci, cj = i // p_, j // p_
    if i == j:
        return "self"
    if ci == cj:
        return "view"
    return "class" if ci // k_ == cj // k_ else "other"


@pytest.mark.parametrize("m_, k_, p_, b, d, seed", [
    (2, 2, 1, 0.3, None, None), (3, 4, 2, 0.7, 20, 1), (4, 3, 3, 1.0, 11, 2),
    (5, 2, 2, 0.0, 12, 3), (10, 10, 2, 0.42, 99, 4)])
def test_realisation_has_the_symbolic_gram(m_, k_, p_, b, d, seed):
    z, labels = realise(m_, k_, b, d=d, views=p_, seed=seed)
    assert z.shape == (m_ * k_, p_, d or m_ * k_ - 1)
    flat = z.reshape(-1, z.shape[-1])
    gram = flat @ flat.T
    entries = {t: float(e.subs({beta: b, m: m_, k: k_})) for t, e in gram_entries().items()}
    expected = np.array([[entries[_pair_type(i, j, k_, p_)] for j in range(len(flat))]
                         for i in range(len(flat))])
    np.testing.assert_allclose(gram, expected, atol=1e-12)
    assert np.array_equal(labels, np.repeat(np.arange(m_), k_))


@pytest.mark.parametrize("m_, k_, p_, b", [(3, 4, 2, 0.6), (2, 3, 3, 0.25), (4, 2, 2, 1.0)])
def test_eigenvalues_and_rank_match_the_vectors(m_, k_, p_, b):
    z, _ = realise(m_, k_, b, views=p_)
    flat = z.reshape(-1, z.shape[-1])
    numeric = np.sort(np.linalg.eigvalsh(flat @ flat.T))
    subs = {beta: b, m: m_, k: k_, sp.Symbol("p", positive=True, integer=True): p_}
    symbolic = []
    for _, ev, mult in ssem_eigenvalues():
        symbolic += [float(ev.subs(subs))] * int(mult.subs(subs))
    np.testing.assert_allclose(numeric, np.sort(symbolic), atol=1e-10)
    assert np.linalg.matrix_rank(flat, tol=1e-9) == ssem_rank(b, m_, k_)


def test_eigenvalues_are_nonnegative_on_the_unit_interval():
    for _, ev, _ in ssem_eigenvalues():
        for b in (0, sp.Rational(1, 3), 1):
            p_sym = sp.Symbol("p", positive=True, integer=True)
            assert ev.subs(beta, b).subs({m: 3, k: 2, p_sym: 2}) >= 0


def test_dimension_requirement():
    assert required_dimension(3, 4) == 11
    with pytest.raises(ValueError, match="needs d >= mk - 1 = 11"):
        realise(3, 4, 0.5, d=10)
    with pytest.raises(ValueError, match="beta must lie"):
        realise(3, 4, 1.5)


@pytest.mark.parametrize("b", [0.0, 0.2, 0.9, 1.0])
def test_measured_variances_equal_symbolic(b):
    z, labels = realise(4, 3, b, d=15, views=2, seed=5)
    got = measured_variances(z, labels)
    want = {key: float(val.subs(beta, b)) for key, val in ssem_variances().items()}
    for key in want:
        assert got[key] == pytest.approx(want[key], abs=1e-12)


def test_symbolic_variances_from_counts():
    v = ssem_variances()
    assert v["total"] == 1 and sp.simplify(v["within"] - (1 - beta)) == 0 and v["between"] == beta
