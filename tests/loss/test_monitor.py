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


# --- CollapseMonitor: the run against what training converges to --------------------------

from ssem_symbolic.loss import CollapseMonitor, SupCLLoss  # noqa: E402
from ssem_symbolic.optimum import optimum  # noqa: E402
from ssem_symbolic.setting import Batch, Dataset, balanced  # noqa: E402


def _gram_vectors(gram: np.ndarray) -> torch.Tensor:
    """Unit vectors with this Gram matrix (its PSD square root's rows)."""
    w, v = np.linalg.eigh(gram)
    x = v * np.sqrt(np.clip(w, 0, None))
    return torch.from_numpy(x / np.linalg.norm(x, axis=1, keepdims=True))


def _symmetric_gram(sizes, views, view, cls, other):
    inst = [i for i, k in enumerate(s for c, n in enumerate(sizes) for s in [c] * n)
            for _ in range(views)]
    lab = [c for c, n in enumerate(sizes) for _ in range(n) for _ in range(views)]
    M = len(inst)
    return np.array([[1.0 if a == b else view if inst[a] == inst[b] else
                      cls if lab[a] == lab[b] else other for b in range(M)] for a in range(M)])


def test_the_monitor_takes_its_settings_from_the_loss_it_watches():
    loss = SupCLLoss(0.3, 0.5, "supcon")
    mon = CollapseMonitor(loss)
    assert (mon.alpha, mon.tau, mon.spec) == (0.3, 0.5, loss.spec)
    with pytest.raises(ValueError, match="come.* from the loss"):
        CollapseMonitor(loss, alpha=0.2)
    with pytest.raises(ValueError, match="needs the SupCLLoss"):
        CollapseMonitor(alpha=0.2)


def test_the_gap_is_zero_at_the_batch_optimum_balanced_and_imbalanced():
    loss = SupCLLoss(0.3, 0.5, "supcon")
    mon = CollapseMonitor(loss)
    for sizes in ((4, 4, 4), (4, 2, 2)):
        opt = optimum("supcon", Batch(sizes, 2), "0.3", "0.5")
        if len(set(sizes)) == 1:
            gram = _symmetric_gram(sizes, 2, opt.view, opt.class_, opt.other)
        else:  # the size-group optimum, entry by entry
            gram = _imbalanced_gram(opt, sizes)
        x = _gram_vectors(gram).reshape(sum(sizes), 2, -1)
        labels = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
        out = mon(x, labels, loss=loss(x, labels))
        assert abs(out["gap"]) < 1e-6
        assert out["prediction"]["per_size"] == {c["size"]: c["within_class_variance"]
                                                 for c in opt.per_class}
        if len(set(sizes)) > 1:  # each class beside the prediction for its size
            for c, row in out["per_class"].items():
                assert row["size"] == sizes[c]
                assert row["within"] == pytest.approx(row["predicted_within"], abs=1e-6)


def _imbalanced_gram(opt, sizes):
    groups = [k for k, _ in opt.sizes.groups]
    per = {c["size"]: c for c in opt.per_class}
    cls = [groups.index(k) for k in sizes]
    inst = [i for i, k in enumerate(s for c, n in enumerate(sizes) for s in [c] * n)
            for _ in range(2)]
    lab = [c for c, n in enumerate(sizes) for _ in range(n) for _ in range(2)]
    M = len(lab)
    G = np.ones((M, M))
    for a in range(M):
        for b in range(M):
            ca, cb = lab[a], lab[b]
            if a == b:
                continue
            if inst[a] == inst[b]:
                G[a, b] = per[sizes[ca]]["view_similarity"]
            elif ca == cb:
                G[a, b] = per[sizes[ca]]["class_similarity"]
            else:
                g, h = sorted((cls[ca], cls[cb]))
                G[a, b] = opt.similarity[(g, h)]
    return G


def test_under_a_sampler_the_prediction_is_the_dataset_optimum_and_its_gap_zero_there():
    """Embeddings of a 6 x 4 x 2 dataset at its dataset-level optimum under the balanced
    sampler of 3 classes x 2: every batch's loss is the dataset floor, so the gap is 0."""
    data = Dataset(6, 4, 2, balanced(3, 2))
    loss = SupCLLoss(0.3, 0.5, "supcon")
    mon = CollapseMonitor(loss, dataset=data)
    opt = optimum("supcon", data, "0.3", "0.5")
    x = _gram_vectors(_symmetric_gram((4,) * 6, 2, opt.view, opt.class_, opt.other))
    x = x.reshape(6, 4, 2, -1)
    batch = torch.cat([x[0, :2], x[3, 1:3], x[5, [0, 3]]])
    labels = torch.tensor([0, 0, 3, 3, 5, 5])
    out = mon(batch, labels, loss=loss(batch, labels))
    assert out["prediction"]["level"] == "dataset"
    assert out["prediction"]["within"] == opt.within_class_variance
    assert abs(out["gap"]) < 1e-6
    assert out["batch_gap"] > 1e-3  # one batch's own optimum is lower: the wrong target


