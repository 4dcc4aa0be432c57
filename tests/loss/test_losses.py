"""SupCLLoss against a per-pair reference written from the definitions, and against f(beta)."""

import math

import pytest
import torch

from ssem_symbolic.ssem import loss_value
from ssem_symbolic.loss import LabelPattern, SupCLLoss, supcl_loss
from ssem_symbolic.setting._model import realise
from ssem_symbolic.spec import LossSpec, get_spec


def reference(z, labels, alpha, tau, convention):
    """Direct loops over pairs, exactly as docs/conventions.md words each convention."""
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
            return s[a][b] / tau - math.log(sum(math.exp(s[a][c] / tau)
                                                for c in range(M) if c != a))

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
@pytest.mark.parametrize("alpha, tau, views",
                         [(0.0, 0.5, 2), (0.3, 0.1, 2), (1.0, 1.0, 3), (0.7, 0.05, 2)])
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


def test_an_anchor_without_positives_is_dropped_from_the_mean_as_in_pml():
    """A class with one instance and one view: its anchor has no positive, and the mean runs
    over the other anchors (pytorch-metric-learning's SupConLoss); a weighted term with no
    positive in the whole batch adds 0."""
    from pytorch_metric_learning.losses import SupConLoss

    torch.manual_seed(3)
    z = torch.randn(5, 1, 4, dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 2, 2])
    ours = SupCLLoss(0.0, 0.5, "supcon")(z, labels)
    theirs = SupConLoss(temperature=0.5)(torch.nn.functional.normalize(z[:, 0], dim=-1), labels)
    assert float(ours) == pytest.approx(float(theirs), abs=1e-12)
    alone = SupCLLoss(0.3, 0.5, "supcon-split")(z[[0, 2, 3]], torch.tensor([0, 1, 2]))
    both = SupCLLoss(0.0, 0.5, "supcon-split")(z[[0, 2, 3]], torch.tensor([0, 1, 2]))
    assert float(both) == 0.0 and float(alone) == 0.0
    with pytest.raises(ValueError, match="alpha must lie"):
        SupCLLoss(2.0, 0.5)


# --- issue 4: the custom backward, pytorch-metric-learning, batched configurations -------

