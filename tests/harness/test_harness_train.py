"""Trainers: free embeddings reach SSEM at beta*, batched equals one by one, determinism."""

import pytest
import torch

from ssem_symbolic.ssem import alpha_c_value, optimal_beta
from ssem_symbolic.harness.data import digits_views, gaussian_views
from ssem_symbolic.harness.train import TrainConfig, train, train_free_batched
from ssem_symbolic.setting import measured_variances


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["paper", "supcon"])
def test_free_embeddings_converge_to_ssem(loss):
    tau = 0.5
    a_c = float(alpha_c_value(loss, 2, 3, 2, tau))
    for alpha in (max(0.0, a_c - 0.1), min(1.0, a_c + 0.2)):
        cfg = TrainConfig("free", loss, alpha, tau, 2, 3, 2, dim=8, steps=1200)
        z, labels = train(cfg)
        b = float(optimal_beta(loss, 2, 3, 2, alpha, tau))
        var = measured_variances(z, labels)
        assert var["within"] == pytest.approx(1 - b, abs=2e-3)
        assert var["between"] == pytest.approx(b, abs=2e-3)
        views = (z[:, 0] * z[:, 1]).sum(-1)
        assert views.min().item() > 0.999  # views coincide, as SSEM has them


def test_batched_equals_one_by_one_and_is_deterministic():
    configs = [TrainConfig("free", "supcon-split", a, t, 2, 2, 2, dim=6, steps=200, seed=s)
               for a, t, s in ((0.0, 0.3, 0), (0.5, 1.0, 1), (1.0, 0.2, 2))]
    batched, labels = train_free_batched(configs)
    for i, c in enumerate(configs):
        single, _ = train_free_batched([c])
        assert torch.allclose(batched[i], single[0], rtol=0, atol=1e-12)
    again, _ = train_free_batched(configs)
    assert torch.equal(batched, again)


def test_batched_trainer_refuses_mixed_groups():
    with pytest.raises(ValueError):
        train_free_batched([TrainConfig("free", "paper", 0.1, 0.5),
                            TrainConfig("free", "supcon", 0.1, 0.5)])


def test_gaussian_mlp_collapses_below_and_spreads_above_threshold():
    lo = train(TrainConfig("gaussian", "paper", 0.05, 0.5, 2, 3, 2, dim=8, steps=300, lr=0.003))
    hi = train(TrainConfig("gaussian", "paper", 1.0, 0.5, 2, 3, 2, dim=8, steps=300, lr=0.003))
    assert measured_variances(*lo)["within"] < 0.02
    b = float(optimal_beta("paper", 2, 3, 2, 1.0, 0.5))
    assert measured_variances(*hi)["within"] == pytest.approx(1 - b, abs=0.03)


def test_data_shapes_balance_and_determinism():
    x, labels = gaussian_views(3, 4, 2, 16, seed=1)
    assert x.shape == (12, 2, 16) and labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert x[labels == 2].mean().item() == pytest.approx(2.0, abs=0.3)
    d1 = digits_views(4, 3, 2, torch.Generator().manual_seed(5))
    d2 = digits_views(4, 3, 2, torch.Generator().manual_seed(5))
    assert d1[0].shape == (12, 2, 64) and torch.equal(d1[0], d2[0])
    assert torch.bincount(d1[1]).tolist() == [3, 3, 3, 3]
    assert not torch.equal(d1[0][:, 0], d1[0][:, 1])  # two different augmented views


def test_digits_trainer_runs_and_is_deterministic():
    cfg = TrainConfig("digits", "paper", 0.5, 0.5, 3, 3, 2, dim=8, steps=20, lr=0.003)
    z1, l1 = train(cfg)
    z2, l2 = train(cfg)
    assert z1.shape == (9, 2, 8) and torch.equal(z1, z2) and torch.equal(l1, l2)
    assert torch.allclose(z1.norm(dim=-1), torch.ones(9, 2, dtype=z1.dtype))


def test_unknown_trainer():
    with pytest.raises(ValueError, match="unknown trainer"):
        train(TrainConfig("resnet", "paper", 0.5, 0.5))