def test_an_alarm_when_the_loss_sits_at_complete_collapse():
    import math

    loss = SupCLLoss(0.3, 0.5, "supcon")
    mon = CollapseMonitor(loss, patience=5)
    z = torch.randn(12, 2, 8, dtype=torch.float64)
    labels = torch.arange(3).repeat_interleave(4)
    alarms = [mon(z, labels, loss=math.log(23))["alarm"] for _ in range(6)]
    assert alarms[:4] == [None] * 4 and alarms[4] == {"kind": "complete-collapse", "steps": 5}
    assert mon(z, labels, loss=2.5)["alarm"] is None


def test_anchors_without_a_positive_and_the_rank_warning():
    mon = CollapseMonitor(alpha=0.0, temperature=0.5, convention="supcon-split", dim=4)
    z = torch.randn(7, 1, 4, dtype=torch.float64)
    labels = torch.tensor([0, 0, 0, 1, 1, 2, 3])  # two singletons, one view
    out = mon(z, labels)
    assert out["no_positive_share"]["sup"] == pytest.approx(2 / 7)
    assert any("no positive" in v for v in out["verdicts"])
    z = torch.randn(12, 2, 4, dtype=torch.float64)
    labels = torch.arange(3).repeat_interleave(4)
    assert mon(z, labels)["rank_needed"] == 2  # alpha 0: class collapse, a simplex of 3
    spread = CollapseMonitor(alpha=0.9, temperature=0.5, convention="supcon-split", dim=4)
    out = spread(z, labels)
    assert out["rank_needed"] == 11  # views together, instances apart, centroid 0: N - 1
    assert any("needs rank 11" in v for v in out["verdicts"])


def test_effective_rank_of_one_direction_and_of_an_isotropic_cloud():
    from ssem_symbolic.loss._monitor import _effective_rank

    one = torch.ones(10, 2, 5, dtype=torch.float64)
    assert _effective_rank(one) == pytest.approx(1.0)
    iso = torch.eye(6, dtype=torch.float64).repeat(3, 1).reshape(9, 2, 6)
    assert _effective_rank(iso) == pytest.approx(6.0)


def test_bad_rows_are_named_in_one_reduction():
    from ssem_symbolic.loss import collapse_monitor

    z = torch.randn(6, 2, 4)
    y = torch.tensor([0, 0, 0, 1, 1, 1])
    for value, words in ((float("nan"), "NaN or inf"), (float("-inf"), "NaN or inf")):
        bad = z.clone()
        bad[1, 0, 2] = value
        with pytest.raises(ValueError, match=words):
            collapse_monitor(bad, y)
    zero = z.clone()
    zero[3, 1] = 0.0
    with pytest.raises(ValueError, match="all zeros"):
        collapse_monitor(zero, y)
    huge = z.clone()
    huge[2, 0] = 3e20  # finite, but its norm overflows float32
    with pytest.raises(ValueError, match="too small or large"):
        collapse_monitor(huge, y)
    assert collapse_monitor(z, y)["within"] >= 0.0  # the clean batch passes


def test_effective_rank_is_measured_every_rank_every_calls_and_stamped():
    from ssem_symbolic.loss import CollapseMonitor
    from ssem_symbolic.loss._monitor import _effective_rank

    gen = torch.Generator().manual_seed(3)
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    batches = [torch.randn(6, 2, 5, generator=gen, dtype=torch.float64) for _ in range(7)]
    mon = CollapseMonitor(alpha=0.5, temperature=0.5, convention="supcon", rank_every=3,
                          floors=False)
    seen = [(out["effective_rank"], out["effective_rank_call"])
            for out in (mon(z, y) for z in batches)]
    assert [call for _, call in seen] == [1, 1, 1, 4, 4, 4, 7]
    for rank, call in seen:
        assert rank == pytest.approx(_effective_rank(batches[call - 1]), rel=1e-12)
    every = CollapseMonitor(alpha=0.5, temperature=0.5, convention="supcon", rank_every=1,
                            floors=False)
    assert [every(z, y)["effective_rank_call"] for z in batches[:3]] == [1, 2, 3]
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="rank_every must be a positive integer"):
            CollapseMonitor(alpha=0.5, temperature=0.5, rank_every=bad)


