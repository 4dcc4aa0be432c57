"""The dataset-level optimum under a class-balanced sampler, against mini-batch training of a
whole dataset's free embeddings, the batch-level optimum where they coincide (C = m, n = k),
and the shifts stated for (paper, p = 2, tau = 0.5, C = m = 10, k = 8, n = 5000)."""

from pathlib import Path

import pytest
import torch

from helpers.references import batch_loss, kinds_of
from ssem_symbolic.optimum import optimum
from ssem_symbolic.setting import Batch, Dataset
from ssem_symbolic.setting import balanced
from ssem_symbolic.ssem import alpha_c_value
from ssem_symbolic.harness.train import train_minibatch
from ssem_symbolic.setting import measured_variances
from ssem_symbolic.spec import LossSpec
from ssem_symbolic.spec import load_spec


@pytest.mark.parametrize("name", ["paper", "supcon", "supcon-split"])
def test_with_the_whole_dataset_in_every_batch_it_is_the_batch_optimum(name):
    d = optimum(name, Dataset(3, 4, 2, balanced(3, 4)), "0.4", "0.5")
    b = optimum(name, Batch.balanced(3, 4, 2), "0.4", "0.5")
    assert d == b


def test_the_shifts_of_a_large_dataset():
    """alpha_c moves by about 0.007 and the within-class variance at alpha = 0.9 by about 0.04
    when each class has n = 5000 instances and a batch draws k = 8 of them."""
    def collapsed(a):
        return "within-class" in optimum("paper", Dataset(10, 5000, 2, balanced(10, 8)),
                                         f"{a:.12f}", "0.5").active
    lo, hi = 0.3, 0.9
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if collapsed(mid) else (lo, mid)
    shift = (lo + hi) / 2 - float(alpha_c_value("paper", 10, 8, 2, "0.5"))
    assert shift == pytest.approx(0.007, abs=0.001)
    d = optimum("paper", Dataset(10, 5000, 2, balanced(10, 8)), "0.9", "0.5")
    b = optimum("paper", Batch.balanced(10, 8, 2), "0.9", "0.5")
    assert d.within_class_variance - b.within_class_variance == pytest.approx(0.04, abs=0.005)


@pytest.mark.slow
@pytest.mark.parametrize("a", [0.7, 0.9])
def test_mini_batch_training_follows_the_dataset_optimum_not_the_batch_one(a):
    """C = 3 classes of n = 8 instances, batches of k = 2 per class: the dataset's within-class
    variance after training is the dataset-level prediction (within 0.01), which differs from
    the per-batch one by more than 0.04."""
    d = optimum("paper", Dataset(3, 8, 2, balanced(3, 2)), a, "0.5").within_class_variance
    b = optimum("paper", Batch.balanced(3, 2, 2), a, "0.5").within_class_variance
    assert abs(d - b) > 0.04
    z, labels = train_minibatch("paper", 3, 8, 2, balanced(3, 2), a, 0.5, dim=48, steps=3000)
    measured = measured_variances(z, labels)["within"]
    assert measured == pytest.approx(d, abs=0.01)


def test_a_sampler_larger_than_the_dataset_is_refused():
    with pytest.raises(ValueError, match="need 2 <= k <= n"):
        optimum("paper", Dataset(3, 4, 2, balanced(3, 5)), "0.4", "0.5")
    with pytest.raises(ValueError, match="need 2 <= m <= C"):
        optimum("paper", Dataset(3, 4, 2, balanced(4, 2)), "0.4", "0.5")


