"""SupCLLoss and supcl_loss with a cross-modal spec (CLIP, SigLIP) on image-text pairs
(features (N, 2, d): view 0 the images, view 1 the texts): against CLIP's symmetric
cross-entropy and SigLIP's pairwise log-sigmoid written out as their papers' pseudo-code gives
them, and against the per-pair reference (tests/helpers/references.py) with labels, pair
temperatures and the pairs mean."""

import pytest
import torch

from helpers.references import kinds_of, torch_paired_loss
from ssem_symbolic.loss import SupCLLoss, supcl_loss
from ssem_symbolic.spec import LossSpec

PAIRS = dict(denominator=["view", "class", "other"], sup=["view", "class"], self_=["view"],
             mean="anchors")
CLIP = LossSpec("clip", **PAIRS, contrast="cross-modal")


def _z(seed, n=6, d=5):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, d, dtype=torch.float64, generator=g, requires_grad=True)


@pytest.mark.parametrize("tau", [0.07, 0.5, 2.0])
def test_clip_is_the_symmetric_cross_entropy(tau):
    z = _z(1)
    u, v = (torch.nn.functional.normalize(z[:, i], dim=1) for i in (0, 1))
    logits, target = u @ v.T / tau, torch.arange(z.shape[0])
    want = (torch.nn.functional.cross_entropy(logits, target)
            + torch.nn.functional.cross_entropy(logits.T, target)) / 2
    got = SupCLLoss(1.0, tau, CLIP)(z)
    assert float(got) == pytest.approx(float(want), abs=1e-12)
    g1, = torch.autograd.grad(got, z)
    g2, = torch.autograd.grad(want, z)
    assert float((g1 - g2).abs().max()) < 1e-12


@pytest.mark.parametrize("t, b", [(10.0, -10.0), (1.0, 1.0), (3.0, 0.0)])
def test_siglip_is_the_pairwise_log_sigmoid(t, b):
    """SigLIP's pseudo-code: -sum(log_sigmoid(labels * (t u.v + b))) / n over the n^2 pairs,
    labels +1 on the diagonal: the sigmoid form at tau = 1/t with bias b."""
    z = _z(2)
    u, v = (torch.nn.functional.normalize(z[:, i], dim=1) for i in (0, 1))
    n = z.shape[0]
    labels = 2 * torch.eye(n, dtype=z.dtype) - 1
    want = -torch.nn.functional.logsigmoid(labels * (t * u @ v.T + b)).sum() / n
    spec = LossSpec("siglip", **PAIRS, form="sigmoid", bias=b, contrast="cross-modal")
    got = supcl_loss(z, None, 1.0, 1 / t, spec)
    assert float(got) == pytest.approx(float(want), abs=1e-12)


SPECS = {
    "clip": CLIP,
    "siglip": LossSpec("siglip", **PAIRS, form="sigmoid", bias=-3, contrast="cross-modal"),
    "clip-pairs": LossSpec("cp", **dict(PAIRS, mean="pairs"), contrast="cross-modal"),
    "sharp": LossSpec("sharp", **PAIRS, contrast="cross-modal", temperatures={"other": "1/2"}),
}


@pytest.mark.parametrize("name", SPECS)
@pytest.mark.parametrize("alpha", [0.0, 0.4, 1.0])
def test_with_labels_value_and_gradient_match_the_per_pair_reference(name, alpha):
    spec, tau = SPECS[name], 0.3
    z = _z(3)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    n, _, d = z.shape
    inst = [i for i in range(n) for _ in range(2)]
    mod = [j % 2 for j in range(2 * n)]
    kinds = kinds_of(inst, [int(labels[i]) for i in inst])
    cross = [[a != b for b in mod] for a in mod]
    x = torch.nn.functional.normalize(z.reshape(2 * n, d), dim=1)
    got = SupCLLoss(alpha, tau, spec)(z, labels)
    want = _reference(spec, kinds, cross, x @ x.T, alpha, tau)
    assert float(got) == pytest.approx(float(want), abs=1e-12)
    g1, = torch.autograd.grad(got, z)
    g2, = torch.autograd.grad(want, z)
    assert float((g1 - g2).abs().max()) < 1e-10


def _reference(spec, kinds, cross, sims, alpha, tau):
    """torch_paired_loss, with the pairs mean and per-type temperatures written here: the
    pairs mean weighs each anchor by its positives; a pair type's logit is s/(r tau)."""
    if spec.mean == "anchors" and not spec.temperatures:
        return torch_paired_loss(spec, kinds, cross, sims, alpha, tau)
    ratio = {t: float(r) for t, r in spec.temperatures}
    scaled = sims / torch.tensor([[ratio.get(t, 1.0) for t in row] for row in kinds],
                                 dtype=sims.dtype)
    seen = torch.tensor(cross)
    total = 0.0
    for i, term in enumerate(("sup", "self")):
        w0, w1 = (float(x) for x in spec.weights[i])
        den = torch.tensor([[t in spec.denominator_of(term) for t in row] for row in kinds]) & seen
        pos = torch.tensor([[t in spec.positives(term) for t in row] for row in kinds]) & seen
        log_den = torch.logsumexp((scaled / tau).masked_fill(~den, float("-inf")), 1, True)
        per_pair = (log_den - scaled / tau).masked_fill(~pos, 0.0)
        if spec.mean == "pairs":
            value = per_pair.sum() / pos.sum()
        else:
            has = pos.any(1)
            value = (per_pair.sum(1)[has] / pos.sum(1)[has]).mean()
        total = total + (w0 + w1 * alpha) * value
    return total


def test_refusals_are_one_line():
    z = _z(4)
    with pytest.raises(ValueError, match=r"\(N, 2, d\)"):
        SupCLLoss(1.0, 0.5, CLIP)(torch.randn(4, 3, 5))
    with pytest.raises(ValueError, match="no anchor has a positive"):
        split = LossSpec("s", ["view", "class", "other"], ["class"], ["view"], "anchors",
                         contrast="cross-modal")
        SupCLLoss(0.0, 0.5, split)(z, torch.arange(6))