# --- the statistics a watched loss keeps --------------------------------------------------

def _stats(out: dict) -> dict:
    keys = ("total", "within", "between", "view_similarity", "simplex_distance")
    return {k: out[k] for k in keys} | {"per_class": out["per_class_within"]}


def test_a_watched_loss_keeps_the_statistics_and_the_monitor_reads_them_exactly(monkeypatch):
    """The monitor's statistics from the loss's kept class sums equal the definitions (unit
    rows written here, non-contiguous labels, three views, float64) to 1e-12, and a call on
    features the loss did not see (a copy, an in-place change since, other labels) measures
    those features itself."""
    gen = torch.Generator().manual_seed(11)
    z = torch.randn(12, 3, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([7, 7, 7, 2, 2, 2, 2, 9, 9, 9, 9, 9])
    plain = SupCLLoss(0.3, 0.5, "supcon")
    loss = SupCLLoss(0.3, 0.5, "supcon")
    assert plain.keep_statistics is False
    mon = CollapseMonitor(loss, floors=False)
    assert loss.keep_statistics is True
    value = loss(z, labels)
    assert plain.statistics is None and loss.statistics is not None
    a = plain(z, labels)
    ga, = torch.autograd.grad(a, z)
    gb, = torch.autograd.grad(value, z)
    assert float(a) == float(value) and torch.equal(ga, gb)  # keeping changes nothing
    unit = torch.nn.functional.normalize(z.detach(), dim=-1)
    ref = measured_variances(unit, labels)
    from ssem_symbolic.loss import _monitor

    own = _monitor._statistics

    def unused(*args):
        raise AssertionError("the monitor passed over z although the loss kept its sums")
    monkeypatch.setattr(_monitor, "_statistics", unused)
    out = mon(z.detach(), labels, loss=value.detach())
    monkeypatch.setattr(_monitor, "_statistics", own)
    for key in ("total", "within", "between"):
        assert out[key] == pytest.approx(ref[key], abs=1e-12)
    views = [float(unit[i, a] @ unit[i, b]) for i in range(12) for a in range(3)
             for b in range(3) if a != b]
    assert out["view_similarity"] == pytest.approx(np.mean(views), abs=1e-12)
    flat, rows = unit.reshape(-1, 5), labels.repeat_interleave(3)
    for c in (2, 7, 9):
        member = flat[rows == c]
        assert out["per_class_within"][c] == pytest.approx(
            1 - float(member.mean(0) @ member.mean(0)), abs=1e-12)
    # not the features the loss saw: measured afresh, equal to a monitor on a copy
    fresh = CollapseMonitor(alpha=0.3, temperature=0.5, convention="supcon", floors=False)
    assert _stats(mon(z.detach().clone(), labels)) == _stats(fresh(z.detach().clone(), labels))
    other = torch.tensor([7, 7, 7, 2, 2, 2, 2, 9, 9, 9, 2, 2])
    assert _stats(mon(z.detach(), other)) == _stats(fresh(z.detach().clone(), other))
    with torch.no_grad():
        z[0, 0] *= -1  # an in-place change after the loss's call
    assert _stats(mon(z.detach(), labels)) == _stats(fresh(z.detach().clone(), labels))


def test_a_new_batch_at_a_freed_address_is_never_read_from_the_old_statistics():
    """The loss holds the features it kept statistics of, so a later tensor of the same shape
    cannot take their address: a monitor call on it (with the same labels, without a loss
    call) measures it afresh."""
    loss = SupCLLoss(0.3, 0.5, "supcon")
    mon = CollapseMonitor(loss, floors=False)
    fresh = CollapseMonitor(alpha=0.3, temperature=0.5, convention="supcon", floors=False)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    for seed in range(20):
        z = torch.randn(6, 2, 4, generator=torch.Generator().manual_seed(seed))
        loss(z, labels)
        del z
        other = torch.randn(6, 2, 4, generator=torch.Generator().manual_seed(100 + seed))
        assert other.data_ptr() != loss.statistics["key"][0]
        assert _stats(mon(other, labels)) == _stats(fresh(other.clone(), labels))
