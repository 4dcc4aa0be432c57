"""SupCLLoss with a temperature per pair type: value and gradient against the per-pair
references of tests/helpers (each pair's logit s_ab / (ratio x tau))."""

import pytest
import torch

from helpers.references import from_embeddings, loss_of_embeddings, torch_batch_loss
from ssem_symbolic.loss import SupCLLoss, supcl_loss
from ssem_symbolic.spec import LossSpec

LABELS = torch.tensor([0, 0, 1, 1, 1, 2, 2])  # unequal classes: every pair type, odd counts


def _z(seed=0):
    return torch.randn(7, 2, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


SPECS = {
    "supcon": LossSpec("t1", ["view", "class", "other"], ["view", "class"], ["view"], "anchors",
                       temperatures={"other": "1/2", "class": "3/2"}),
    "self-in-denominator": LossSpec("t2", ["self", "view", "class", "other"], ["class"],
                                    ["view"], "anchors", temperatures={"class": "1/3"}),
    "per-term": LossSpec("t3", {"sup": ["view", "class", "other"], "self": ["view", "class"]},
                         ["view", "class"], ["view"], "anchors", temperatures={"view": 2}),
    "pair-weights": LossSpec("t4", ["view", "class", "other"], ["view", "class"], ["view"],
                             "anchors", pair_weights={"denominator": {"other": "1/2"}},
                             temperatures={"other": "1/4"}),
}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_value_is_the_per_pair_loss(name):
    spec = SPECS[name]
    z = _z()
    for alpha, tau in ((0.0, 0.5), (0.4, 0.2), (1.0, 1.3)):
        got = float(SupCLLoss(alpha, tau, spec)(z, LABELS))
        assert got == pytest.approx(loss_of_embeddings(z, LABELS, alpha, tau, spec), abs=1e-12)
    plain = LossSpec("p", spec.denominator, spec.sup, spec.self_, "anchors",
                     pair_weights=spec.pair_weights)
    assert float(SupCLLoss(0.4, 0.2, spec)(z, LABELS)) != pytest.approx(
        float(SupCLLoss(0.4, 0.2, plain)(z, LABELS)), abs=1e-3)


@pytest.mark.parametrize("name", ["supcon", "self-in-denominator"])
def test_the_gradient_is_the_per_pair_gradient(name):
    """d loss / d z from SupCLLoss against autograd through the torch per-pair reference
    (unit pair weights), to 1e-10; configurations batched along a leading dimension too."""
    spec = SPECS[name]
    z = _z(1).requires_grad_(True)
    loss = SupCLLoss(0.3, 0.4, spec)(z, LABELS)
    (got,) = torch.autograd.grad(loss, z)
    zz = z.detach().clone().requires_grad_(True)
    kinds, _ = from_embeddings(zz.detach(), LABELS)
    x = torch.nn.functional.normalize(zz.reshape(14, 5), dim=-1)
    ref = torch_batch_loss(spec, kinds, x @ x.T, 0.3, 0.4)
    (want,) = torch.autograd.grad(ref, zz)
    assert float(loss.detach()) == pytest.approx(float(ref.detach()), abs=1e-12)
    assert torch.allclose(got, want, rtol=0, atol=1e-10)
    both = torch.stack([z.detach(), _z(2)])
    out = supcl_loss(both, LABELS, torch.tensor([0.3, 0.6], dtype=torch.float64),
                     torch.tensor([0.4, 0.9], dtype=torch.float64), spec)
    assert float(out[1]) == pytest.approx(loss_of_embeddings(_z(2), LABELS, 0.6, 0.9, spec),
                                          abs=1e-12)


def test_tiled_mode_takes_one_temperature():
    with pytest.raises(ValueError, match="tiled mode"):
        supcl_loss(_z(), LABELS, 0.3, 0.4, SPECS["supcon"], chunk_size=4)
