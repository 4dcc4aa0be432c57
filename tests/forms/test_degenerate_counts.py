"""Specs whose pair types have count 0 on the batch (p = 1: no view pairs, while the spec names
`view` in its denominator or positives) against brute force over free unit vectors.

The global optimum's loss is within 1e-6 of the best free-vector run (evaluated with the
per-pair reference of tests/helpers/references.py), its active set is exactly the set of
eigenvalues that vanish at the reported point (written out here from the batch structure),
`collapsed` is `within-class` active, and the within-class variance is never negative. A spec
whose loss does not exist on the batch (an empty denominator, a term without positives) is
refused in one line, by `check_setting` and the solver alike.
"""

import itertools
import random
import sys
from pathlib import Path

import pytest
import torch

from ssem_symbolic.loss._bruteforce import minimise
from ssem_symbolic.optimum import optimum
from ssem_symbolic.setting import Batch
from ssem_symbolic.spec import PAIR_TYPES, LossSpec, check_setting

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "helpers"))
from references import loss_of_embeddings  # noqa: E402

sys.path.pop(0)

M_, K_, P_ = 2, 3, 1


def _subsets(items):
    return [c for n in range(1, len(items) + 1) for c in itertools.combinations(items, n)]


#: every pair-type spec that names `view` somewhere, both means; a fixed sample of it
DEGENERATE = [LossSpec(f"{'+'.join(d)}|{'+'.join(s)}|{'+'.join(a)}|{mean}", d, s, a, mean)
              for d in _subsets(PAIR_TYPES) for s in _subsets(PAIR_TYPES)
              for a in _subsets(PAIR_TYPES) for mean in ("anchors", "pairs")
              if "view" in d + s + a]
_RNG = random.Random(2512)
SAMPLE = [(spec, round(_RNG.uniform(0, 1), 4), round(_RNG.uniform(0.2, 4), 3))
          for spec in _RNG.sample(DEGENERATE, 40)]


def eigenvalues(c, o, m=M_, k=K_):
    """The eigenvalues of a symmetric Gram matrix at p = 1 (no view coordinate)."""
    return {"within-class": 1 - c, "between-class": 1 + (k - 1) * c - k * o,
            "all-ones": 1 + (k - 1) * c + (m - 1) * k * o}


def _check(spec, alpha, tau):
    try:
        check_setting(spec, M_, K_, P_, alpha=str(alpha), tau=str(tau))
    except ValueError as exc:  # no loss on this batch: refused in one line by the solver too
        assert "\n" not in str(exc)
        with pytest.raises(ValueError):
            optimum(spec, Batch.balanced(M_, K_, P_), str(alpha), str(tau))
        return "refused"
    opt = optimum(spec, Batch.balanced(M_, K_, P_), str(alpha), str(tau))
    runs = [minimise(spec, M_, K_, P_, alpha, tau, seed=s) for s in (0, 1)]
    ref = min(loss_of_embeddings(torch.from_numpy(r.z), torch.from_numpy(r.labels), alpha, tau,
                                 spec) for r in runs)
    assert opt.loss_value == pytest.approx(ref, abs=1e-6), (spec.name, alpha, tau)
    ev = eigenvalues(opt.class_, opt.other)
    assert set(opt.active) == {n for n, x in ev.items() if abs(x) < 1e-9}, (spec.name, ev)
    assert opt.collapsed == ("within-class" in opt.active)
    assert opt.within_class_variance >= 0 and opt.between_class_variance >= 0
    assert opt.within_class_variance == pytest.approx(1 - (1 + (K_ - 1) * opt.class_) / K_,
                                                      abs=1e-12)
    return "solved"


@pytest.mark.slow
def test_degenerate_specs_match_brute_force():
    outcomes = [_check(spec, alpha, tau) for spec, alpha, tau in SAMPLE]
    assert outcomes.count("solved") >= 25 and outcomes.count("refused") >= 5


def test_the_issue_example_is_beta_zero_with_its_loss():
    """denominator [view, class] at p = 1 is class alone: phi = log 3 + alpha (c - 1)/(4 tau),
    minimised at the least c, -1/(k-1) (beta 0, two orthogonal tetrahedra)."""
    import math

    from ssem_symbolic.ssem import optimal_beta

    spec = LossSpec("x", ("view", "class"), ("view", "class"), ("self", "class"), "pairs")
    a, t = 0.1226, 3.276
    want = math.log(3) + a * (-1 / 3 - 1) / (4 * t)
    assert float(optimal_beta(spec, 2, 4, 1, "0.1226", "3.276")) == 0.0
    opt = optimum(spec, Batch.balanced(2, 4, 1), "0.1226", "3.276")
    assert opt.loss_value == pytest.approx(want, abs=1e-14)
    assert not opt.collapsed and opt.within_class_variance == pytest.approx(1.0, abs=1e-14)


def test_everything_in_one_point_is_reported_collapsed():
    """Every embedding identical (c = o = 1): within-class and between-class eigenvalues are
    0, the batch is collapsed, and its within-class variance is exactly 0."""
    spec = LossSpec("y", ("self", "view", "class", "other"), ("view", "other"),
                    ("view", "other"), "anchors")
    opt = optimum(spec, Batch.balanced(5, 6, 1), "0.8634", "1.324")
    assert opt.loss_value == pytest.approx(3.4011973816621555, abs=1e-12)
    assert opt.class_ == pytest.approx(1) and opt.other == pytest.approx(1)
    assert set(opt.active) == {"within-class", "between-class"}
    assert opt.collapsed and opt.within_class_variance == 0.0


def test_a_loss_constant_everywhere_is_not_unique():
    """denominator = positives = [class] at p = 1: log of n e^{c/tau} minus c/tau is log n at
    every point, so every point of the polyhedron is a minimiser: the ranges span it."""
    spec = LossSpec("flat", ("class",), ("class",), ("class",), "anchors")
    opt = optimum(spec, Batch.balanced(3, 4, 1), "0.3", "0.5")
    assert not opt.unique
    assert opt.ranges["within_class_variance"] == pytest.approx((0.0, 1.0), abs=1e-12)
    assert opt.ranges["class_similarity"] == pytest.approx((-1 / 3, 1.0), abs=1e-12)
    assert opt.as_dict()["unique"] is False and "ranges" in opt.as_dict()


def test_a_unique_optimum_says_so():
    opt = optimum("paper", Batch.balanced(3, 4, 2), "0.3", "0.5")
    assert opt.unique and opt.as_dict()["unique"] is True and "ranges" not in opt.as_dict()


def test_an_empty_denominator_is_refused_in_one_line():
    spec = LossSpec("e", ("view",), ("self", "class"), ("self", "view", "class"), "anchors")
    with pytest.raises(ValueError, match="holds no pair on a batch"):
        check_setting(spec, 3, 4, 1, alpha="0.3", tau="0.5")