@pytest.mark.parametrize("tau", [0.07, 0.5])
def test_supcon_alpha0_equals_pytorch_metric_learning(tau):
    from pytorch_metric_learning.losses import SupConLoss

    gen = torch.Generator().manual_seed(3)
    labels = torch.arange(5).repeat_interleave(4)
    z = torch.randn(20, 2, 8, generator=gen, dtype=torch.float64)
    ours = SupCLLoss(0.0, tau, "supcon")(z, labels)
    theirs = SupConLoss(temperature=tau)(z.reshape(40, 8), labels.repeat_interleave(2))
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-12)
    # and the gradients agree
    z1 = z.clone().requires_grad_()
    z2 = z.clone().requires_grad_()
    SupCLLoss(0.0, tau, "supcon")(z1, labels).backward()
    SupConLoss(temperature=tau)(z2.reshape(40, 8), labels.repeat_interleave(2)).backward()
    assert torch.allclose(z1.grad, z2.grad, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("convention", ["paper", "supcon", "supcon-split"])
@pytest.mark.parametrize("alpha", [0.0, 0.4, 1.0])
def test_custom_backward_gradcheck(convention, alpha):
    gen = torch.Generator().manual_seed(5)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    z = torch.randn(6, 2, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    loss = SupCLLoss(alpha, 0.3, convention)
    assert torch.autograd.gradcheck(lambda x: loss(x, labels), (z,))


def test_custom_backward_equals_autograd_through_the_reference():
    gen = torch.Generator().manual_seed(9)
    labels = torch.tensor([0, 0, 0, 1, 1, 2, 2])
    z = torch.randn(7, 3, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    SupCLLoss(0.3, 0.2, "supcon-split")(z, labels).backward()
    z2 = z.detach().clone().requires_grad_()
    # autograd through a plain masked log-softmax (the textbook form)
    flat = torch.nn.functional.normalize(z2.reshape(21, 4), dim=-1)
    logits = (flat @ flat.T / 0.2).masked_fill(torch.eye(21, dtype=torch.bool), float("-inf"))
    logp = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    inst = torch.arange(7).repeat_interleave(3)
    lab = labels.repeat_interleave(3)
    eye = torch.eye(21, dtype=torch.bool)
    same_inst = inst[:, None] == inst[None, :]
    sup = (lab[:, None] == lab[None, :]) & ~same_inst
    view = same_inst & ~eye

    def term(pos):
        return -(torch.where(pos, logp, 0.0).sum(1) / pos.sum(1)).mean()
    (0.7 * term(sup) + 0.3 * term(view)).backward()
    assert torch.allclose(z.grad, z2.grad, rtol=1e-10, atol=1e-13)


def test_float32_tau_1e3_value_and_gradient_finite_and_accurate():
    gen = torch.Generator().manual_seed(1)
    labels = torch.arange(4).repeat_interleave(3)
    z64 = torch.randn(12, 2, 8, generator=gen, dtype=torch.float64)
    for conv in ("paper", "supcon", "supcon-split"):
        want = SupCLLoss(0.5, 1e-3, conv)(z64, labels).item()
        z32 = z64.float().requires_grad_()
        got = SupCLLoss(0.5, 1e-3, conv)(z32, labels)
        got.backward()
        assert torch.isfinite(z32.grad).all()
        assert got.item() == pytest.approx(want, rel=1e-5)


def test_batched_configurations_equal_one_by_one():
    from ssem_symbolic.loss import supcl_loss

    gen = torch.Generator().manual_seed(2)
    labels = torch.arange(3).repeat_interleave(3)
    z = torch.randn(4, 9, 2, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    alphas = torch.tensor([0.0, 0.3, 0.7, 1.0], dtype=torch.float64)
    taus = torch.tensor([0.1, 0.5, 1.0, 0.05], dtype=torch.float64)
    batched = supcl_loss(z, labels, alphas, taus, "supcon")
    batched.sum().backward()
    for i in range(4):
        zi = z[i].detach().clone().requires_grad_()
        single = SupCLLoss(alphas[i].item(), taus[i].item(), "supcon")(zi, labels)
        single.backward()
        assert batched[i].item() == pytest.approx(single.item(), rel=1e-13)
        assert torch.allclose(z.grad[i], zi.grad, rtol=1e-11, atol=1e-14)


def test_masks_built_once_per_label_pattern(monkeypatch):
    import ssem_symbolic.loss._losses as losses

    built = []
    original = losses.LabelPattern.__init__

    def counting(self, *args, **kwargs):
        built.append(1)
        original(self, *args, **kwargs)
    monkeypatch.setattr(losses.LabelPattern, "__init__", counting)
    loss = SupCLLoss(0.5, 0.3)
    labels = torch.tensor([0, 0, 1, 1])
    for _ in range(5):
        loss(torch.randn(4, 2, 3), labels)
    assert len(built) == 1
    loss(torch.randn(4, 2, 3), torch.tensor([0, 1, 0, 1]))
    assert len(built) == 2


@pytest.mark.parametrize("tau, normalize", [(0.002, True), (0.3, False), (0.3, True)])
def test_both_backward_paths_equal_autograd(tau, normalize):
    """tau = 0.002 in float64 (per-row max shift) and unnormalised rows take the general path;
    tau = 0.3 on unit rows the fused symmetric one. All against autograd on the textbook form."""
    gen = torch.Generator().manual_seed(4)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 2])
    z = torch.randn(7, 2, 5, generator=gen, dtype=torch.float64) * (0.3 if not normalize else 1)
    for conv in ("paper", "supcon", "supcon-split"):
        z1 = z.clone().requires_grad_()
        got = SupCLLoss(0.4, tau, conv, normalize=normalize)(z1, labels)
        got.backward()
        z2 = z.clone().requires_grad_()
        flat = z2.reshape(14, 5)
        if normalize:
            flat = torch.nn.functional.normalize(flat, dim=-1)
        from ssem_symbolic.loss import pair_type_masks
        from ssem_symbolic.spec import get_spec
        spec = get_spec(conv)
        types = pair_type_masks(labels, 2)
        den = sum(types[t].int() for t in spec.denominator).bool()
        logits = (flat @ flat.T / tau).masked_fill(~den, float("-inf"))
        logp = logits - torch.logsumexp(logits, dim=1, keepdim=True)
        total = 0
        for term, wt in (("sup", 0.6), ("self", 0.4)):
            pos = sum(types[t].int() for t in spec.positives(term)).bool()
            vals = torch.where(pos, logp, 0.0).sum(1)
            part = (-vals.sum() / pos.sum() if spec.mean == "pairs"
                    else -(vals / pos.sum(1)).mean())
            total = total + wt * part
        total.backward()
        assert got.item() == pytest.approx(total.item(), rel=1e-11)
        assert torch.allclose(z1.grad, z2.grad, rtol=1e-9, atol=1e-12), conv


def torch_reference(z, labels, alpha, tau, convention):
    """The per-pair definitions again, in differentiable torch ops (autograd to any order)."""
    n, views, d = z.shape
    flat = torch.nn.functional.normalize(z.reshape(n * views, d), dim=-1)
    M = n * views
    inst = torch.arange(n).repeat_interleave(views)
    lab = labels.repeat_interleave(views)
    same_inst = inst[:, None] == inst[None, :]
    same_lab = lab[:, None] == lab[None, :]
    s = flat @ flat.T / tau
    if convention == "paper":
        ell = s - torch.logsumexp(s, dim=0)[None, :]  # denominator over c for fixed b
        sup = same_lab & ~same_inst
        return (1 - alpha) * -ell[sup].mean() + alpha * -ell[same_inst].mean()
    eye = torch.eye(M, dtype=torch.bool)
    logits = s.masked_fill(eye, float("-inf"))
    logp = logits - torch.logsumexp(logits, dim=1, keepdim=True)

    def per_anchor(pos):
        pos = pos & ~eye
        return -(logp.masked_fill(~pos, 0).sum(1) / pos.sum(1)).mean()
    sup = same_lab if convention == "supcon" else same_lab & ~same_inst
    return (1 - alpha) * per_anchor(sup) + alpha * per_anchor(same_inst)


LABELS = torch.tensor([0, 0, 1, 1, 1, 2, 2])


@pytest.mark.parametrize("convention", ["paper", "supcon", "supcon-split"])
@pytest.mark.parametrize("tau", [0.5, 0.002])  # 0.002: the max-shift path, not the bound
def test_hessian_vector_product_is_exact(convention, tau):
    gen = torch.Generator().manual_seed(3)
    z = torch.randn(7, 2, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    v = torch.randn(7, 2, 5, generator=gen, dtype=torch.float64)

    def hvp(fn):
        (g,) = torch.autograd.grad(fn(z), z, create_graph=True)
        (h,) = torch.autograd.grad((g * v).sum(), z)
        return g.detach(), h
    g1, h1 = hvp(lambda x: SupCLLoss(0.3, tau, convention)(x, LABELS))
    g2, h2 = hvp(lambda x: torch_reference(x, LABELS, 0.3, tau, convention))
    scale = float(h2.abs().max())
    assert torch.allclose(g1, g2, rtol=0, atol=1e-12 * max(1.0, scale))
    assert torch.allclose(h1, h2, rtol=0, atol=1e-12 * max(1.0, scale))


@pytest.mark.parametrize("convention", ["paper", "supcon", "supcon-split"])
def test_gradients_in_alpha_and_tau_tensors(convention):
    z = torch.randn(7, 2, 5, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    grads = []
    for fn in (supcl_loss, lambda *a: torch_reference(*a[:4], a[4])):
        a = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
        t = torch.tensor(0.4, dtype=torch.float64, requires_grad=True)
        grads.append(torch.autograd.grad(fn(z, LABELS, a, t, convention), (a, t)))
    for got, want in zip(*grads):
        assert float(got) == pytest.approx(float(want), rel=1e-12, abs=1e-12)


def test_pattern_for_other_labels_views_or_convention_is_refused():
    z = torch.randn(7, 2, 5)
    wrong = [LabelPattern(get_spec("paper"), torch.tensor([0, 0, 1, 1, 2, 2, 2]), 2, z.dtype),
             LabelPattern(get_spec("paper"), LABELS, 3, z.dtype),
             LabelPattern(get_spec("supcon"), LABELS, 2, z.dtype)]
    for pattern, words in zip(wrong, ("other labels", "views", "convention")):
        with pytest.raises(ValueError, match=words):
            supcl_loss(z, LABELS, 0.3, 0.5, "paper", pattern=pattern)


def test_clear_errors_and_plain_label_lists():
    z = torch.randn(7, 2, 5, dtype=torch.float64)
    listed = float(SupCLLoss(0.3, 0.5)(z, LABELS.tolist()))
    assert listed == float(SupCLLoss(0.3, 0.5)(z, LABELS))
    with pytest.raises(ValueError, match="empty batch"):
        SupCLLoss(0.3, 0.5)(torch.randn(0, 2, 5), torch.tensor([], dtype=torch.long))
    with pytest.raises(ValueError, match="does not broadcast"):
        supcl_loss(torch.randn(3, 7, 2, 5), LABELS, 0.3, torch.tensor([0.5, 0.4]))
    with pytest.raises(ValueError, match="integer"):
        SupCLLoss(0.3, 0.5)(z, LABELS.double())


def test_the_label_pattern_needs_no_pair_mask_for_the_presets(monkeypatch):
    """Fresh labels every step: the pattern is O(M) (counts from class sizes); building the
    (M, M) pair-type masks would be the O(M^2) cost this avoids."""
    from ssem_symbolic.loss import _losses as losses

    def forbidden(*args, **kwargs):
        raise AssertionError("built (M, M) pair-type masks")
    monkeypatch.setattr(losses, "pair_type_masks", forbidden)
    z = torch.randn(7, 2, 5, dtype=torch.float64)
    for convention in ("paper", "supcon", "supcon-split"):
        for labels in (LABELS, torch.tensor([2, 2, 2, 0, 1, 1, 0])):
            got = float(SupCLLoss(0.3, 0.5, convention)(z, labels))
            assert got == pytest.approx(reference(z, labels, 0.3, 0.5, convention), rel=1e-12)


def test_pytorch_metric_learning_layout_and_self_supervised_labels_none():
    from pytorch_metric_learning.losses import NTXentLoss, SupConLoss

    gen = torch.Generator().manual_seed(5)
    views = torch.randn(2, 6, 8, generator=gen, dtype=torch.float64)  # 2 views of 6
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    emb, emb_labels = torch.cat([views[0], views[1]]), labels.repeat(2)
    ours = SupCLLoss(alpha=0.0, temperature=0.2, convention="supcon")
    # PML layout == SupContrast layout == PML's own SupConLoss (alpha 0)
    got = float(ours(emb, emb_labels, n_views=2))
    assert got == pytest.approx(float(ours(views.transpose(0, 1), labels)), rel=1e-12)
    assert got == pytest.approx(float(SupConLoss(temperature=0.2)(emb, emb_labels)), rel=1e-12)
    # instance ids in any row order give the same loss
    perm = torch.randperm(12, generator=gen)
    ids = torch.arange(6).repeat(2)
    assert float(ours(emb[perm], emb_labels[perm], instance_ids=ids[perm])) == \
        pytest.approx(got, rel=1e-12)
    # labels=None: the self-supervised loss, PML's NT-Xent on the two views
    simclr = float(ours(emb, None, n_views=2))
    assert simclr == pytest.approx(float(NTXentLoss(temperature=0.2)(emb, ids)), rel=1e-12)


def test_drop_in_bad_input_is_a_clear_error():
    z = torch.randn(7, 2, 5, dtype=torch.float64)
    loss = SupCLLoss(0.3, 0.5)
    bad = z.clone()
    bad[2, 1, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN or inf"):
        loss(bad, LABELS)
    assert torch.isnan(SupCLLoss(0.3, 0.5, check_finite=False)(bad, LABELS))  # opted out
    zero = z.clone()
    zero[4, 0] = 0
    with pytest.raises(ValueError, match="all zeros"):
        loss(zero, LABELS)
    inf = z.clone()
    inf[0, 1, 3] = float("-inf")
    with pytest.raises(ValueError, match="NaN or inf"):
        loss(inf, LABELS)
    huge = z.float()
    huge[5, 0] = 3e20  # finite, but its norm overflows float32
    with pytest.raises(ValueError, match="overflows torch.float32"):
        loss(huge, LABELS)
    with pytest.raises(ValueError, match="all zeros"):  # checked with check_finite off too
        SupCLLoss(0.3, 0.5, check_finite=False)(zero, LABELS)
    flat = z.transpose(0, 1).reshape(14, 5)
    with pytest.raises(ValueError, match="n_views"):
        loss(flat, LABELS.repeat(2))
    with pytest.raises(ValueError, match="different labels"):
        loss(flat, torch.arange(14), n_views=2)
    with pytest.raises(TypeError):  # one name per thing: temperature=, convention=
        SupCLLoss(0.3, tau=0.5, convention="supcon")
    with pytest.raises(TypeError):
        supcl_loss(z, LABELS, 0.3, 0.5, loss="supcon")


TILED_SPECS = ["paper", "supcon", "supcon-split",
               LossSpec("den-class-other", ("class", "other"), ("class",), ("view",), "anchors"),
               LossSpec("weighted", ("view", "class", "other"), ("view", "class"), ("view",),
                        "pairs", weights={"sup": (1, 0)}),
               LossSpec("pair-weighted", ("view", "class", "other"), ("view", "class"),
                        ("view",), "anchors",
                        pair_weights={"denominator": {"class": "1/2", "other": 2}}),
               LossSpec("two-denominators", {"sup": ("view", "class", "other"),
                                             "self": ("view", "class")},
                        ("view", "class"), ("view",), "anchors")]


@pytest.mark.parametrize("convention", TILED_SPECS, ids=lambda s: getattr(s, "name", s))
@pytest.mark.parametrize("chunk", [1, 5, 13])
def test_tiled_equals_untiled_value_and_gradients(convention, chunk):
    gen = torch.Generator().manual_seed(11)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 2])
    for tau in (0.5, 0.01, 0.002):  # 0.002: the max-shift path (not the unit-row bound)
        z = torch.randn(7, 2, 5, generator=gen, dtype=torch.float64, requires_grad=True)
        a = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
        t = torch.tensor(tau, dtype=torch.float64, requires_grad=True)
        results = []
        for size in (None, chunk):
            value = supcl_loss(z, labels, a, t, convention, chunk_size=size)
            results.append((value.detach(), *torch.autograd.grad(value, (z, a, t))))
        for untiled, tiled in zip(*results):
            assert torch.allclose(untiled, tiled, rtol=1e-10, atol=1e-10)


def test_tiled_second_derivatives_and_automatic_tiling(monkeypatch):
    from ssem_symbolic.loss import _losses as losses

    z = torch.randn(7, 2, 5, generator=torch.Generator().manual_seed(2), dtype=torch.float64,
                    requires_grad=True)
    v = torch.randn(7, 2, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    hvps = []
    for size in (None, 4):
        (g,) = torch.autograd.grad(supcl_loss(z, LABELS, 0.3, 0.5, "supcon", chunk_size=size),
                                   z, create_graph=True)
        hvps.append(torch.autograd.grad((g * v).sum(), z)[0])
    assert torch.allclose(*hvps, rtol=1e-10, atol=1e-12)
    calls = []
    real = losses._TiledWeightedLogSumExp.apply
    monkeypatch.setattr(losses._TiledWeightedLogSumExp, "apply",
                        lambda *args: calls.append(args[4]) or real(*args))
    monkeypatch.setattr(losses, "AUTO_TILE_ROWS", 10)  # 14 rows: tiled automatically
    supcl_loss(z, LABELS, 0.3, 0.5, "supcon")
    assert calls == [losses.AUTO_CHUNK]
    with pytest.raises(ValueError, match="one configuration"):
        supcl_loss(torch.randn(2, 7, 2, 5), LABELS, 0.3, 0.5, chunk_size=4)


@pytest.mark.parametrize("convention", ["paper", "supcon"])
def test_bfloat16_under_autocast_accumulates_in_float32(convention):
    torch.manual_seed(0)
    net = torch.nn.Linear(16, 32)
    x = torch.randn(256, 2, 16)
    labels = torch.arange(8).repeat_interleave(32)
    loss = SupCLLoss(0.3, 0.05, convention)
    reference = float(loss(net(x), labels).detach())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(x)
        assert out.dtype == torch.bfloat16
        value = loss(out, labels)
    assert value.dtype == torch.float32
    assert float(value.detach()) == pytest.approx(reference, rel=1e-2)
    value.backward()
    assert net.weight.grad is not None and bool(torch.isfinite(net.weight.grad).all())


@pytest.mark.slow
def test_torch_compile_gives_the_same_value():
    """Compiled with the aot_eager backend (no C++ toolchain needed): the same value and
    gradient. The input checks, the label pattern (SymPy) and the gather run eagerly behind
    torch.compiler.disable, and dynamo reports no graph break in a step."""
    z = torch.randn(7, 2, 5, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    loss = SupCLLoss(0.3, 0.5, "supcon")
    compiled = torch.compile(lambda f, y: loss(f, y), backend="aot_eager")
    z1, z2 = z.clone().requires_grad_(), z.clone().requires_grad_()
    eager, fast = loss(z1, LABELS), compiled(z2, LABELS)
    assert float(fast.detach()) == pytest.approx(float(eager.detach()), rel=1e-12)
    eager.backward()
    fast.backward()
    assert torch.allclose(z1.grad, z2.grad, rtol=1e-10, atol=1e-12)
    from torch import _dynamo

    _dynamo.reset()
    explained = _dynamo.explain(loss)(z.clone().requires_grad_(), LABELS)
    assert explained.graph_break_count == 0, [b.reason for b in explained.break_reasons]


@pytest.mark.parametrize("convention", ["paper", "supcon", "supcon-split"])
@pytest.mark.parametrize("alpha, tau", [(0.0, 0.5), (0.4, 0.2), (1.0, 1.0)])
def test_imbalanced_labels_equal_the_per_pair_reference(convention, alpha, tau):
    """Class sizes [5, 3, 2] and a 10:1 batch, labels in shuffled order: the 'pairs' mean (one
    mean over the batch's positive pairs) and the 'anchors' mean differ here, and each
    convention must take its own."""
    gen = torch.Generator().manual_seed(11)
    for sizes in ([5, 3, 2], [10, 1, 1] if convention == "supcon" else [10, 2, 2]):
        labels = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
        labels = labels[torch.randperm(len(labels), generator=gen)]
        z = torch.randn(len(labels), 2, 6, generator=gen, dtype=torch.float64)
        got = float(SupCLLoss(alpha, tau, convention)(z, labels))
        assert got == pytest.approx(reference(z, labels, alpha, tau, convention), rel=1e-12,
                                    abs=1e-12)


def test_supcon_on_imbalanced_labels_equals_pytorch_metric_learning():
    from pytorch_metric_learning.losses import SupConLoss

    gen = torch.Generator().manual_seed(5)
    labels = torch.repeat_interleave(torch.arange(3), torch.tensor([5, 3, 2]))
    z = torch.randn(10, 2, 8, generator=gen, dtype=torch.float64)
    ours = SupCLLoss(0.0, 0.3, "supcon")(z, labels)
    theirs = SupConLoss(temperature=0.3)(z.reshape(20, 8), labels.repeat_interleave(2))
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-12)


SPECS = __import__("pathlib").Path(__file__).parents[2] / "examples" / "specs"
WEIGHTED = LossSpec("weighted", ["view", "class", "other"], ["view", "class"], ["view"],
                    "anchors", pair_weights={"denominator": {"class": "1/2", "other": 2},
                                             "sup": {"view": 3}})


@pytest.mark.parametrize("convention", ["paper", "supcon", "dcl", "spread", "weighted"])
def test_symmetric_blocks_equal_the_per_pair_reference(monkeypatch, convention):
    """Unit rows keep only the upper-triangle blocks of the symmetric exponentials. With
    blocks of 5 rows of 14 (5, 5, 4: diagonal and mirrored blocks, uneven) the value equals
    the per-pair reference and the gradient finite differences, for the presets, a masked
    denominator (DCL), two denominators (spread) and pair weights, and for configurations
    batched along a leading dim."""
    from helpers.references import loss_of_embeddings
    from ssem_symbolic.loss import _losses as losses
    from ssem_symbolic.spec import load_spec

    monkeypatch.setattr(losses, "SYMMETRIC_BLOCK", 5)
    spec = WEIGHTED if convention == "weighted" else load_spec(SPECS / f"{convention}.toml")
    gen = torch.Generator().manual_seed(11)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 2])
    z = torch.randn(2, 7, 2, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    alpha, tau = torch.tensor([0.3, 0.8], dtype=torch.float64), 0.4
    got = supcl_loss(z, labels, alpha, tau, spec)
    for i in range(2):
        want = loss_of_embeddings(z[i].detach(), labels, float(alpha[i]), tau, spec)
        assert float(got[i].detach()) == pytest.approx(want, rel=1e-12)
    assert torch.autograd.gradcheck(lambda x: supcl_loss(x, labels, alpha, tau, spec), (z,))


@pytest.mark.parametrize("convention", ["paper", "supcon", "supcon-split"])
@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
@pytest.mark.parametrize("layout", ["pml", "supcontrast"])
def test_a_batch_without_positives_is_a_zero_loss_on_the_graph_as_in_pml(convention, dtype,
                                                                         layout):
    """pytorch-metric-learning's no-valid-pairs case in our words: all labels distinct, one
    view each, so no anchor has a positive. PML returns a zero loss connected to the graph;
    so must we: a 0-d tensor, 0, whose backward gives zero gradients (it was the int 0)."""
    from pytorch_metric_learning.losses import SupConLoss

    gen = torch.Generator().manual_seed(4)
    emb = torch.randn(5, 3, generator=gen).to(dtype).requires_grad_()
    labels = torch.arange(5)
    loss = SupCLLoss(0.0, 0.5, convention)
    if layout == "pml":
        value = loss(emb, labels, n_views=1)
    else:
        value = loss(emb[:, None, :], labels)
    assert isinstance(value, torch.Tensor) and value.dim() == 0 and float(value) == 0.0
    value.backward()
    assert emb.grad is not None and float(emb.grad.abs().max()) == 0.0
    assert float(SupConLoss(temperature=0.5)(emb.detach().double(), labels)) == float(value)
