"""alpha_c on free embeddings in R^d against the relaxed alpha_c."""

import pytest

from ssem_symbolic.harness.dimension import alpha_c_by_dim


@pytest.mark.slow
def test_alpha_c_holds_from_d_equal_m_and_moves_below_it():
    """supcon, 3 x 4 x 2, tau 0.5: collapsed classes need rank m - 1 = 2 and the spreading
    optimum 11. The threshold is the onset of an infinitesimal within-class spread, which needs
    one direction off the class simplex: from d = 3 the located alpha_c agrees with the
    relaxed one although R^3 holds none of the spreading optimum; in R^2 it moves up."""
    out = alpha_c_by_dim("supcon", 3, 4, 2, 0.5, (2, 3))
    assert out["rank_needed"] == {"below": 2, "above": 11}
    d2, d3 = out["rows"]
    assert d3["verdict"] == "agrees" and not d3["realisable"]
    assert d2["verdict"] == "disagrees" and d2["located"] > out["relaxed"] + 0.05
