"""The dynamics check: free embeddings trained with gradient descent against the reduced
trajectory, from symmetric and from noisy starts."""

import numpy as np
import pytest

from ssem_symbolic.harness.dynamics import check


def test_a_symmetric_start_follows_the_reduced_trajectory():
    out = check("supcon", 3, 4, 2, "0.3", "0.5", lr=0.5, steps=120,
                start=np.full(3, 1 - 1e-6))
    assert out["max_trajectory_gap"] < 1e-8 and out["max_spread"] < 1e-8
    assert abs(out["plateau"] - out["plateau_predicted"]) <= out["plateau_error"]


@pytest.mark.parametrize("noise, seed", [(1e-3, 0), (1e-2, 3)])
def test_a_noisy_start_leaves_collapse_when_the_linearisation_says(noise, seed):
    """Off the symmetric family, but the collapse point's linearisation acts on every row
    alike: the plateau predicted from the start's own projected Gram eigenvalues holds within
    the stated error."""
    out = check("supcon", 3, 4, 2, "0.3", "0.5", lr=0.5, steps=120,
                start=np.full(3, 1 - 1e-6), noise=noise, seed=seed)
    assert out["max_spread"] > 1e-4  # it did leave the family
    assert abs(out["plateau"] - out["plateau_predicted"]) <= out["plateau_error"]


def test_the_crosscheck_section_judges_trajectory_and_plateau():
    from ssem_symbolic.harness.dynamics import PLAN, crosscheck, section
    from ssem_symbolic.spec import get_spec

    records = crosscheck([get_spec("supcon")], steps=120)
    assert len(records) == len(PLAN)
    assert records[0]["verdicts"] == {"trajectory": "agrees", "plateau": "agrees"}
    assert all(r["verdicts"].get("plateau") == "agrees" for r in records)
    table = section(records)
    assert table.count("| supcon |") == len(PLAN) and "plateau agrees" in table