def test_cli_optimum_with_a_dataset_gives_both_numbers(capsys):
    import json

    from ssem_symbolic.cli import main

    assert main(["optimum", "--loss", "paper", "--dataset", "3:8", "--sampler", "balanced:3:2",
                 "--alpha", "0.9", "--tau", "0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    d = optimum("paper", Dataset(3, 8, 2, balanced(3, 2)), "0.9", "0.5")
    b = optimum("paper", Batch.balanced(3, 2, 2), "0.9", "0.5")
    assert out["within_class_variance"] == d.within_class_variance  # the dataset's own
    assert out["per_batch"]["within_class_variance"] == b.within_class_variance
    for argv in (["--dataset", "3:8"], ["--dataset", "3:8", "--sampler", "balanced:3:9"]):
        status = main(["optimum", "--loss", "paper", "--alpha", "0.9", "--tau", "0.5", *argv])
        assert status == 2


def test_the_n_to_infinity_limit_is_approached_as_one_over_n():
    limit = optimum("supcon", Dataset(10, None, 2, balanced(4, 8)), "0.5", "0.3")
    gaps = [abs(optimum("supcon", Dataset(10, n, 2, balanced(4, 8)), "0.5", "0.3")
                .within_class_variance - limit.within_class_variance) for n in (1000, 100000)]
    assert gaps[1] < gaps[0] / 50 and gaps[1] < 1e-5


@pytest.mark.slow
def test_mini_batch_training_with_a_subset_of_the_classes_per_batch():
    """C = 4 classes, batches of m = 2 classes x k = 3 of n = 6 instances."""
    d = optimum("paper", Dataset(4, 6, 2, balanced(2, 3)), "0.7", "0.5").within_class_variance
    b = optimum("paper", Batch.balanced(2, 3, 2), "0.7", "0.5").within_class_variance
    assert abs(d - b) > 0.04
    z, labels = train_minibatch("paper", 4, 6, 2, balanced(2, 3), 0.7, 0.5, dim=48, steps=3000)
    assert measured_variances(z, labels)["within"] == pytest.approx(d, abs=0.01)


@pytest.mark.slow
def test_guide_with_a_dataset_gives_the_dataset_level_threshold(capsys):
    import json

    from ssem_symbolic.cli import main
    from ssem_symbolic.optimum import threshold

    assert main(["guide", "--loss", "paper", "--num-classes", "3", "--batch-size", "6",
                 "--instances-per-class", "8", "--tau", "0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["per_batch"]["alpha_c"] == pytest.approx(float(alpha_c_value("paper", 3, 2, 2,
                                                                            "0.5")))
    data = out["alpha_c"]  # the dataset's own number at the top level
    assert data == threshold("paper", Dataset(3, 8, 2, balanced(3, 2)), tau="0.5").alpha_c
    # collapsed on the dataset just below it, not just above
    below = optimum("paper", Dataset(3, 8, 2, balanced(3, 2)), f"{data - 1e-6:.9f}", "0.5")
    above = optimum("paper", Dataset(3, 8, 2, balanced(3, 2)), f"{data + 1e-6:.9f}", "0.5")
    assert "within-class" in below.active and "within-class" not in above.active


def test_the_class_count_law_of_a_uniform_batch_by_enumeration():
    """P(an anchor has j instances of its class in the batch), from every batch of B of the
    C n instances and every anchor in it."""
    import itertools
    from fractions import Fraction

    from ssem_symbolic.setting._mixture import class_count_law

    C, n, B = 3, 3, 4
    counts: dict = {}
    items = [(c, i) for c in range(C) for i in range(n)]
    total = 0
    for batch in itertools.combinations(items, B):
        for anchor in batch:
            j = sum(1 for x in batch if x[0] == anchor[0])
            counts[j] = counts.get(j, 0) + 1
            total += 1
    law = class_count_law(C, n, B)
    assert {j: Fraction(int(v.p), int(v.q)) for j, v in law.items()} == {
        j: Fraction(c, total) for j, c in counts.items()}


def test_a_uniform_batch_of_the_whole_dataset_is_the_batch_optimum():
    from ssem_symbolic.setting import uniform

    d = optimum("supcon", Dataset(3, 4, 2, uniform(12)), "0.4", "0.5")
    b = optimum("supcon", Batch.balanced(3, 4, 2), "0.4", "0.5")
    assert d.within_class_variance == pytest.approx(b.within_class_variance, abs=1e-14)
    assert d.active == b.active


@pytest.mark.slow
def test_mini_batch_training_with_uniform_batches_follows_the_uniform_prediction():
    """supcon, C = 3 classes of n = 8, uniform batches of 6: the dataset's within-class
    variance after training is the uniform sampler's prediction (within 0.01), which differs
    from the class-balanced sampler's (k = 2 of each class) by more than 0.05."""
    from ssem_symbolic.setting import uniform

    d = optimum("supcon", Dataset(3, 8, 2, uniform(6)), "0.3", "0.5").within_class_variance
    other = optimum("supcon", Dataset(3, 8, 2, balanced(3, 2)), "0.3", "0.5")
    assert abs(d - other.within_class_variance) > 0.05
    z, labels = train_minibatch("supcon", 3, 8, 2, uniform(6), 0.3, 0.5, dim=48, steps=3000)
    assert measured_variances(z, labels)["within"] == pytest.approx(d, abs=0.01)


def _expected_loss_by_enumeration(spec, C, n, p, B, alpha, tau, v, c, o):
    """The mean over every B-subset of the C n instances of the batch loss, each from the
    per-pair definition (tests/helpers/references.py)."""
    import itertools

    sim = {"self": 1.0, "view": v, "class": c, "other": o}
    losses = []
    for batch in itertools.combinations([(k, i) for k in range(C) for i in range(n)], B):
        kinds = kinds_of([(k, i) for k, i in batch for _ in range(p)],
                         [k for k, i in batch for _ in range(p)])
        losses.append(batch_loss(spec, kinds, [[sim[t] for t in row] for row in kinds],
                                 alpha, tau))
    return sum(losses) / len(losses)


_SPREAD = LossSpec("spread", {"sup": ["view", "class", "other"], "self": ["view", "class"]},
                   ["view", "class"], ["view"], "anchors")
_WEIGHTED = LossSpec("weighted", ["view", "class", "other"], ["view", "class"], ["view"],
                     "pairs", pair_weights={"denominator": {"class": "1/2", "other": 2},
                                            "sup": {"view": 3}})
_DCL = load_spec(Path(__file__).parents[2] / "examples" / "specs" / "dcl.toml")


@pytest.mark.parametrize("name", ["paper", "supcon-split", "supcon", "spread", "weighted",
                                  "dcl"])
@pytest.mark.parametrize("method", ["exact", "laplace"])
def test_the_uniform_expected_loss_equals_the_mean_over_every_batch(name, method, monkeypatch):
    """The pairs mean (paper, weighted) and dropped anchors (supcon-split, paper) are means of
    ratios: the mixture's weights, summed exactly or by the Laplace quadrature, give the mean
    over all 126 batches of 4 from 3 classes of 3 to 1e-12; also with a denominator per term
    (spread), pair weights (weighted) and positives outside the denominator (dcl)."""
    import numpy as np

    import ssem_symbolic.setting._mixture as mixture_module
    from ssem_symbolic.optimum import uniform_objective
    from ssem_symbolic.setting import polyhedron
    from ssem_symbolic.spec import PRESETS

    spec = {"spread": _SPREAD, "weighted": _WEIGHTED, "dcl": _DCL}.get(name) or PRESETS[name]
    mixture_module.mixture.cache_clear()
    monkeypatch.setattr(mixture_module, "EXACT_LIMIT", 20000 if method == "exact" else 0)
    mix = mixture_module.mixture(spec, 3, 3, 2, 4)
    mixture_module.mixture.cache_clear()
    assert mix.method == ("exact" if name in ("supcon", "spread", "dcl") else method)
    make = uniform_objective(spec, polyhedron(3, 3, 2), mix, "0.3", 4)
    for v, c, o in ((0.9, 0.4, -0.2), (1.0, 1.0, -0.5), (0.5, 0.1, 0.05)):
        objective = make(0.5, np)
        ours = objective.parts(np.array([v, c, o]), hessian=False)[0] / 0.5
        ref = _expected_loss_by_enumeration(spec, 3, 3, 2, 4, 0.3, 0.5, v, c, o)
        assert ours == pytest.approx(ref, abs=1e-12)


def test_the_laplace_weights_meet_their_stated_error_at_scale(monkeypatch):
    """At C = 6, n = 10, B = 12 (1,000-odd compositions) the quadrature's weights agree with
    the exact sum within the error it states, and the weights of a large uniform batch (C = 100,
    n = 500, B = 512) add up to the chance that the term has a positive (1 to 1e-12)."""
    import ssem_symbolic.setting._mixture as mixture_module
    from ssem_symbolic.spec import PRESETS

    spec = PRESETS["paper"]
    mixture_module.mixture.cache_clear()
    exact = mixture_module.mixture(spec, 6, 10, 2, 12)
    monkeypatch.setattr(mixture_module, "EXACT_LIMIT", 0)
    mixture_module.mixture.cache_clear()
    quad = mixture_module.mixture(spec, 6, 10, 2, 12)
    assert (exact.method, quad.method) == ("exact", "laplace") and 0 < quad.error < 1e-10
    for term in exact.coef:
        for j, value in exact.coef[term].items():
            assert abs(float(value) - quad.coef[term][j]) <= quad.error
    big = mixture_module.mixture(spec, 100, 500, 2, 512)
    mixture_module.mixture.cache_clear()
    assert big.method == "laplace"
    assert sum(big.coef["sup"].values()) == pytest.approx(1, abs=1e-12)


@pytest.mark.slow
def test_mini_batch_training_with_the_pairs_mean_follows_the_uniform_prediction():
    """paper (one mean over the batch's positive pairs, a ratio of random sums under uniform
    batches), C = 3 classes of n = 8, uniform batches of 6, alpha = 0.8: the trained dataset's
    within-class variance is the prediction within 0.01, and differs from the class-balanced
    sampler's by more than 0.03."""
    from ssem_symbolic.setting import uniform

    d = optimum("paper", Dataset(3, 8, 2, uniform(6)), "0.8", "0.5").within_class_variance
    other = optimum("paper", Dataset(3, 8, 2, balanced(3, 2)), "0.8", "0.5")
    assert abs(d - other.within_class_variance) > 0.03
    z, labels = train_minibatch("paper", 3, 8, 2, uniform(6), 0.8, 0.5, dim=48, steps=3000)
    assert measured_variances(z, labels)["within"] == pytest.approx(d, abs=0.01)


def test_the_uniform_sampler_refuses_a_batch_larger_than_the_dataset():
    from ssem_symbolic.setting import uniform

    with pytest.raises(ValueError, match="need 2 <= B <= C n"):
        optimum("supcon", Dataset(3, 8, 2, uniform(25)), "0.3", "0.5")


def test_guide_answers_a_batch_that_is_not_a_multiple_of_the_classes(capsys):
    import json

    from ssem_symbolic.cli import main
    from ssem_symbolic.setting import uniform

    assert main(["guide", "--loss", "supcon", "--num-classes", "3", "--instances-per-class",
                 "8", "--batch-size", "5", "--tau", "0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    a = out["alpha_c"]
    below = optimum("supcon", Dataset(3, 8, 2, uniform(5)), f"{a - 1e-5:.9f}", "0.5")
    above = optimum("supcon", Dataset(3, 8, 2, uniform(5)), f"{a + 1e-5:.9f}", "0.5")
    assert "within-class" in below.active and "within-class" not in above.active


# Cho et al. (TMLR 2024): N = 8 instances with two views, batches of B = 2 instances. To the
# engine an instance with two views is a class of two one-view members: the one positive of a
# member is the other view, every view of another instance is a negative (SimCLR's NT-Xent,
# supcon-split at alpha = 0). Their published optimum: with all C(8, 2) batches, the full-batch
# one, a simplex of the 8 instances (similarity -1/7); with a fixed partition into 4 batches,
# the two instances of each batch antipodal (similarity -1).
CHO_PARTITION = [[(2 * b, 0), (2 * b, 1), (2 * b + 1, 0), (2 * b + 1, 1)] for b in range(4)]


def test_cho_all_subsets_reach_the_full_batch_simplex():
    from ssem_symbolic.setting import balanced

    every = optimum("supcon-split", Dataset(8, 2, 1, balanced(2, 2)), 0, 1)
    full = optimum("supcon-split", Batch.balanced(8, 2, 1), 0, 1)
    assert every.other == pytest.approx(-1 / 7, abs=1e-15)
    assert every.class_ == pytest.approx(1, abs=1e-15)
    assert (every.other, every.class_, every.active) == (full.other, full.class_, full.active)


def test_cho_a_fixed_partition_does_not():
    from ssem_symbolic.setting import fixed_partition

    opt = optimum("supcon-split", Dataset(8, 2, 1, fixed_partition(CHO_PARTITION)), 0, 1)
    [(sizes, count, block)] = opt.blocks
    assert (sizes, count) == ((2, 2), 4)
    assert block.other == pytest.approx(-1, abs=1e-15)
    assert block.class_ == pytest.approx(1, abs=1e-15)
    assert not opt.unique and opt.as_dict()["instances_in_no_batch"] == 0


@pytest.mark.slow
@pytest.mark.parametrize("partition", [False, True])
def test_cho_training_follows_the_sampler(partition):
    """Free embeddings trained pass by pass: all subsets give every pair of instances -1/7,
    the fixed partition gives the pairs that share a batch -1 (within 0.01)."""
    import torch

    from ssem_symbolic.setting import balanced, fixed_partition

    smp = fixed_partition(CHO_PARTITION) if partition else balanced(2, 2)
    z, _ = train_minibatch("supcon-split", 8, 2, 1, smp, 0.0, 1.0, dim=16, steps=3000)
    mu = torch.nn.functional.normalize(z[:, 0].reshape(8, 2, -1).mean(1), dim=-1)
    sim = mu @ mu.T
    assert (z[:, 0].reshape(8, 2, -1).prod(1).sum(-1) > 0.999).all()  # both views together
    if partition:
        assert all(sim[2 * b, 2 * b + 1] == pytest.approx(-1, abs=0.01) for b in range(4))
    else:
        off = sim[~torch.eye(8, dtype=torch.bool)]
        assert (off + 1 / 7).abs().max() < 0.01


def test_all_subsets_is_the_uniform_law():
    from ssem_symbolic.setting import all_subsets, uniform

    a = optimum("supcon", Dataset(3, 3, 2, all_subsets(4)), "0.3", "0.5")
    b = optimum("supcon", Dataset(3, 3, 2, uniform(4)), "0.3", "0.5")
    assert a == b


def test_a_partition_that_is_not_disjoint_is_refused():
    from ssem_symbolic.setting import fixed_partition

    with pytest.raises(ValueError, match="not disjoint"):
        optimum("supcon", Dataset(3, 2, 2, fixed_partition([[(0, 0), (1, 0)], [(0, 0), (2, 1)]])),
                "0.3", "0.5")
    with pytest.raises(ValueError, match="outside the dataset"):
        optimum("supcon", Dataset(3, 2, 2, fixed_partition([[(0, 0), (3, 0)]])), "0.3", "0.5")


@pytest.mark.slow
def test_cli_regimes_with_a_dataset_gives_both_scans(capsys):
    import json

    from ssem_symbolic.cli import main
    from ssem_symbolic.ssem import alpha_c_value

    assert main(["regimes", "--loss", "paper", "--dataset", "3:8", "--sampler", "balanced:3:2",
                 "--tau", "0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    [data] = out["boundaries"]
    [batch] = out["per_batch"]["boundaries"]
    assert batch["alpha"] == pytest.approx(float(alpha_c_value("paper", 3, 2, 2, "0.5")),
                                           abs=1e-7)
    below = optimum("paper", Dataset(3, 8, 2, balanced(3, 2)), f"{data['alpha'] - 1e-6:.9f}", "0.5")
    above = optimum("paper", Dataset(3, 8, 2, balanced(3, 2)), f"{data['alpha'] + 1e-6:.9f}", "0.5")
    assert below.collapsed and not above.collapsed
    assert data["alpha"] - batch["alpha"] > 0.01  # the dataset moves the threshold
    assert main(["regimes", "--loss", "supcon", "--dataset", "3:8", "--sampler", "uniform:5",
                 "--tau", "0.5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["per_batch"] is None


def test_cli_phase_with_a_dataset_writes_both_maps(tmp_path, capsys):
    import json

    import numpy as np

    from ssem_symbolic.cli import main

    out = tmp_path / "d.npz"
    assert main(["phase", "--loss", "paper", "--dataset", "3:8", "--sampler", "balanced:3:2",
                 "--alpha-grid", "0.5:0.9:3", "--tau-grid", "0.3:0.6:2", "--out", str(out),
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    data = np.load(out)
    opt = optimum("paper", Dataset(3, 8, 2, balanced(3, 2)), 0.7, 0.6)
    batch = optimum("paper", Batch.balanced(3, 2, 2), 0.7, 0.6)
    assert data["within"][1, 1] == pytest.approx(opt.within_class_variance, abs=1e-12)
    assert data["batch_within"][1, 1] == pytest.approx(batch.within_class_variance, abs=1e-12)
    assert (tmp_path / "d.png").stat().st_size > 1000 and summary["points"] == 6
    assert main(["phase", "--loss", "paper", "--dataset", "3:8", "--sampler", "balanced:3:2",
                 "--alpha-grid", "0:1:21", "--tau-grid", "0.3:0.6:20", "--out",
                 str(tmp_path / "big.npz")]) == 2
    assert not (tmp_path / "big.npz").exists()


@pytest.mark.slow
def test_guide_answers_the_cifar_shape_with_both_numbers(capsys):
    """CIFAR-100's shape (C = 100, n = 500, B = 512, not a multiple of C): the dataset-level
    threshold of uniform batches beside the per-batch one of the nearest balanced batch (100 x
    5); without n, the limit n -> oo, said in the note."""
    import json

    from ssem_symbolic.cli import main
    from ssem_symbolic.ssem import alpha_c_value

    assert main(["guide", "--loss", "supcon", "--num-classes", "100", "--instances-per-class",
                 "500", "--batch-size", "512", "--tau", "0.1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    per = out["per_batch"]
    assert per["batch"] == [100, 5]
    assert per["alpha_c"] == pytest.approx(float(alpha_c_value("supcon", 100, 5, 2, "0.1")))
    a = out["alpha_c"]
    assert 0 < a < per["alpha_c"] and out["expectation"] == "exact"
    assert main(["guide", "--loss", "supcon", "--num-classes", "100", "--batch-size", "512",
                 "--tau", "0.1"]) == 0
    text = capsys.readouterr().out
    assert "n -> oo" in text and "alpha_c dataset-level" in text


@pytest.mark.slow
def test_cli_threshold_with_a_dataset_and_alpha_gives_tau_c(capsys):
    import json

    from ssem_symbolic.cli import main
    from ssem_symbolic.ssem import tau_c_value

    assert main(["threshold", "--loss", "paper", "--dataset", "3:8", "--sampler",
                 "balanced:3:2", "--alpha", "0.7", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["per_batch"]["tau_c"] == pytest.approx(float(tau_c_value("paper", 3, 2, 2,
                                                                        "0.7")))
    [t] = out["tau_c"]
    assert out["collapsed_at_range_ends"] == [False, True]
    below = optimum("paper", Dataset(3, 8, 2, balanced(3, 2)), "0.7", f"{t * (1 - 1e-6):.12f}")
    above = optimum("paper", Dataset(3, 8, 2, balanced(3, 2)), "0.7", f"{t * (1 + 1e-6):.12f}")
    assert not below.collapsed and above.collapsed
    assert out["per_batch"]["tau_c"] - t > 0.05  # the dataset moves it


_SIGMOID = load_spec(Path(__file__).parents[2] / "examples" / "specs"
                     / "supervised-sigmoid.toml")
_SIGMOID_PAIRS = LossSpec("sigmoid-pairs", ["view", "class", "other"], ["view", "class"],
                          ["view"], "pairs", form="sigmoid", bias="-1/2")


@pytest.mark.parametrize("spec", [_SIGMOID, _SIGMOID_PAIRS], ids=["anchors", "pairs"])
def test_the_sigmoid_forms_expected_loss_is_the_mean_over_every_batch(spec):
    """The sigmoid form under both samplers of C = 3 classes of n = 3, p = 2: the objective
    of the dataset-level solver against the mean over every batch of the per-pair loss (all
    126 uniform batches of 4; all 27 class-balanced batches of 2 classes x 2 instances), to
    1e-12."""
    import itertools

    import numpy as np

    from ssem_symbolic.optimum import batch_objective, uniform_objective
    from ssem_symbolic.setting import mixture, polyhedron, uniform

    insts = [(k, i) for k in range(3) for i in range(3)]
    uniform_batches = list(itertools.combinations(insts, 4))
    balanced_batches = [tuple((k, i) for k, pair in zip(ks, pairs) for i in pair)
                        for ks in itertools.combinations(range(3), 2)
                        for pairs in itertools.product(itertools.combinations(range(3), 2),
                                                       repeat=2)]
    P = polyhedron(3, 3, 2)
    make_uniform = uniform_objective(spec, P, mixture(spec, 3, 3, 2, 4), "0.3", 4)
    make_balanced = batch_objective(spec, P, 2, 2, "0.3")  # batches of 2 classes x 2 x 2
    for v, c, o in ((0.9, 0.4, -0.2), (1.0, 1.0, -0.5), (0.5, 0.1, 0.05)):
        sim = {"self": 1.0, "view": v, "class": c, "other": o}
        x = np.array([v, c, o])
        for batches, objective in (
                (uniform_batches, make_uniform(0.5, np)),
                (balanced_batches, make_balanced(0.5, np))):
            ref = np.mean([batch_loss(spec, kinds, [[sim[t] for t in row] for row in kinds],
                                      0.3, 0.5)
                           for kinds in (kinds_of([(k, i) for k, i in b for _ in range(2)],
                                                  [k for k, i in b for _ in range(2)])
                                         for b in batches)])
            assert objective.parts(x, False)[0] / 0.5 == pytest.approx(ref, abs=1e-12)
    for sampler in (uniform(4), balanced(2, 2)):
        opt = optimum(spec, Dataset(3, 3, 2, sampler), "0.3", "0.5")
        assert opt.decided


@pytest.mark.parametrize("spec", [_SIGMOID, _SIGMOID_PAIRS], ids=["anchors", "pairs"])
def test_the_sigmoid_forms_dataset_optimum_against_free_unit_vectors(spec):
    """C = 3 classes of n = 4, p = 2, batches of 2 classes x 2 (balanced) or of 4 instances
    (uniform). Every pair type is seen, so each anchor sees the same number of pairs and the
    expected loss is the per-pair loss weighted by the chance that both ends are in the batch
    (written here). L-BFGS on free unit vectors of that expected loss against the solver: the
    loss to 1e-6, the within-class variance to 1e-3. (Adam on sampled batches lands near it,
    closer as its step shrinks: docs/conventions.md.)"""
    import torch
    import torch.nn.functional as F

    from ssem_symbolic.setting import uniform

    C, n, p, alpha, tau = 3, 4, 2, 0.6, 0.5
    labels = torch.arange(C).repeat_interleave(n)
    lab, inst = labels.repeat_interleave(p), torch.arange(C * n).repeat_interleave(p)
    same_i, same_c = inst[:, None] == inst[None, :], lab[:, None] == lab[None, :]
    eye = torch.eye(C * n * p, dtype=torch.bool)
    kinds = {"view": same_i & ~eye, "class": same_c & ~same_i, "other": ~same_c}
    # (chance that an instance, two of one class, two of different classes are in the batch)
    chances = {"balanced": (2 / 3 * 2 / 4, 2 / 3 * (2 / 4) * (1 / 3), (2 / 3) * (1 / 2)
                            * (2 / 4) ** 2, 2 * 2 * p),
               "uniform": (4 / 12, 4 * 3 / (12 * 11), 4 * 3 / (12 * 11), 4 * p)}
    for sampler, name in ((balanced(2, 2), "balanced"), (uniform(4), "uniform")):
        one, two_class, two_other, anchors = chances[name]
        prob = (kinds["view"] * one + kinds["class"] * two_class
                + kinds["other"] * two_other).double()
        seen = anchors - 1  # pairs per anchor (all types are seen)

        def expected(G):
            total = 0
            for term, w in (("sup", 1 - alpha), ("self", alpha)):
                pos = sum(kinds[t] for t in spec.positives(term)).bool()
                y = torch.where(pos, 1.0, -1.0).double()
                per = (prob * F.softplus(-y * (G / tau + float(spec.bias)))).masked_fill(
                    eye, 0).sum()
                total = total + w * per / (anchors if spec.mean == "anchors"
                                           else anchors * seen)
            return total
        best = None
        for seed in (0, 1):
            z = torch.randn(C * n * p, C * n * p, generator=torch.Generator().manual_seed(seed),
                            dtype=torch.float64).requires_grad_()
            opt = torch.optim.LBFGS([z], max_iter=3000, tolerance_grad=1e-13,
                                    tolerance_change=1e-16, history_size=50,
                                    line_search_fn="strong_wolfe")

            def closure():
                opt.zero_grad()
                u = F.normalize(z, dim=-1)
                value = expected(u @ u.T)
                value.backward()
                return value
            for _ in range(3):
                opt.step(closure)
            u = F.normalize(z.detach(), dim=-1)
            run = (float(expected(u @ u.T)), measured_variances(u.reshape(C * n, p, -1),
                                                                labels)["within"])
            best = run if best is None or run[0] < best[0] else best
        opt_ = optimum(spec, Dataset(C, n, p, sampler), repr(alpha), repr(tau))
        assert opt_.loss_value == pytest.approx(best[0], abs=1e-6), name
        assert opt_.loss_value <= best[0] + 1e-10
        assert opt_.within_class_variance == pytest.approx(best[1], abs=1e-3), name


def test_train_minibatch_takes_the_batch_first():
    """(convention, classes, instances, views, sampler, alpha, tau, ...) like every function,
    the same run by keyword."""
    now = train_minibatch("paper", 3, 4, 2, balanced(3, 2), 0.6, 0.5, dim=8, steps=20)
    again = train_minibatch("paper", classes=3, instances=4, views=2, sampler=balanced(3, 2),
                            alpha=0.6, tau=0.5, dim=8, steps=20)
    assert torch.equal(now[0], again[0]) and torch.equal(now[1], again[1])
