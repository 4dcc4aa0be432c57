"""Newton's finish of a trained batch and the errors it measures, against minima known in
closed form."""

import pytest
import torch

from ssem_symbolic.ssem import optimal_beta
from ssem_symbolic.harness.refine import FLOOR, loss_resolution, quantities, refine
from ssem_symbolic.loss import SupCLLoss
from ssem_symbolic.setting._model import realise


def _pull(target):
    """Each unit row pulled to ``target``: the minimum is every row at target."""
    return lambda u: -(u @ target).mean()


def test_newton_reaches_a_minimum_known_in_closed_form():
    target = torch.tensor([0.6, 0.8, 0.0], dtype=torch.float64)
    gen = torch.Generator().manual_seed(1)
    z = torch.nn.functional.normalize(
        target + 0.3 * torch.randn(4, 2, 3, generator=gen, dtype=torch.float64), dim=-1)
    out = refine(_pull(target), z, 1.0, quantities(torch.tensor([0, 0, 1, 1])))
    assert out["converged"] and out["reason"] == ""
    assert (out["z"] - target).abs().max() < 1e-7
    assert out["loss"] == pytest.approx(-1.0, abs=1e-14)
    # every row at target: no within-class variance, views identical, within the tolerance
    assert abs(out["sigma"]["within"]) < 1e-6 and out["steps"] >= 2


def test_a_maximum_is_not_a_minimum():
    target = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    z = target.expand(4, 2, 3).clone()  # rows at the maximum of the pull: the gradient is 0
    out = refine(lambda u: (u @ target).mean(), z, 1.0, quantities(torch.tensor([0, 0, 1, 1])))
    assert not out["converged"] and "negative curvature" in out["reason"]


@pytest.mark.parametrize("loss, alpha, tau", [("paper", 0.8, 0.5), ("supcon", 0.5, 1.0)])
def test_newton_lands_on_ssem_where_ssem_is_the_optimum(loss, alpha, tau):
    """From SSEM at beta* disturbed by 1e-3, Newton returns to its within-class variance
    1 - beta* (the derivation's, which Newton never reads), within its own measured error."""
    b = float(optimal_beta(loss, 3, 4, 2, alpha, tau))
    z, labels = realise(3, 4, b, d=16, views=2, seed=2)
    z, labels = torch.from_numpy(z), torch.from_numpy(labels)
    noisy = torch.nn.functional.normalize(
        z + 1e-3 * torch.randn(z.shape, generator=torch.Generator().manual_seed(3),
                               dtype=torch.float64), dim=-1)
    crit = SupCLLoss(alpha, tau, loss)
    out = refine(lambda u: crit(u, labels), noisy, tau, quantities(labels))
    within = float(quantities(labels)(out["z"])["within"])
    assert out["converged"], out["reason"]
    assert abs(within - (1 - b)) <= max(FLOOR, 3 * out["sigma"]["within"])
    assert abs(within - (1 - b)) < 1e-6 < abs(float(quantities(labels)(noisy)["within"])
                                               - (1 - b))
    assert out["decrement"] <= out["resolution"] == loss_resolution(out["loss"], 24, tau)


def test_quantities_match_the_measurements():
    from ssem_symbolic.harness.crosscheck import measure

    z, labels = realise(3, 4, 0.4, d=12, views=2, seed=4)
    z = torch.nn.functional.normalize(
        torch.from_numpy(z) + 0.1 * torch.randn(12, 2, 12, dtype=torch.float64,
                                                generator=torch.Generator().manual_seed(0)),
        dim=-1)
    labels = torch.from_numpy(labels)
    q = quantities(labels)(z)
    meas = measure(z, labels, 0.4)
    assert float(q["within"]) == pytest.approx(meas["within"], abs=1e-14)
    assert float(q["view_similarity"]) == pytest.approx(meas["view_similarity"], abs=1e-14)
