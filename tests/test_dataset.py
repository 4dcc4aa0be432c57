"""The dataset-level optimum under a class-balanced sampler, against mini-batch training of a
whole dataset's free embeddings, the batch-level optimum where they coincide (C = m, n = k),
and the shifts stated for (paper, p = 2, tau = 0.5, C = m = 10, k = 8, n = 5000)."""

import pytest

from ssem_symbolic.dataset import balanced, dataset_optimum
from ssem_symbolic.derive import alpha_c_value
from ssem_symbolic.harness.train import train_minibatch
from ssem_symbolic.model import measured_variances
from ssem_symbolic.optimum import global_optimum


@pytest.mark.parametrize("name", ["paper", "supcon", "supcon-split"])
def test_with_the_whole_dataset_in_every_batch_it_is_the_batch_optimum(name):
    d = dataset_optimum(name, 3, 4, 2, balanced(3, 4), "0.4", "0.5")
    b = global_optimum(name, 3, 4, 2, "0.4", "0.5")
    assert d == b


def test_the_shifts_of_a_large_dataset():
    """alpha_c moves by about 0.007 and the within-class variance at alpha = 0.9 by about 0.04
    when each class has n = 5000 instances and a batch draws k = 8 of them."""
    def collapsed(a):
        return "within-class" in dataset_optimum("paper", 10, 5000, 2, balanced(10, 8),
                                                 f"{a:.12f}", "0.5").active
    lo, hi = 0.3, 0.9
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if collapsed(mid) else (lo, mid)
    shift = (lo + hi) / 2 - float(alpha_c_value("paper", 10, 8, 2, "0.5"))
    assert shift == pytest.approx(0.007, abs=0.001)
    d = dataset_optimum("paper", 10, 5000, 2, balanced(10, 8), "0.9", "0.5")
    b = global_optimum("paper", 10, 8, 2, "0.9", "0.5")
    assert d.within_class_variance - b.within_class_variance == pytest.approx(0.04, abs=0.005)


@pytest.mark.parametrize("a", [0.7, 0.9])
def test_mini_batch_training_follows_the_dataset_optimum_not_the_batch_one(a):
    """C = 3 classes of n = 8 instances, batches of k = 2 per class: the dataset's within-class
    variance after training is the dataset-level prediction (within 0.01), which differs from
    the per-batch one by more than 0.04."""
    d = dataset_optimum("paper", 3, 8, 2, balanced(3, 2), a, "0.5").within_class_variance
    b = global_optimum("paper", 3, 2, 2, a, "0.5").within_class_variance
    assert abs(d - b) > 0.04
    z, labels = train_minibatch("paper", a, 0.5, 3, 8, 2, balanced(3, 2), dim=48, steps=3000)
    measured = measured_variances(z, labels)["within"]
    assert measured == pytest.approx(d, abs=0.01)


def test_a_sampler_larger_than_the_dataset_is_refused():
    with pytest.raises(ValueError, match="need 2 <= k <= n"):
        dataset_optimum("paper", 3, 4, 2, balanced(3, 5), "0.4", "0.5")
    with pytest.raises(ValueError, match="need 2 <= m <= C"):
        dataset_optimum("paper", 3, 4, 2, balanced(4, 2), "0.4", "0.5")


