"""The dynamics check: free embeddings trained with gradient descent against the reduced
trajectory, from symmetric and from noisy starts."""

import numpy as np
import pytest

from ssem_symbolic.harness.dynamics import check


def test_a_symmetric_start_follows_the_reduced_trajectory():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        out = check("supcon", 3, 4, 2, "0.3", "0.5", lr=0.5, steps=120,
                    start=np.full(3, 1 - 1e-6))
        assert torch.get_num_threads() == 2  # one thread inside, the caller's given back
    finally:
        torch.set_num_threads(before)
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

    records = crosscheck([get_spec("supcon")], steps=120, relax=0)
    assert len(records) == len(PLAN)
    assert records[0]["verdicts"] == {"trajectory": "agrees", "plateau": "agrees"}
    assert all(r["verdicts"].get("plateau") == "agrees" for r in records
               if r["check"] == "trajectory")
    table = section(records)
    assert table.count("| supcon |") == len(PLAN) and "plateau agrees" in table


@pytest.mark.slow
def test_relaxation_off_the_family_follows_the_full_linearisation():
    """From the optimum perturbed by noise, ||G - G*|| decays at the full linearisation's
    slowest rate within the error derived from the start; that rate is far below the
    symmetric family's, and the per-type means decay at twice it (second order)."""
    from ssem_symbolic.harness.dynamics import relaxation

    out = relaxation("supcon", 3, 4, 2, "0.3", "0.5", lr=0.5, noise=1e-3, seed=1)
    assert out["verdict"] == "agrees"
    assert abs(out["rate_fitted"] - out["rate_predicted"]) <= out["rate_error"] < 1e-5
    assert out["rate_predicted"] < out["rate_symmetric"] / 10
    typed = out["typed_rate_fitted"]
    assert abs(typed - 2 * out["rate_predicted"]) < abs(typed - out["rate_symmetric"]) / 100
    from ssem_symbolic.harness.dynamics import section

    table = section([{"check": "relaxation", **out, "verdicts": {"relaxation": "agrees"}}])
    assert "| supcon | 0.3 | 0.001 |" in table and "| agrees |" in table


@pytest.mark.slow
def test_the_linearisation_removes_exactly_the_rotations_and_gives_every_step_size():
    """The rotations' orbit has dimension r (r - 1) / 2 + r (d - r) for a rank-r optimum in
    R^d; the Hessian read off one step size predicts the Jacobian at others (computed
    afresh), and the stable step size is where its slowest factor crosses 1."""
    from ssem_symbolic.harness.dynamics import linearise

    lin = linearise("supcon", 3, 4, 2, "0.3", "0.5", lr=0.5)
    Z = lin.X.reshape(24, -1).numpy()
    r, d = np.linalg.matrix_rank(Z, 1e-9), Z.shape[1]
    assert r == 11  # views together, classes a simplex in the rest: m k - 1
    assert lin.gauge == r * (r - 1) // 2 + r * (d - r)
    assert len(lin.values) == 24 * d - lin.gauge - 24  # the radial directions are out too
    for lr in (3.0, 0.99 * lin.stable_lr, 1.01 * lin.stable_lr):
        other = linearise("supcon", 3, 4, 2, "0.3", "0.5", lr=lr)
        predicted = np.abs(1 - lr * lin.hessian / (1 - lr * lin.mu)).max()
        assert abs(abs(other.values[0]) - predicted) < 1e-9
    assert abs(linearise("supcon", 3, 4, 2, "0.3", "0.5",
                         lr=0.99 * lin.stable_lr).values[0]) < 1
    assert abs(linearise("supcon", 3, 4, 2, "0.3", "0.5",
                         lr=1.01 * lin.stable_lr).values[0]) > 1


def test_a_class_collapsed_optimum_with_tilting_slow_modes_is_not_judged():
    from ssem_symbolic.harness.dynamics import linearise

    lin = linearise("siglip", 3, 4, 2, "0.9", "0.5", lr=0.5)
    assert not lin.first_order and lin.gram_gain < 1e-6


@pytest.mark.slow
def test_the_critical_exponent_fitted_on_simulated_points_is_one_within_its_error():
    """Free embeddings near alpha_c on both sides: the simulated rates equal the reduced
    map's, and the exponent fitted on them (two leading corrections in the model) is the
    derived 1 within its standard error."""
    from ssem_symbolic.harness.dynamics import critical_exponent

    out = critical_exponent("supcon", 3, 4, 2, "1/2")
    for side in ("below", "above"):
        res = out[side]
        assert np.allclose(res["simulated_rates"], res["exact_rates"], rtol=1e-5, atol=0)
        fit = res["fits"]["simulated"]
        assert abs(fit["exponent"] - 1) <= fit["se"] < 1e-3 and res["agrees"]
