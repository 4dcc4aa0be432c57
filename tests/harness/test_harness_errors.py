"""The measured errors: a grouped jackknife and the spread of the last steps, against the
textbook formulas written here."""

import math

import pytest
import torch

from ssem_symbolic.harness.errors import FLOOR, jackknife, noise, tolerances


def test_the_jackknife_of_a_mean_is_its_grouped_standard_error():
    gen = torch.Generator().manual_seed(5)
    z = torch.randn(40, 1, 3, generator=gen, dtype=torch.float64)
    labels = torch.arange(2).repeat_interleave(20)

    def first_coordinate(lab):
        return lambda x: {"m": x[..., 0].mean()}
    sigma = jackknife(z, labels, first_coordinate)["m"]
    # groups dealt round-robin within each class: instance j of a class is in group j % 10
    x = z[:, 0, 0]
    group = torch.arange(20).repeat(2) % 10
    leave_out = torch.stack([x[group != g].mean() for g in range(10)])
    expected = math.sqrt(9 / 10 * float(((leave_out - leave_out.mean()) ** 2).sum()))
    assert sigma == pytest.approx(expected, rel=1e-12)
    # for a mean the delete-a-group jackknife is the standard error of the group means
    means = torch.stack([x[group == g].mean() for g in range(10)])
    assert sigma == pytest.approx(float(means.std() / math.sqrt(10)), rel=1e-12)


def test_noise_is_the_spread_and_the_drift():
    values = [0.1, 0.3, 0.2, 0.4, 0.3, 0.5]
    trace = [{"q": v} for v in values]
    t = torch.tensor(values, dtype=torch.float64)
    drift = (0.4 + 0.3 + 0.5) / 3 - (0.1 + 0.3 + 0.2) / 3
    assert noise(trace)["q"] == pytest.approx(math.sqrt(float(t.var()) + drift ** 2))
    with pytest.raises(ValueError, match="at least 4"):
        noise(trace[:3])


def test_tolerances_are_three_sigma_above_the_float64_floor():
    assert FLOOR == pytest.approx(2 ** -26)
    assert tolerances({"a": 1e-3, "b": 0.0}) == {"a": pytest.approx(3e-3), "b": FLOOR}
