"""A hierarchy of labels (superclasses of classes) and a loss summed over label levels (the
spec's ``levels``): the polyhedron against the eigenvalues of explicit Gram matrices, the exact
optimum and its boundaries against brute force over free unit vectors on a per-pair loss
written in the tests (tests/helpers/references.py), and the refusals."""

import numpy as np
import pytest
import torch

from helpers.references import free_minimum, level_kinds, torch_level_loss
from ssem_symbolic.optimum import optimum, regimes, threshold
from ssem_symbolic.setting import Batch, Dataset, Hierarchy, balanced, hierarchy_polyhedron
from ssem_symbolic.spec import LossSpec, UnsupportedConvention, get_spec, load_spec

SUPCON = dict(denominator=["view", "class", "other"], sup=["view", "class"], self_=["view"],
              mean="anchors")


def _levels(weight) -> LossSpec:
    return LossSpec("h", **SUPCON, levels={"superclass": weight})


def _labels(h: Hierarchy):
    """Instance, class and superclass of each embedding, instance-major."""
    S, m, k, p = h.shape
    inst = [i for i in range(S * m * k) for _ in range(p)]
    cls = [i // k for i in inst]
    return inst, cls, [c // m for c in cls]


def _gram(h: Hierarchy, v, c, u, o) -> np.ndarray:
    inst, cls, sup = _labels(h)
    M = len(inst)
    return np.array([[1.0 if a == b else v if inst[a] == inst[b] else c if cls[a] == cls[b]
                      else u if sup[a] == sup[b] else o for b in range(M)] for a in range(M)])


@pytest.mark.parametrize("shape", [(2, 2, 2, 2), (3, 2, 1, 2), (2, 3, 2, 1), (2, 2, 3, 3)])
def test_the_polyhedron_is_the_spectrum_of_explicit_gram_matrices(shape):
    h = Hierarchy(*shape)
    P = hierarchy_polyhedron(*shape)
    rng = np.random.default_rng(7)
    for _ in range(5):
        x = {"view": rng.uniform(-1, 1), "class": rng.uniform(-1, 1),
             "superclass": rng.uniform(-1, 1), "other": rng.uniform(-1, 1)}
        if h.views == 1:
            x["view"] = 1.0
        if h.per_class == 1:
            x["class"] = 1.0
        G = _gram(h, x["view"], x["class"], x["superclass"], x["other"])
        want = np.sort(np.linalg.eigvalsh(G))
        lam = [float(e) for e in P.eigenvalues([x[c] for c in P.coords])]
        got = np.sort(np.repeat(lam, P.multiplicity))
        assert len(got) == len(want) and np.allclose(got, want, atol=1e-10)


def test_the_field_is_data_canonical_and_read_from_a_file(tmp_path):
    spec = _levels("0.5")
    assert spec.levels == (("class", 1), ("superclass", spec.level_weight("superclass")))
    assert str(spec.level_weight("superclass")) == "1/2"
    assert spec.key().endswith("|levels:class=1;superclass=1/2")
    assert spec != LossSpec("u", **SUPCON) and LossSpec("u", **SUPCON).levels == ()
    path = tmp_path / "h.toml"
    path.write_text('mean = "anchors"\ndenominator = ["view", "class", "other"]\n'
                    'sup = ["view", "class"]\nself = ["view"]\nlevels = { superclass = "1/2" }\n')
    assert load_spec(path) == spec


@pytest.mark.parametrize("levels, message", [
    ({"genus": 1}, "levels take class, superclass"), ({"superclass": -1}, ">= 0"),
    ({"superclass": 0}, "superclass weight > 0"), ({"superclass": "x"}, "must be a number")])
def test_bad_levels_are_one_line_refusals(levels, message):
    with pytest.raises(UnsupportedConvention, match=message):
        LossSpec("h", **SUPCON, levels=levels)
    with pytest.raises(UnsupportedConvention, match="softmax form"):
        LossSpec("s", ["view", "class", "other"], ["view", "class"], ["view"], "anchors",
                 form="sigmoid", levels={"superclass": 1})


def test_a_flat_loss_on_a_hierarchy_is_the_flat_optimum_of_its_classes():
    """A spec without levels cannot tell superclasses apart: the hierarchy's optimum is the
    flat batch's of S m classes, with u = o."""
    for spec, a, t in (("supcon", "0.5", "0.5"), ("paper", "0.05", "0.5"),
                       ("supcon-split", "0.3", "0.3")):
        flat = optimum(spec, Batch.balanced(4, 2, 2), a, t)
        hier = optimum(spec, Hierarchy(2, 2, 2), a, t)
        assert hier.loss_value == pytest.approx(flat.loss_value, abs=1e-12)
        assert hier.other == pytest.approx(flat.other, abs=1e-12)
        assert hier.hierarchy["superclass_similarity"] == pytest.approx(flat.other, abs=1e-12)
        assert hier.class_ == pytest.approx(flat.class_, abs=1e-12)


def test_levels_need_a_hierarchy_and_the_one_level_layers_refuse():
    spec = _levels(1)
    for call in (lambda: optimum(spec, Batch.balanced(3, 2), "0.5", "0.5"),
                 lambda: regimes(spec, Batch.balanced(3, 2), tau="0.5"),
                 lambda: threshold(spec, Batch.balanced(3, 2), tau="0.5"),
                 lambda: optimum(spec, Dataset(4, 4, 2, balanced(2, 2)), "0.5", "0.5")):
        with pytest.raises(ValueError, match="label levels"):
            call()
    with pytest.raises(UnsupportedConvention, match="label levels"):
        spec.softmax("the closed forms")
    with pytest.raises(ValueError, match="hard negatives"):
        optimum(load_spec("examples/data/hcl.toml"), Hierarchy(2, 2, 2), "0.5", "0.5")
    with pytest.raises(ValueError, match="superclasses S must be >= 2"):
        Hierarchy(1, 2, 2)
    with pytest.raises(ValueError, match="not balanced"):
        Hierarchy.from_labels([("a", 1), ("a", 2), ("b", 3)])


@pytest.mark.slow
def test_threshold_per_level_reads_the_regime_scan():
    """tau 2, lambda 1: superclasses collapse below one alpha, classes below a larger one;
    both are boundaries of the regime scan, and the optimum on each side says so."""
    h, spec = Hierarchy(2, 2, 2), _levels(1)
    th = threshold(spec, h, tau=2).as_dict()
    sup, cls = th["levels"]["superclass"]["changes"][0], th["levels"]["class"]["changes"][0]
    assert th["alpha_c"] == cls and 0 < sup < cls < 1
    for a, want in ((sup - 1e-6, (True, True)), (sup + 1e-6, (True, False)),
                    (cls - 1e-6, (True, False)), (cls + 1e-6, (False, False))):
        levels = optimum(spec, h, a, 2).hierarchy["collapse"]
        assert (levels["class"], levels["superclass"]) == want


def _brute(spec, h, alpha, tau):
    inst, cls, sup = _labels(h)
    kinds = level_kinds(inst, cls, sup)
    loss, X = free_minimum(lambda S: torch_level_loss(spec, kinds, S, alpha, tau), len(inst))
    S = X @ X.T
    i = torch.tensor(inst)
    c, s = torch.tensor(cls), torch.tensor(sup)
    masks = {"view": (i[:, None] == i) & ~torch.eye(len(inst), dtype=bool),
             "class": (c[:, None] == c) & (i[:, None] != i),
             "superclass": (s[:, None] == s) & (c[:, None] != c), "other": s[:, None] != s}
    sims = {t: float(S[mask].mean()) for t, mask in masks.items() if mask.any()}
    return loss, sims


#: (spec, hierarchy, alpha, tau): on both sides of every boundary the scans report
#: (lambda 1 at tau 2: superclass collapse below 0.1981, class collapse below 0.8613; at
#: tau 0.5: class collapse below 0.1923), a flat spec, the paper's pairs with levels, one
#: instance per class and one view
POINTS = [
    ("l1", (2, 2, 2, 2), "0.1", "2"), ("l1", (2, 2, 2, 2), "0.5", "2"),
    ("l1", (2, 2, 2, 2), "0.95", "2"), ("l1", (2, 2, 2, 2), "0.1", "0.5"),
    ("l1", (2, 2, 2, 2), "0.3", "0.5"), ("supcon", (2, 2, 2, 2), "0.2", "0.5"),
    ("l3", (2, 2, 2, 2), "0.5", "1"), ("paper-l", (2, 2, 2, 2), "0.3", "1"),
    ("l1", (3, 2, 1, 2), "0.5", "1"), ("l1", (2, 2, 3, 1), "0", "1"),
]


def _named(name):
    return {"l1": _levels(1), "l3": _levels(3), "supcon": get_spec("supcon"),
            "paper-l": LossSpec("pl", ["self", "view", "class", "other"], ["class"],
                                ["self", "view"], "anchors", levels={"superclass": 1})}[name]


@pytest.mark.slow
@pytest.mark.parametrize("name, shape, alpha, tau", POINTS)
def test_brute_force_reaches_the_optimum_and_never_beats_it(name, shape, alpha, tau):
    spec, h = _named(name), Hierarchy(*shape)
    opt = optimum(spec, h, alpha, tau)
    loss, sims = _brute(spec, h, float(alpha), float(tau))
    assert loss >= opt.loss_value - 1e-9
    assert loss == pytest.approx(opt.loss_value, abs=1e-6)
    want = {"view": opt.view, "class": opt.class_,
            "superclass": opt.hierarchy["superclass_similarity"], "other": opt.other}
    for t, value in sims.items():
        assert value == pytest.approx(want[t], abs=1e-3), t
