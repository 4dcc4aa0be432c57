"""SupCLLoss with a learnable temperature (CLIP's logit scale, clamped): its value and its
gradients (features and logit_scale) against the per-pair reference of tests/helpers, the
clamp, and training that drives tau to the clamp as the joint optimum predicts."""

import math

import pytest
import torch

from helpers.references import kinds_of, torch_batch_loss
from ssem_symbolic.loss import SupCLLoss
from ssem_symbolic.optimum import optimum
from ssem_symbolic.setting import Batch
from ssem_symbolic.spec import get_spec
from ssem_symbolic.vocab import Learnable


def _reference(name, z, labels, alpha, log_inv_tau):
    """The per-pair loss of z (N, p, d) at tau = exp(-log_inv_tau), instance-major rows."""
    n, p, _ = z.shape
    inst = [i for i in range(n) for _ in range(p)]
    kinds = kinds_of(inst, [int(labels[i]) for i in inst])
    x = torch.nn.functional.normalize(z.reshape(n * p, -1), dim=1)
    return torch_batch_loss(get_spec(name), kinds, x @ x.T, alpha, torch.exp(-log_inv_tau))


@pytest.mark.parametrize("name", ["supcon", "paper"])
@pytest.mark.parametrize("chunk", [None, 4])
def test_value_and_gradients_against_the_per_pair_reference(name, chunk):
    torch.manual_seed(0)
    crit = SupCLLoss(0.3, "learnable:0.05", name, chunk_size=chunk, init_temperature=0.2)
    z = torch.randn(6, 2, 5, dtype=torch.float64, requires_grad=True)
    labels = torch.arange(6) % 3
    loss = crit(z, labels)
    loss.backward()
    z_ref = z.detach().clone().requires_grad_(True)
    s = crit.logit_scale.detach().double().clone().requires_grad_(True)
    ref = _reference(name, z_ref, labels, 0.3, s)
    ref.backward()
    assert float(loss) == pytest.approx(float(ref), abs=1e-12)
    torch.testing.assert_close(z.grad, z_ref.grad, rtol=0, atol=1e-12)
    assert float(crit.logit_scale.grad) == pytest.approx(float(s.grad), rel=1e-6)
    assert crit.tau == pytest.approx(0.2, rel=1e-6)


def test_the_monitor_refuses_a_loss_that_learns_tau():
    from ssem_symbolic.loss import CollapseMonitor

    with pytest.raises(ValueError, match="learns tau"):
        CollapseMonitor(SupCLLoss(0.5, "learnable", "supcon"))


def test_the_clamp_holds_tau_and_stops_its_gradient():
    crit = SupCLLoss(0.5, Learnable("0.05"), "supcon")
    with torch.no_grad():
        crit.logit_scale.fill_(10.0)  # tau = e^-10, below the clamp
    z = torch.randn(4, 2, 3)
    crit(z, torch.tensor([0, 0, 1, 1])).backward()
    assert crit.tau == pytest.approx(0.05, rel=1e-6) and float(crit.logit_scale.grad) == 0.0


@pytest.mark.parametrize("bad, message", [("learnable:0", "0 < clamp"),
                                          ("warm", "expected 'learnable'"),
                                          (Learnable("0.05"), "init_temperature")])
def test_bad_temperatures_are_one_line_errors(bad, message):
    with pytest.raises(ValueError, match=message):
        SupCLLoss(0.5, bad, "supcon", init_temperature=0.01)


@pytest.mark.slow
def test_training_drives_tau_to_the_clamp_the_joint_optimum_predicts():
    """supcon 3 x 2 x 2 at alpha 0.5, clamp 0.1: the joint optimum has tau at the clamp
    (ssem optimum --tau learnable). Adam on free embeddings and the loss's logit_scale
    reaches the clamp and the joint optimum's loss (1e-5, never below it). The loss is flat
    in the geometry there (1e-6 of loss moves the within-class variance by 0.01 under Adam's
    steps), so the variance is held to 0.02."""
    torch.manual_seed(1)
    torch.set_num_threads(1)
    want = optimum("supcon", Batch.balanced(3, 2, 2), "0.5", Learnable("0.1"))
    assert want.temperature.at_clamp
    crit = SupCLLoss(0.5, "learnable:0.1", "supcon", init_temperature=1.0)
    z = torch.randn(6, 2, 12, dtype=torch.float64, requires_grad=True)
    labels = torch.arange(6) // 2
    opt = torch.optim.Adam([z, crit.logit_scale], lr=0.02)
    for _ in range(4000):
        opt.zero_grad()
        crit(z, labels).backward()
        opt.step()
    assert crit.tau == pytest.approx(0.1, rel=1e-5)
    with torch.no_grad():
        loss = float(crit(z, labels))
    assert want.loss_value - 1e-9 <= loss <= want.loss_value + 1e-5
    x = torch.nn.functional.normalize(z.detach(), dim=-1).reshape(3, 4, -1)
    within = float(1 - (x.mean(dim=1).norm(dim=-1) ** 2).mean())
    assert within == pytest.approx(want.within_class_variance, abs=2e-2)
    assert -math.log(0.1) <= float(crit.logit_scale)  # the parameter ran past the clamp
