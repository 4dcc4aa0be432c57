"""Measurements, verdicts and the bisection threshold."""

import pytest
import torch

from ssem_symbolic.derive import alpha_c_value, optimal_beta
from ssem_symbolic.harness.crosscheck import locate_threshold, measure, record, verdict
from ssem_symbolic.harness.train import TrainConfig, train_free_batched
from ssem_symbolic.model import realise


def test_measure_on_exact_ssem_vectors():
    z, labels = realise(3, 4, 0.7, d=20, views=2, seed=3)
    meas = measure(torch.from_numpy(z), torch.from_numpy(labels), 0.7)
    assert meas["within"] == pytest.approx(0.3, abs=1e-12)
    assert meas["between"] == pytest.approx(0.7, abs=1e-12)
    assert meas["view_similarity"] == pytest.approx(1.0, abs=1e-12)
    assert meas["residual"] < 1e-12 and meas["class_similarity_spread"] < 1e-12
    # the same vectors against the wrong beta are off the SSEM Gram
    assert measure(torch.from_numpy(z), torch.from_numpy(labels), 0.4)["residual"] > 0.1


def test_record_on_ssem_vectors_agrees_and_the_verdict_rules():
    b = float(optimal_beta("paper", 3, 4, 2, 0.8, 0.5))
    z, labels = realise(3, 4, b, d=20, views=2, seed=1)
    rec = record(TrainConfig("free", "paper", 0.8, 0.5, 3, 4, 2), torch.from_numpy(z),
                 torch.from_numpy(labels))
    assert rec["verdict"] == "agrees" and abs(rec["measured"]["loss_gap"]) < 1e-10
    assert rec["predicted"]["model"] == "global" and rec["measured"]["residual"] < 1e-12
    pred = {"predicted_within": 0.0, "view_similarity": 1.0, "model": "global"}
    on = {"residual": 0.0, "within": 0.0, "view_similarity": 1.0, "loss_gap": 0.0}
    assert verdict("free", pred, on)[0] == "agrees"
    # beating the predicted global minimum refutes the prediction
    assert verdict("free", pred, on | {"loss_gap": -1e-3})[0] == "disagrees"
    # ... while beating the SSEM fallback only says SSEM is not the optimum
    assert verdict("free", pred | {"model": "ssem"}, on | {"loss_gap": -1e-3})[0] == \
        "off-model"
    assert verdict("free", pred, on | {"residual": 0.5})[0] == "off-model"
    assert verdict("free", pred, on | {"within": 0.2})[0] == "disagrees"
    assert verdict("free", pred, on | {"view_similarity": 0.95})[0] == "disagrees"


def test_free_embeddings_off_ssem_agree_with_the_global_optimum():
    # supcon-split, alpha = 0, tau = 0.3: SSEM fails; trained free embeddings (no formula)
    # land on the global optimum with the views of an instance apart
    cfg = TrainConfig("free", "supcon-split", 0.0, 0.3, 3, 4, 2, 24, 1500)
    z, labels = train_free_batched([cfg])
    rec = record(cfg, z[0], labels)
    assert rec["predicted"]["ssem_valid"] is False
    assert rec["verdict"] == "agrees", rec["note"]
    assert abs(rec["measured"]["view_similarity"] - rec["predicted"]["view_similarity"]) < 0.01
    assert rec["predicted"]["view_similarity"] < 0.6


def test_bisection_finds_alpha_c_from_training_alone():
    res = locate_threshold("supcon", 2, 3, 2, tau=1.0, iters=7, steps=1000, dim=8)
    a_c = float(alpha_c_value("supcon", 2, 3, 2, 1.0))
    assert res["alpha_c"] == a_c
    assert abs(res["located"] - a_c) <= 0.02, res["trail"]
    assert res["verdict"] == "agrees"
