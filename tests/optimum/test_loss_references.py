"""The reference values of ``ssem explain`` against the explicit embeddings they name: each
value equals the per-pair loss (tests/helpers/references.py) of a Gram matrix built here; the
class-collapse arrangement is no worse than free class points optimised by L-BFGS; the floor
equals brute force over free unit vectors; the random value equals a Monte-Carlo mean."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from helpers.brute import best_of_seeds
from helpers.references import batch_loss, kinds_of
from ssem_symbolic.optimum import references
from ssem_symbolic.setting import Batch, Dataset, balanced, uniform
from ssem_symbolic.spec import get_spec

torch.set_num_threads(1)


def _labels(sizes, views):
    inst = [i for i, _ in enumerate(lab for c, k in enumerate(sizes) for lab in [c] * k)
            for _ in range(views)]
    per_instance = [c for c, k in enumerate(sizes) for _ in range(k)]
    return inst, [per_instance[i] for i in inst]


def _loss_at(spec, sizes, views, alpha, tau, class_gram):
    """The per-pair loss of the batch whose embeddings sit at their class's point, the class
    points with Gram matrix ``class_gram`` (so within a class every similarity is 1)."""
    inst, lab = _labels(sizes, views)
    kinds = kinds_of(inst, lab)
    sims = [[float(class_gram[a][b]) for b in lab] for a in lab]
    return batch_loss(spec, kinds, sims, alpha, tau)


def _identity_loss(spec, sizes, views, alpha, tau):
    inst, lab = _labels(sizes, views)
    M = len(inst)
    return batch_loss(spec, kinds_of(inst, lab), [[1.0 if a == b else 0.0 for b in range(M)]
                                                  for a in range(M)], alpha, tau)


def _class_gram(refs, sizes):
    """The class points' Gram matrix the class-collapse reference reports (o[g,h] between
    classes of size groups g and h)."""
    geometry = refs["class-collapse"].geometry
    groups = [K for K, _ in refs.setting.sizes.groups]
    g = [groups.index(k) for k in sizes]
    m = len(sizes)
    return [[1.0 if i == j else geometry[f"o[{min(g[i], g[j])},{max(g[i], g[j])}]"]
             for j in range(m)] for i in range(m)]


CASES = [("supcon", (4, 4, 4), 2, 0.3, 0.5), ("paper", (3, 2, 2), 2, 0.6, 0.2),
         ("supcon-split", (5, 3, 2), 2, 0.2, 0.3), ("dcl", (3, 3, 2, 2), 3, 0.5, 0.3),
         ("spread", (2, 2, 1), 2, 0.4, 0.7), ("siglip", (3, 2, 2), 2, 0.5, 0.1),
         ("supcontrast", (4, 2, 1), 2, 0.0, 0.4)]


@pytest.mark.parametrize("name, sizes, views, alpha, tau", CASES)
def test_each_reference_is_the_loss_of_the_embedding_it_names(name, sizes, views, alpha, tau):
    spec = get_spec(name)
    scale = float(spec.scale_at(tau))
    refs = references(spec, Batch(sizes, views), alpha, tau)
    m = len(sizes)
    ones = [[1.0] * m for _ in range(m)]
    assert refs["complete-collapse"].value == pytest.approx(
        scale * _loss_at(spec, sizes, views, alpha, tau, ones), rel=1e-12)
    assert refs["random"].value == pytest.approx(
        scale * _identity_loss(spec, sizes, views, alpha, tau), rel=1e-12)
    gram = _class_gram(refs, sizes)
    assert np.linalg.eigvalsh(np.array(gram)).min() > -1e-9  # class points on the sphere
    assert refs["class-collapse"].value == pytest.approx(
        scale * _loss_at(spec, sizes, views, alpha, tau, gram), rel=1e-11)
    assert refs["floor"].value <= refs["class-collapse"].value + 1e-9
    assert refs["floor"].value <= refs["complete-collapse"].value + 1e-9


def _free_class_points(spec, sizes, views, alpha, tau, seed):
    """The class-collapsed loss minimised over free class points (L-BFGS on m unit vectors in
    R^m), evaluated with the per-pair reference at the end."""
    m = len(sizes)
    gen = torch.Generator().manual_seed(seed)
    u = torch.randn(m, m, generator=gen, dtype=torch.float64, requires_grad=True)
    _, lab = _labels(sizes, views)
    index = torch.tensor(lab)
    opt = torch.optim.LBFGS([u], max_iter=500, tolerance_grad=1e-13, tolerance_change=1e-15,
                            line_search_fn="strong_wolfe")
    from ssem_symbolic.loss import supcl_loss

    labels = torch.tensor([c for c, k in enumerate(sizes) for _ in range(k)])

    def closure():
        opt.zero_grad()
        x = torch.nn.functional.normalize(u, dim=-1)[index].reshape(len(labels), views, m)
        loss = supcl_loss(x, labels, alpha, tau, spec)
        loss.backward()
        return loss
    for _ in range(3):
        opt.step(closure)
    x = torch.nn.functional.normalize(u.detach(), dim=-1)
    return _loss_at(spec, sizes, views, alpha, tau, (x @ x.T).tolist())


@pytest.mark.parametrize("name, sizes, views, alpha, tau",
                         [c for c in CASES if c[0] not in ("supcontrast",)][:5])
def test_the_class_arrangement_is_no_worse_than_free_class_points(name, sizes, views, alpha,
                                                                  tau):
    spec = get_spec(name)
    refs = references(spec, Batch(sizes, views), alpha, tau)
    best = min(_free_class_points(spec, sizes, views, alpha, tau, s) for s in (0, 1))
    assert refs["class-collapse"].value <= best + 1e-9
    assert refs["class-collapse"].value == pytest.approx(best, abs=1e-6)


def test_equal_classes_collapse_onto_a_simplex():
    refs = references("supcon", Batch.balanced(5, 3, 2), "0.3", "0.5")
    assert refs["class-collapse"].geometry["o[0,0]"] == pytest.approx(-1 / 4, abs=1e-9)


def test_a_scale_multiplies_every_reference():
    a = references("supcontrast", Batch((4, 2, 2), 2), "0.3", "0.5", dim=4)
    b = references("supcon", Batch((4, 2, 2), 2), "0.3", "0.5", dim=4)
    for x, y in zip(a.items, b.items):
        assert x.name == y.name and x.value == pytest.approx(y.value * 0.5 / 0.07, rel=1e-10)


@pytest.mark.parametrize("name, sizes, d, alpha, tau", [
    ("supcon", (4, 4, 4), 3, 0.3, 0.1), ("paper", (4, 2, 2), 5, 0.5, 0.2),
    ("siglip", (3, 3), 4, 0.5, 0.1), ("dcl", (3, 3, 2), 16, 0.7, 0.05),
    ("spread", (2, 3), 2, 0.4, 0.3)])
def test_the_random_value_in_dimension_d_is_the_monte_carlo_mean(name, sizes, d, alpha, tau):
    from ssem_symbolic.loss import supcl_loss

    ref = references(name, Batch(sizes, 2), alpha, tau, dim=d)["random-d"]
    assert ref.error < 1e-8
    gen = torch.Generator().manual_seed(11)
    labels = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    values = torch.cat([supcl_loss(torch.randn(10000, len(labels), 2, d, generator=gen,
                                               dtype=torch.float64), labels, alpha, tau, name)
                        for _ in range(4)])
    sigma = values.std().item() / math.sqrt(len(values))
    assert abs(values.mean().item() - ref.value) <= 4 * sigma + ref.error


def test_the_random_value_tends_to_the_identity_gram_as_d_grows():
    refs = references("supcon-split", Batch((3, 2), 2), "0.4", "0.5", dim=20000)
    assert refs["random-d"].value == pytest.approx(refs["random"].value, abs=1e-3)
    assert refs["random-d"].value > refs["random"].value  # Jensen: spread raises log-sum-exp


COMPOSITIONS = [("supcon", (2, 2), "0.3", "0.5"), ("supcon", (3, 2), "0.5", "0.3"),
                ("supcon", (2, 2, 2), "0.1", "0.5"), ("paper", (3, 2), "0.5", "0.5"),
                ("paper", (3, 3, 2), "0.7", "0.4"), ("supcon-split", (3, 2, 2), "0.2", "0.5"),
                ("supcon-split", (2, 2), "0.8", "0.3"), ("dcl", (3, 2), "0.4", "0.5"),
                ("supcon", (4, 1, 1), "0.5", "0.5"), ("spread", (2, 2, 2), "0.6", "0.5"),
                ("supcontrast", (3, 2, 1), "0.3", "0.4")]


@pytest.mark.slow
@pytest.mark.parametrize("name, sizes, alpha, tau", COMPOSITIONS)
def test_the_floor_is_brute_force_over_free_unit_vectors(name, sizes, alpha, tau):
    spec = get_spec(name)
    refs = references(spec, Batch(sizes, 2), alpha, tau)
    plain = spec if spec.scale == 1 else get_spec("supcon")
    brute = best_of_seeds(plain, sizes, alpha, tau)
    scale = float(spec.scale_at(tau))
    assert refs["floor"].value == pytest.approx(scale * brute.loss, abs=1e-6)
    assert refs["floor"].value <= scale * brute.loss + 1e-8


def test_the_dataset_floor_and_the_batch_references_under_a_balanced_sampler():
    data = Dataset(10, 100, 2, balanced(5, 4))
    refs = references("supcon", data, "0.3", "0.5")
    batch = references("supcon", Batch.balanced(5, 4, 2), "0.3", "0.5")
    assert refs.floor.name == "dataset-floor"
    assert refs["floor"].value == batch["floor"].value
    assert refs["dataset-floor"].value >= batch["floor"].value
    # class collapse with the dataset's 10 class points: a simplex in 10, seen 5 at a time
    o = -1 / 9
    gram = [[1.0 if i == j else o for j in range(5)] for i in range(5)]
    want = _loss_at(get_spec("supcon"), (4,) * 5, 2, 0.3, 0.5, gram)
    assert refs["class-collapse"].value == pytest.approx(want, rel=1e-10)
    assert refs["dataset-floor"].value <= refs["class-collapse"].value + 1e-9


def test_under_a_uniform_sampler_the_references_are_expectations_over_its_batches():
    """supcon at complete collapse or at random (d -> oo): log(M - 1) for every batch of M
    embeddings, whatever its composition; the class collapse never below the dataset floor."""
    refs = references("supcon", Dataset(10, 100, 2, uniform(32)), "0.3", "0.5")
    assert refs["complete-collapse"].value == pytest.approx(math.log(63), rel=1e-12)
    assert refs["random"].value == pytest.approx(math.log(63), rel=1e-12)
    assert refs["dataset-floor"].value <= refs["class-collapse"].value + 1e-9


def test_too_many_class_sizes_for_the_solver_give_every_reference_but_the_floor():
    sizes = tuple(range(1, 12))
    refs = references("supcon", Batch(sizes, 2), "0.3", "0.5")
    assert "floor" not in refs and refs.floor is None
    assert any("distinct class sizes" in n for n in refs.notes)
    assert refs["class-collapse"].value < refs["complete-collapse"].value


@pytest.mark.parametrize("bad, match", [({"alpha": "1.5"}, "alpha"), ({"dim": 1}, "dimension"),
                                        ({"tau": "-1"}, "tau")])
def test_bad_input_is_one_line(bad, match):
    kw = {"alpha": "0.3", "tau": "0.5", "dim": None} | bad
    with pytest.raises(ValueError, match=match):
        references("supcon", Batch.balanced(2, 2, 2), kw["alpha"], kw["tau"], dim=kw["dim"])
