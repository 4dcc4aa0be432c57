"""The implementation presets against the implementations: pytorch-metric-learning itself,
and, for SupContrast, lightly and SigLIP (which do not install beside this torch: SupContrast
is not on the index, lightly needs torchvision and Lightning), each one's published forward
pass transcribed here as the reference. Value and gradient to 1e-10 in float64, on random
batches with imbalanced and non-contiguous labels."""

from __future__ import annotations

import pytest
import sympy
import torch

from ssem_symbolic.loss import SupCLLoss
from ssem_symbolic.optimum import optimum, threshold
from ssem_symbolic.setting import Batch
from ssem_symbolic.spec import get_spec

torch.set_num_threads(1)


# --- the references, transcribed from each implementation's forward pass ------------------

def supcontrast_reference(features, labels=None, mask=None, temperature=0.07,
                          base_temperature=0.07):
    """HobbitLong/SupContrast losses.py, SupConLoss.forward with contrast_mode='all'
    (the version that maps an anchor without a positive to a loss of 0)."""
    batch_size = features.shape[0]
    if labels is None and mask is None:
        mask = torch.eye(batch_size, dtype=torch.float64)
    elif labels is not None:
        labels = labels.contiguous().view(-1, 1)
        mask = torch.eq(labels, labels.T).double()
    else:
        mask = mask.double()
    contrast_count = features.shape[1]
    contrast_feature = torch.cat(torch.unbind(features, dim=1), dim=0)
    anchor_feature, anchor_count = contrast_feature, contrast_count
    anchor_dot_contrast = torch.div(anchor_feature @ contrast_feature.T, temperature)
    logits_max, _ = torch.max(anchor_dot_contrast, dim=1, keepdim=True)
    logits = anchor_dot_contrast - logits_max.detach()
    mask = mask.repeat(anchor_count, contrast_count)
    logits_mask = torch.scatter(torch.ones_like(mask), 1,
                                torch.arange(batch_size * anchor_count).view(-1, 1), 0)
    mask = mask * logits_mask
    exp_logits = torch.exp(logits) * logits_mask
    log_prob = logits - torch.log(exp_logits.sum(1, keepdim=True))
    mask_pos_pairs = mask.sum(1)
    mask_pos_pairs = torch.where(mask_pos_pairs < 1e-6, 1, mask_pos_pairs)
    mean_log_prob_pos = (mask * log_prob).sum(1) / mask_pos_pairs
    loss = -(temperature / base_temperature) * mean_log_prob_pos
    return loss.view(anchor_count, batch_size).mean()


def lightly_ntxent_reference(out0, out1, temperature=0.5):
    """lightly/loss/ntx_ent_loss.py, NTXentLoss.forward with memory_bank_size=0, one process."""
    batch_size, _ = out0.shape
    out0 = torch.nn.functional.normalize(out0, dim=1)
    out1 = torch.nn.functional.normalize(out1, dim=1)
    diag_mask = torch.eye(batch_size, dtype=torch.bool)
    logits_00 = torch.einsum("nc,mc->nm", out0, out0) / temperature
    logits_01 = torch.einsum("nc,mc->nm", out0, out1) / temperature
    logits_10 = torch.einsum("nc,mc->nm", out1, out0) / temperature
    logits_11 = torch.einsum("nc,mc->nm", out1, out1) / temperature
    logits_00 = logits_00[~diag_mask].view(batch_size, -1)
    logits_11 = logits_11[~diag_mask].view(batch_size, -1)
    logits = torch.cat([torch.cat([logits_01, logits_00], dim=1),
                        torch.cat([logits_10, logits_11], dim=1)], dim=0)
    labels = torch.arange(batch_size).repeat(2)
    return torch.nn.functional.cross_entropy(logits, labels)


def siglip_reference(features, labels, t, b):
    """SigLIP's loss (Zhai et al. 2023, Algorithm 1: -sum log sigmoid(z (t x.y + b)) / n), on
    one set of embeddings: every ordered pair of different embeddings, z = +1 on a positive
    pair (same label), summed over partners, divided by the number of anchors."""
    n, views, _ = features.shape
    x = torch.nn.functional.normalize(features.reshape(n * views, -1), dim=-1)
    lab = labels.repeat_interleave(views)
    z = torch.where(lab[:, None] == lab[None, :], 1.0, -1.0).double()
    pair = ~torch.eye(n * views, dtype=torch.bool)
    ll = torch.nn.functional.logsigmoid(z * (t * x @ x.T + b))
    return -(ll * pair).sum() / (n * views)


def _batch(seed, n=11, views=2, d=6, classes=(3, 9, 4)):
    gen = torch.Generator().manual_seed(seed)
    # imbalanced and non-contiguous labels, ids not 0..C-1, a singleton class included
    labels = torch.tensor(classes, dtype=torch.long)[
        torch.tensor([0, 1, 1, 2, 0, 1, 1, 2, 1, 0, 2] + [2] * max(0, n - 11))[:n]]
    labels[-1] = 40  # a class with one instance
    z = torch.randn(n, views, d, generator=gen, dtype=torch.float64)
    return z, labels