def test_cli_optimum_with_a_dataset_gives_both_numbers(capsys):
    import json

    from ssem_symbolic.cli import main

    assert main(["optimum", "--loss", "paper", "--dataset", "3:8", "--sampler", "balanced:3:2",
                 "--alpha", "0.9", "--tau", "0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    d = dataset_optimum("paper", 3, 8, 2, balanced(3, 2), "0.9", "0.5")
    b = global_optimum("paper", 3, 2, 2, "0.9", "0.5")
    assert out["dataset"]["within_class_variance"] == d.within_class_variance
    assert out["per_batch"]["within_class_variance"] == b.within_class_variance
    for argv in (["--dataset", "3:8"], ["--dataset", "3:8", "--sampler", "balanced:3:9"]):
        status = main(["optimum", "--loss", "paper", "--alpha", "0.9", "--tau", "0.5", *argv])
        assert status == 2


def test_the_n_to_infinity_limit_is_approached_as_one_over_n():
    limit = dataset_optimum("supcon", 10, None, 2, balanced(4, 8), "0.5", "0.3")
    gaps = [abs(dataset_optimum("supcon", 10, n, 2, balanced(4, 8), "0.5", "0.3")
                .within_class_variance - limit.within_class_variance) for n in (1000, 100000)]
    assert gaps[1] < gaps[0] / 50 and gaps[1] < 1e-5


def test_mini_batch_training_with_a_subset_of_the_classes_per_batch():
    """C = 4 classes, batches of m = 2 classes x k = 3 of n = 6 instances."""
    d = dataset_optimum("paper", 4, 6, 2, balanced(2, 3), "0.7", "0.5").within_class_variance
    b = global_optimum("paper", 2, 3, 2, "0.7", "0.5").within_class_variance
    assert abs(d - b) > 0.04
    z, labels = train_minibatch("paper", 0.7, 0.5, 4, 6, 2, balanced(2, 3), dim=48, steps=3000)
    assert measured_variances(z, labels)["within"] == pytest.approx(d, abs=0.01)


def test_guide_with_a_dataset_gives_the_dataset_level_threshold(capsys):
    import json

    from ssem_symbolic.cli import main
    from ssem_symbolic.dataset import dataset_alpha_c

    assert main(["guide", "--loss", "paper", "--num-classes", "3", "--batch-size", "6",
                 "--instances-per-class", "8", "--tau", "0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["alpha_c"] == pytest.approx(float(alpha_c_value("paper", 3, 2, 2, "0.5")))
    data = out["alpha_c_dataset"]
    assert data == dataset_alpha_c("paper", 3, 8, 2, balanced(3, 2), "0.5")
    # collapsed on the dataset just below it, not just above
    below = dataset_optimum("paper", 3, 8, 2, balanced(3, 2), f"{data - 1e-6:.9f}", "0.5")
    above = dataset_optimum("paper", 3, 8, 2, balanced(3, 2), f"{data + 1e-6:.9f}", "0.5")
    assert "within-class" in below.active and "within-class" not in above.active


def test_the_class_count_law_of_a_uniform_batch_by_enumeration():
    """P(an anchor has j instances of its class in the batch), from every batch of B of the
    C n instances and every anchor in it."""
    import itertools
    from fractions import Fraction

    from ssem_symbolic.dataset import class_count_law

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
    from ssem_symbolic.dataset import uniform

    d = dataset_optimum("supcon", 3, 4, 2, uniform(12), "0.4", "0.5")
    b = global_optimum("supcon", 3, 4, 2, "0.4", "0.5")
    assert d.within_class_variance == pytest.approx(b.within_class_variance, abs=1e-14)
    assert d.active == b.active


def test_mini_batch_training_with_uniform_batches_follows_the_uniform_prediction():
    """supcon, C = 3 classes of n = 8, uniform batches of 6: the dataset's within-class
    variance after training is the uniform sampler's prediction (within 0.01), which differs
    from the class-balanced sampler's (k = 2 of each class) by more than 0.05."""
    from ssem_symbolic.dataset import uniform

    d = dataset_optimum("supcon", 3, 8, 2, uniform(6), "0.3", "0.5").within_class_variance
    other = dataset_optimum("supcon", 3, 8, 2, balanced(3, 2), "0.3", "0.5")
    assert abs(d - other.within_class_variance) > 0.05
    z, labels = train_minibatch("supcon", 0.3, 0.5, 3, 8, 2, uniform(6), dim=48, steps=3000)
    assert measured_variances(z, labels)["within"] == pytest.approx(d, abs=0.01)


def test_the_uniform_sampler_refuses_what_it_cannot_average_exactly():
    from ssem_symbolic.dataset import uniform

    with pytest.raises(ValueError, match="ratio of random sums"):
        dataset_optimum("paper", 3, 8, 2, uniform(6), "0.3", "0.5")
    with pytest.raises(ValueError, match="alone of its class"):
        dataset_optimum("supcon-split", 3, 8, 2, uniform(6), "0.3", "0.5")
    with pytest.raises(ValueError, match="need 2 <= B <= C n"):
        dataset_optimum("supcon", 3, 8, 2, uniform(25), "0.3", "0.5")


def test_guide_answers_a_batch_that_is_not_a_multiple_of_the_classes(capsys):
    import json

    from ssem_symbolic.cli import main
    from ssem_symbolic.dataset import uniform

    assert main(["guide", "--loss", "supcon", "--num-classes", "3", "--instances-per-class",
                 "8", "--batch-size", "5", "--tau", "0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    a = out["alpha_c_dataset"]
    below = dataset_optimum("supcon", 3, 8, 2, uniform(5), f"{a - 1e-5:.9f}", "0.5")
    above = dataset_optimum("supcon", 3, 8, 2, uniform(5), f"{a + 1e-5:.9f}", "0.5")
    assert "within-class" in below.active and "within-class" not in above.active


# Cho et al. (TMLR 2024): N = 8 instances with two views, batches of B = 2 instances. To the
# engine an instance with two views is a class of two one-view members: the one positive of a
# member is the other view, every view of another instance is a negative (SimCLR's NT-Xent,
# supcon-split at alpha = 0). Their published optimum: with all C(8, 2) batches, the full-batch
# one, a simplex of the 8 instances (similarity -1/7); with a fixed partition into 4 batches,
# the two instances of each batch antipodal (similarity -1).
CHO_PARTITION = [[(2 * b, 0), (2 * b, 1), (2 * b + 1, 0), (2 * b + 1, 1)] for b in range(4)]


def test_cho_all_subsets_reach_the_full_batch_simplex():
    from ssem_symbolic.dataset import balanced

    every = dataset_optimum("supcon-split", 8, 2, 1, balanced(2, 2), 0, 1)
    full = global_optimum("supcon-split", 8, 2, 1, 0, 1)
    assert every.other == pytest.approx(-1 / 7, abs=1e-15)
    assert every.class_ == pytest.approx(1, abs=1e-15)
    assert (every.other, every.class_, every.active) == (full.other, full.class_, full.active)


def test_cho_a_fixed_partition_does_not():
    from ssem_symbolic.dataset import fixed_partition

    opt = dataset_optimum("supcon-split", 8, 2, 1, fixed_partition(CHO_PARTITION), 0, 1)
    [(sizes, count, block)] = opt.blocks
    assert (sizes, count) == ((2, 2), 4)
    assert block.other == pytest.approx(-1, abs=1e-15)
    assert block.class_ == pytest.approx(1, abs=1e-15)
    assert not opt.unique and opt.as_dict()["instances_in_no_batch"] == 0


@pytest.mark.parametrize("partition", [False, True])
def test_cho_training_follows_the_sampler(partition):
    """Free embeddings trained pass by pass: all subsets give every pair of instances -1/7,
    the fixed partition gives the pairs that share a batch -1 (within 0.01)."""
    import torch

    from ssem_symbolic.dataset import balanced, fixed_partition

    smp = fixed_partition(CHO_PARTITION) if partition else balanced(2, 2)
    z, _ = train_minibatch("supcon-split", 0.0, 1.0, 8, 2, 1, smp, dim=16, steps=3000)
    mu = torch.nn.functional.normalize(z[:, 0].reshape(8, 2, -1).mean(1), dim=-1)
    sim = mu @ mu.T
    assert (z[:, 0].reshape(8, 2, -1).prod(1).sum(-1) > 0.999).all()  # both views together
    if partition:
        assert all(sim[2 * b, 2 * b + 1] == pytest.approx(-1, abs=0.01) for b in range(4))
    else:
        off = sim[~torch.eye(8, dtype=torch.bool)]
        assert (off + 1 / 7).abs().max() < 0.01


def test_all_subsets_is_the_uniform_law():
    from ssem_symbolic.dataset import all_subsets, uniform

    a = dataset_optimum("supcon", 3, 3, 2, all_subsets(4), "0.3", "0.5")
    b = dataset_optimum("supcon", 3, 3, 2, uniform(4), "0.3", "0.5")
    assert a == b


def test_a_partition_that_is_not_disjoint_is_refused():
    from ssem_symbolic.dataset import fixed_partition

    with pytest.raises(ValueError, match="not disjoint"):
        dataset_optimum("supcon", 3, 2, 2, fixed_partition([[(0, 0), (1, 0)], [(0, 0), (2, 1)]]),
                        "0.3", "0.5")
    with pytest.raises(ValueError, match="outside the dataset"):
        dataset_optimum("supcon", 3, 2, 2, fixed_partition([[(0, 0), (3, 0)]]), "0.3", "0.5")
