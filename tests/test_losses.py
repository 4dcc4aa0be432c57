"""SupCLLoss against a per-pair reference written from the spec's definitions, and against f(beta)."""

import math

import pytest
import torch

from ssem_symbolic.derive import loss_value
from ssem_symbolic.losses import SupCLLoss
from ssem_symbolic.model import realise


def reference(z, labels, alpha, tau, convention):
    """Direct loops over pairs, exactly as spec section 2 words each convention."""
    n, views, _ = z.shape
    flat = torch.nn.functional.normalize(z.reshape(n * views, -1), dim=-1).tolist()
    inst = [i for i in range(n) for _ in range(views)]
    lab = [int(labels[i]) for i in inst]
    M = len(flat)
    s = [[sum(a * b for a, b in zip(flat[i], flat[j])) for j in range(M)] for i in range(M)]
    if convention == "paper":
        def ell(a, b):  # denominator over all c, including c = b, for fixed b
            return s[a][b] / tau - math.log(sum(math.exp(s[c][b] / tau) for c in range(M)))
        self_pairs = [(a, b) for a in range(M) for b in range(M) if inst[a] == inst[b]]
        sup_pairs = [(a, b) for a in range(M) for b in range(M)
                     if lab[a] == lab[b] and inst[a] != inst[b]]
        l_self = -sum(ell(a, b) for a, b in self_pairs) / len(self_pairs)
        l_sup = -sum(ell(a, b) for a, b in sup_pairs) / len(sup_pairs)
    else:
        def logsoft(a, b):  # denominator over every c != a
            return s[a][b] / tau - math.log(sum(math.exp(s[a][c] / tau) for c in range(M) if c != a))

        def per_anchor(pos):
            total = 0.0
            for a in range(M):
                ps = [b for b in range(M) if b != a and pos(a, b)]
                total += -sum(logsoft(a, b) for b in ps) / len(ps)
            return total / M
        l_self = per_anchor(lambda a, b: inst[a] == inst[b])
        if convention == "supcon":
            l_sup = per_anchor(lambda a, b: lab[a] == lab[b])
        else:
            l_sup = per_anchor(lambda a, b: lab[a] == lab[b] and inst[a] != inst[b])
    return (1 - alpha) * l_sup + alpha * l_self


@pytest.mark.parametrize("convention", ["paper", "supcon", "supcon-split"])
@pytest.mark.parametrize("alpha, tau, views", [(0.0, 0.5, 2), (0.3, 0.1, 2), (1.0, 1.0, 3), (0.7, 0.05, 2)])
def test_loss_equals_per_pair_reference(convention, alpha, tau, views):
    gen = torch.Generator().manual_seed(7)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 2])
    z = torch.randn(len(labels), views, 5, generator=gen, dtype=torch.float64)
    got = float(SupCLLoss(alpha, tau, convention)(z, labels))
    assert got == pytest.approx(reference(z, labels, alpha, tau, convention), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("convention", ["paper", "supcon", "supcon-split"])
@pytest.mark.parametrize("m, k, p, b", [(3, 4, 2, 0.6), (2, 3, 3, 1.0), (5, 2, 2, 0.1)])
def test_loss_on_ssem_vectors_equals_f(convention, m, k, p, b):
    z, labels = realise(m, k, b, d=m * k + 3, views=p, seed=11)
    got = float(SupCLLoss(0.4, 0.3, convention)(torch.from_numpy(z), torch.from_numpy(labels)))
    assert got == pytest.approx(float(loss_value(convention, m, k, p, 0.4, 0.3, b)), abs=1e-10)


def test_stable_at_small_tau_float32():
    z = torch.randn(8, 2, 16)
    labels = torch.arange(4).repeat_interleave(2)
    value = SupCLLoss(0.5, 1e-3, "supcon")(z, labels)
    assert torch.isfinite(value)


def test_single_instance_class_is_a_clear_error():
    z = torch.randn(3, 2, 4)
    with pytest.raises(ValueError, match="without positives"):
        SupCLLoss(0.0, 0.5, "supcon-split")(z, torch.tensor([0, 0, 1]))
    with pytest.raises(ValueError, match="alpha must lie"):
        SupCLLoss(2.0, 0.5)