def _value_and_grad(fn, z):
    x = z.clone().requires_grad_()
    value = fn(x)
    value.backward()
    return value.detach(), x.grad


@pytest.mark.parametrize("views", [1, 2, 3])
@pytest.mark.parametrize("tau, base", [(0.1, 0.07), (0.5, 0.5), (0.07, 1.0)])
def test_supcontrast_equals_its_forward(views, tau, base):
    z, labels = _batch(1, views=views)
    spec = get_spec("supcontrast").with_parameters(base_temperature=base)
    ours = _value_and_grad(lambda x: SupCLLoss(0.0, tau, spec)(x, labels), z)
    theirs = _value_and_grad(lambda x: supcontrast_reference(
        torch.nn.functional.normalize(x, dim=-1), labels, temperature=tau,
        base_temperature=base), z)
    assert ours[0].item() == pytest.approx(theirs[0].item(), rel=1e-10, abs=1e-12)
    assert torch.allclose(ours[1], theirs[1], rtol=1e-10, atol=1e-12)


def test_supcontrast_without_labels_is_its_simclr_and_takes_its_mask_and_shapes():
    z, labels = _batch(2, views=2)
    spec = get_spec("supcontrast")
    normal = torch.nn.functional.normalize(z, dim=-1)
    simclr = SupCLLoss(0.3, 0.2, spec)(z)  # no labels: the self-supervised term alone
    assert simclr.item() == pytest.approx(supcontrast_reference(normal, temperature=0.2)
                                          .item(), rel=1e-12)
    mask = (labels[:, None] == labels[None, :]).float()
    by_mask = SupCLLoss(0.0, 0.2, spec)(z, mask=mask)
    want = supcontrast_reference(normal, mask=mask, temperature=0.2)
    assert by_mask.item() == pytest.approx(want.item(), rel=1e-12)
    # labels of shape (bsz, 1), and features (bsz, n_views, 2, 3) flattened as SupContrast does
    column = SupCLLoss(0.0, 0.2, spec)(z, labels[:, None])
    image = SupCLLoss(0.0, 0.2, spec)(z.reshape(11, 2, 2, 3), labels)
    assert column.item() == pytest.approx(want.item(), rel=1e-12)
    assert image.item() == pytest.approx(want.item(), rel=1e-12)


@pytest.mark.parametrize("bad, match", [
    ({"mask": torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]])},
     "not a class structure"),
    ({"mask": torch.eye(3), "labels": torch.tensor([0, 1, 2])}, "not both"),
    ({"ref_emb": torch.randn(3, 4)}, "reference set"),
    ({"indices_tuple": (torch.tensor([0]), torch.tensor([1]))}, "mined pairs"),
])
def test_what_the_libraries_pass_that_the_theory_does_not_cover_is_refused(bad, match):
    z = torch.randn(3, 2, 4)
    labels = bad.pop("labels", None)
    with pytest.raises(ValueError, match=match):
        SupCLLoss(0.0, 0.1, "supcontrast")(z, labels, **bad)


def test_contrast_mode_one_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="exchangeable"):
        SupCLLoss(0.0, 0.1, "supcontrast", contrast_mode="one")


@pytest.mark.parametrize("views", [1, 2, 3])
@pytest.mark.parametrize("tau", [0.1, 0.6])
def test_pml_supcon_equals_the_library(views, tau):
    from pytorch_metric_learning.losses import SupConLoss

    z, labels = _batch(3, views=views)
    ours = _value_and_grad(lambda x: SupCLLoss(0.0, tau, "pml-supcon")(x, labels), z)
    theirs = _value_and_grad(lambda x: SupConLoss(temperature=tau)(
        x.transpose(0, 1).reshape(-1, z.shape[-1]), labels.repeat(views)), z)
    assert ours[0].item() == pytest.approx(theirs[0].item(), rel=1e-10)
    assert torch.allclose(ours[1], theirs[1], rtol=1e-9, atol=1e-12)


def test_the_two_rules_for_an_anchor_without_a_positive_differ_where_one_exists():
    """One view and a singleton class: SupContrast counts its anchor as a loss of 0 in the mean
    over all anchors, pytorch-metric-learning leaves it out."""
    z, labels = _batch(4, views=1)
    zero = SupCLLoss(0.0, 0.07, "supcontrast")(z, labels).item()
    drop = SupCLLoss(0.0, 0.07, "pml-supcon")(z, labels).item()
    assert zero == pytest.approx(drop * 10 / 11, rel=1e-12)  # 10 of 11 anchors have positives


