"""The collapse monitor: its statistics against the O(M^2) definitions computed here, and its
prediction and verdict."""

import numpy as np
import pytest
import torch

from ssem_symbolic.loss._monitor import collapse_monitor
from ssem_symbolic.setting._model import measured_variances, realise


def test_statistics_against_the_definitions():
    gen = torch.Generator().manual_seed(3)
    z = torch.randn(9, 3, 6, generator=gen, dtype=torch.float64)
    labels = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2])
    out = collapse_monitor(z, labels)
    unit = torch.nn.functional.normalize(z, dim=-1)
    ref = measured_variances(unit, labels)
    for key in ("total", "within", "between"):
        assert out[key] == pytest.approx(ref[key], abs=1e-12)
    views = [float(unit[i, a] @ unit[i, b]) for i in range(9) for a in range(3)
             for b in range(3) if a != b]
    assert out["view_similarity"] == pytest.approx(np.mean(views), abs=1e-12)
    flat = unit.reshape(-1, 6)
    for c in range(3):
        member = flat[labels.repeat_interleave(3) == c]
        assert out["per_class_within"][c] == pytest.approx(
            1 - float(member.mean(0) @ member.mean(0)), abs=1e-12)


@pytest.mark.parametrize("beta", [0.2, 0.8, 1.0])
def test_ssem_vectors_sit_on_the_simplex(beta):
    z, y = realise(4, 3, beta, views=2, seed=2)
    out = collapse_monitor(torch.from_numpy(z), torch.from_numpy(y))
    assert out["within"] == pytest.approx(1 - beta, abs=1e-12)
    assert out["simplex_distance"] == pytest.approx(0.0, abs=1e-12)
    assert out["view_similarity"] == pytest.approx(1.0, abs=1e-12)


def test_prediction_and_verdict():
    z, y = realise(3, 4, 1.0, views=2)
    z, y = torch.from_numpy(z), torch.from_numpy(y)
    low = collapse_monitor(z, y, alpha=0.1, temperature=0.5, convention="paper")
    assert low["predicted_collapse"] is True and "heading for class collapse" in low["verdict"]
    high = collapse_monitor(z, y, alpha=0.9, temperature=1.0, convention="paper")
    assert high["predicted_collapse"] is False
    assert high["predicted_within"] == pytest.approx(0.5865, abs=1e-3)  # docs/references.md
    split = collapse_monitor(z, y, alpha=0.0, temperature=0.3, convention="supcon-split")
    assert "not established" in split["verdict"]
    uneven = collapse_monitor(z[:10], y[:10], alpha=0.5, temperature=0.5)
    assert uneven["verdict"].startswith("no prediction") and "predicted_within" not in uneven
