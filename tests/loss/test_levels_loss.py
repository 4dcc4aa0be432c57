"""SupCLLoss with label levels (the spec's ``levels`` and ``superclasses=``): value and
gradient against the per-pair reference written in the tests (tests/helpers/references.py),
both layouts, and one-line refusals."""

import pytest
import torch

from helpers.references import level_kinds, torch_level_loss
from ssem_symbolic.loss import SupCLLoss, supcl_loss
from ssem_symbolic.spec import LossSpec, load_spec

SPECS = {
    "two-level": load_spec("examples/data/two-level.toml"),
    "half": LossSpec("half", ["view", "class", "other"], ["view", "class"], ["view"],
                     "anchors", levels={"class": "2", "superclass": "1/2"}),
    "split": LossSpec("split", ["view", "class", "other"], ["class"], ["view"], "anchors",
                      levels={"superclass": 3}),
    "coarse-only": LossSpec("coarse", ["view", "class", "other"], ["view", "class"], ["view"],
                            "anchors", levels={"class": 0, "superclass": 1}),
}


def _batch(seed: int, n: int = 12, p: int = 2, d: int = 6):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, p, d, dtype=torch.float64, generator=g, requires_grad=True)
    labels = torch.arange(n) % 6  # six classes of two, three superclasses of two classes
    return z, labels, labels // 2


@pytest.mark.parametrize("name", SPECS)
@pytest.mark.parametrize("alpha, tau", [(0.0, 0.1), (0.3, 0.5), (1.0, 1.0), (0.7, 2.0)])
def test_value_and_gradient_match_the_per_pair_reference(name, alpha, tau):
    spec = SPECS[name]
    z, labels, supers = _batch(int(10 * alpha + tau))
    loss = SupCLLoss(alpha, tau, spec)(z, labels, superclasses=supers)
    n, p, d = z.shape
    inst = [i for i in range(n) for _ in range(p)]
    x = torch.nn.functional.normalize(z.reshape(n * p, d), dim=1)
    kinds = level_kinds(inst, [int(labels[i]) for i in inst], [int(supers[i]) for i in inst])
    ref = torch_level_loss(spec, kinds, x @ x.T, alpha, tau)
    assert float(loss) == pytest.approx(float(ref), abs=1e-12)
    got, = torch.autograd.grad(loss, z)
    want, = torch.autograd.grad(ref, z)
    assert float((got - want).abs().max()) < 1e-10


def test_both_layouts_and_the_functional_form_agree():
    spec = SPECS["half"]
    z, labels, supers = _batch(3)
    one = SupCLLoss(0.4, 0.3, spec)(z, labels, superclasses=supers)
    p = z.shape[1]
    rows = z.transpose(0, 1).reshape(-1, z.shape[-1])  # view-major rows
    two = SupCLLoss(0.4, 0.3, spec)(rows, labels.repeat(p), n_views=p,
                                    superclasses=supers.repeat(p))
    three = supcl_loss(z, labels, 0.4, 0.3, spec, superclasses=supers)
    assert float(one) == pytest.approx(float(two), abs=1e-13)
    assert float(one) == pytest.approx(float(three), abs=1e-13)


def test_refusals_are_one_line():
    z, labels, supers = _batch(0)
    with pytest.raises(ValueError, match="pass labels and superclasses="):
        SupCLLoss(0.3, 0.5, SPECS["two-level"])(z, labels)
    with pytest.raises(ValueError, match="has one level"):
        SupCLLoss(0.3, 0.5, "supcon")(z, labels, superclasses=supers)
    bad = supers.clone()
    bad[0] = 2  # class 0 now lies in superclasses 0 and 2
    with pytest.raises(ValueError, match="lies in two superclasses"):
        SupCLLoss(0.3, 0.5, SPECS["two-level"])(z, labels, superclasses=bad)
    with pytest.raises(ValueError, match="pass superclasses="):
        supcl_loss(z, labels, 0.3, 0.5, SPECS["two-level"])