@pytest.mark.parametrize("tau", [0.07, 0.5])
@pytest.mark.parametrize("alpha", [0.0, 0.7])
def test_pml_ntxent_equals_the_library_with_instance_ids(tau, alpha):
    from pytorch_metric_learning.losses import NTXentLoss

    z, labels = _batch(5, views=2)
    ids = torch.arange(z.shape[0])
    ours = _value_and_grad(lambda x: SupCLLoss(alpha, tau, "pml-ntxent")(x, labels), z)
    theirs = _value_and_grad(lambda x: NTXentLoss(temperature=tau)(
        x.transpose(0, 1).reshape(-1, z.shape[-1]), ids.repeat(2)), z)
    assert ours[0].item() == pytest.approx(theirs[0].item(), rel=1e-10)
    assert torch.allclose(ours[1], theirs[1], rtol=1e-9, atol=1e-12)


def test_two_view_presets_refuse_other_views_in_the_loss_and_the_engine():
    with pytest.raises(ValueError, match="defined for 2 views"):
        SupCLLoss(0.5, 0.1, "pml-ntxent")(torch.randn(4, 3, 5), torch.tensor([0, 0, 1, 1]))
    with pytest.raises(ValueError, match="defined for 2 views"):
        optimum("lightly-ntxent", Batch.balanced(2, 2, 3), "0.5", "0.5")


@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_lightly_ntxent_equals_its_forward(tau):
    z, labels = _batch(6, views=2)
    ours = _value_and_grad(lambda x: SupCLLoss(0.4, tau, "lightly-ntxent")(x, labels), z)
    theirs = _value_and_grad(lambda x: lightly_ntxent_reference(x[:, 0], x[:, 1], tau), z)
    assert ours[0].item() == pytest.approx(theirs[0].item(), rel=1e-10)
    assert torch.allclose(ours[1], theirs[1], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("views, alpha", [(1, 0.0), (2, 0.0), (2, 1.0)])
def test_siglip_equals_its_pairwise_definition(views, alpha):
    z, labels = _batch(7, views=views)
    by = labels if alpha == 0.0 else torch.arange(z.shape[0])  # the term's positives
    ours = _value_and_grad(lambda x: SupCLLoss(alpha, 0.1, "siglip")(x, labels), z)
    theirs = _value_and_grad(lambda x: siglip_reference(x, by, t=10.0, b=-10.0), z)
    assert ours[0].item() == pytest.approx(theirs[0].item(), rel=1e-10)
    assert torch.allclose(ours[1], theirs[1], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("tau", ["0.1", "0.5"])
def test_a_scale_changes_the_value_never_the_geometry(tau):
    """supcontrast is supcon times tau/base_temperature: the same thresholds and optimum, the
    loss scaled, on a balanced and an imbalanced batch."""
    scaled = get_spec("supcontrast").with_parameters(base_temperature="0.2")
    plain = get_spec("supcon")
    factor = float(tau) / 0.2
    for batch in (Batch.balanced(3, 4, 2),):
        a = threshold(scaled, batch, tau=tau).as_dict()
        b = threshold(plain, batch, tau=tau).as_dict()
        assert a == b
        s, p = optimum(scaled, batch, "0.3", tau), optimum(plain, batch, "0.3", tau)
        assert s.per_class == p.per_class and s.active == p.active
        assert s.loss_value == pytest.approx(p.loss_value * factor, rel=1e-14)
    assert threshold(scaled, Batch.balanced(3, 4, 2), alpha="0.3").as_dict() == \
        threshold(plain, Batch.balanced(3, 4, 2), alpha="0.3").as_dict()


@pytest.mark.slow
def test_a_scale_changes_no_threshold_of_unequal_class_sizes():
    """The per-class thresholds scan alpha with the size-group solver (seconds; at tau = 0.1
    minutes): the slow tier."""
    scaled = get_spec("supcontrast").with_parameters(base_temperature="0.2")
    batch = Batch((4, 2, 2), 2)
    assert threshold(scaled, batch, tau="0.5").as_dict() == \
        threshold("supcon", batch, tau="0.5").as_dict()
    s, p = optimum(scaled, batch, "0.3", "0.5"), optimum("supcon", batch, "0.3", "0.5")
    assert s.per_class == p.per_class and s.active == p.active
    assert s.loss_value == pytest.approx(p.loss_value * 0.5 / 0.2, rel=1e-14)


def test_a_scale_that_is_not_positive_or_names_the_unknown_is_refused():
    from ssem_symbolic.spec import LossSpec, UnsupportedConvention

    base = dict(name="s", denominator=["view", "class", "other"], sup=["view"],
                self_=["view"], mean="anchors")
    for bad, match in (("1 - tau", "positive"), ("tau/t0", "neither tau"),
                       ("open(1)", "neither tau"), ("__class__", "may use only")):
        with pytest.raises(UnsupportedConvention, match=match):
            LossSpec(**base, scale=bad)
    assert LossSpec(**base, scale="2*tau", parameters={}).scale_at("0.25") == sympy.Rational(1, 2)


def test_spec_show_says_what_a_scale_changes(capsys):
    from ssem_symbolic.cli import main

    assert main(["spec", "show", "supcontrast"]) == 0
    text = capsys.readouterr().out
    assert "never the optimal geometry" in text and "base_temperature = 7/100" in text
    assert "a loss of 0" in text
