"""Real data offline: the loaders (versions, hashes, the network shut, one-line errors), the
measurements against their definitions, and a smoke run of the real-data cross-check."""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest
import torch

from ssem_symbolic.harness import datasets
from ssem_symbolic.harness.real import PLANS, TOLERANCE, measure, run_real


@pytest.mark.parametrize("name, classes, features, per_class", [
    ("digits", 10, 64, None), pytest.param("mnist", 10, 784, None, marks=pytest.mark.slow),
    pytest.param("mnist1d", 10, 40, None, marks=pytest.mark.slow), ("pigcvp", 52, 2000, 2)])
def test_each_dataset_loads_offline_with_its_version_and_a_stable_hash(name, classes,
                                                                       features, per_class):
    a, b = datasets.load(name), datasets.load(name)
    assert a.sha256 == b.sha256 and len(a.sha256) == 64 and a.version
    assert a.classes == classes and a.x_train.shape[1] == features
    assert a.x_train.dtype == np.float32 and set(np.unique(a.y_train)) == set(range(classes))
    assert set(np.unique(a.y_test)) <= set(range(classes))
    if per_class is not None:
        assert np.bincount(a.y_train).tolist() == [per_class] * classes


def test_a_loader_that_reaches_for_the_network_or_lacks_its_package_is_one_line(monkeypatch):
    def online():
        socket.create_connection(("example.org", 443))
    monkeypatch.setitem(datasets._LOADERS, "digits", online)
    with pytest.raises(ValueError, match="tried to reach the network"):
        datasets.load("digits")

    def missing(package):
        raise datasets.importlib.metadata.PackageNotFoundError(package)
    monkeypatch.setattr(datasets.importlib.metadata, "version", missing)
    with pytest.raises(ValueError, match=r"pip install 'ssem-symbolic\[data\]'"):
        datasets.load("mnist")
    with pytest.raises(ValueError, match="unknown dataset"):
        datasets.load("cifar")


def test_measure_follows_the_definitions_on_explicit_vectors():
    """Two classes: class 0 all at e1 (collapsed), class 1 at +-e2 (its mean 0); the views of
    one example coincide, of the other are opposite."""
    e1, e2 = torch.eye(2, dtype=torch.float64)
    z = torch.stack([torch.stack([e1, e1]), torch.stack([e1, e1]),
                     torch.stack([e2, e2]), torch.stack([e2, -e2])])
    y = np.array([0, 0, 1, 1])
    out = measure(z, y)
    mean = torch.stack([e1] * 4 + [e2, e2, e2, -e2]).mean(0)
    assert out["within"] == pytest.approx((0.0 + (1 - 0.25)) / 2)
    assert out["total"] == pytest.approx(1 - float(mean @ mean))
    assert out["view_similarity"] == pytest.approx((1 + 1 + 1 - 1) / 4)


@pytest.mark.slow
def test_a_tiny_real_run_records_every_point_with_its_verdict(tmp_path, capsys):
    out = run_real(PLANS["tiny"])
    assert len(out["runs"]) == 2 and len(out["points"]) == 2
    for p in out["points"]:
        assert 0 <= p["train_within"] <= 1 and 0 <= p["probe_accuracy"] <= 1
        assert p["allowed"] == pytest.approx(2 * p["train_within_se"] + TOLERANCE)
        agrees = abs(p["train_within"] - p["predicted_dataset"]) <= p["allowed"]
        assert p["verdict"] == ("agrees" if agrees else "disagrees")
    assert out["points"][0]["predicted_dataset"] == 0.0  # alpha 0.2 < alpha_c: collapse
    assert out["sources"][0]["name"] == "digits"
    from ssem_symbolic.cli import main

    assert main(["crosscheck", "--real", "--tiny", "--out", str(tmp_path), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    saved = json.loads((tmp_path / "real.json").read_text())
    assert sum(printed["verdicts"].values()) == len(saved["points"]) == 2
    assert "## alpha_c located from training" in (tmp_path / "real.md").read_text()
    assert main(["crosscheck", "--real", "--tiny", "--datasets", "cifar",
                 "--out", str(tmp_path)]) == 2
    assert "--datasets takes" in capsys.readouterr().err
