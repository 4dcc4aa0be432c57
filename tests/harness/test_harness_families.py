"""The families' cross-check (harness/families.py): free embeddings of a hierarchy and of
image-text pairs trained through SupCLLoss agree with the exact optimum, and a wrong
prediction is caught."""

import dataclasses

import pytest

from ssem_symbolic.harness import families


@pytest.mark.slow
def test_tiny_points_agree():
    records = families.crosscheck("tiny")
    assert [r["family"] for r in records] == ["hierarchy", "pairs"]
    assert all(r["verdict"] == "agrees" for r in records), records
    assert "| hierarchy | two-level |" in families.section(records)


@pytest.mark.slow
@pytest.mark.parametrize("shift, verdict", [({"loss_value": +1e-3}, "disagrees"),
                                            ({"loss_value": -1e-3}, "unconverged"),
                                            ({"other": +0.01}, "disagrees")])
def test_a_wrong_prediction_is_caught(shift, verdict, monkeypatch):
    """A predicted minimum above what training reaches is refuted; one below it leaves the
    run unjudged; the right loss with a wrong similarity disagrees."""
    right = families.optimum

    def wrong(*args, **kwargs):
        opt = right(*args, **kwargs)
        return dataclasses.replace(opt, **{k: getattr(opt, k) + v for k, v in shift.items()})
    monkeypatch.setattr(families, "optimum", wrong)
    point = [p for p in families.plan("quick") if p["spec"].name == "clip"][0]
    assert families.check(point, steps=200)["verdict"] == verdict
