"""Paired modalities (image-text pairs; a spec's ``contrast = "cross-modal"``: CLIP and
SigLIP): the polyhedron against the eigenvalues of explicit Gram matrices, the published
thresholds of Lee, Chang and Sohn (AISTATS 2024; docs/references.md), and the exact optimum
against brute force over free unit vectors on a per-pair loss written in the tests
(tests/helpers/references.py)."""

import math

import numpy as np
import pytest
import torch

from helpers.references import free_minimum, kinds_of, torch_paired_loss
from ssem_symbolic.optimum import optimum, regimes, threshold
from ssem_symbolic.setting import Batch, Paired, paired_polyhedron
from ssem_symbolic.spec import LossSpec, UnsupportedConvention, get_spec, load_spec
from ssem_symbolic.vocab import exact

PAIRS = dict(denominator=["view", "class", "other"], sup=["view", "class"], self_=["view"],
             mean="anchors")
CLIP = LossSpec("clip", **PAIRS, contrast="cross-modal")


def siglip(bias) -> LossSpec:
    """SigLIP across modalities: a pair's logit s/tau + bias."""
    return LossSpec("siglip", **PAIRS, form="sigmoid", bias=bias, contrast="cross-modal")


def paper_point(t: str):
    """Lee, Chang and Sohn's loss log(1 + exp(-y (t s - b))) with b = t: tau = 1/t and
    bias = -t."""
    return siglip(-exact(t)), 1 / exact(t)


def _labels(b: Paired):
    """Instance, class and modality of each embedding (instance-major: image, then text)."""
    inst = [i for i in range(b.pairs) for _ in range(2)]
    return inst, [i // b.per_class for i in inst], [j % 2 for j in range(2 * b.pairs)]


@pytest.mark.parametrize("m, k", [(4, 1), (3, 2), (2, 3), (5, 1)])
def test_the_polyhedron_is_the_spectrum_of_explicit_gram_matrices(m, k):
    b, P = Paired(m, k), paired_polyhedron(m, k)
    inst, cls, mod = _labels(b)
    rng = np.random.default_rng(3)
    for _ in range(5):
        x = dict(zip(("view", "class", "other", "class[intra]", "other[intra]"),
                     rng.uniform(-1, 1, 5)))
        if k == 1:
            x["class"] = x["class[intra]"] = 1.0
        G = np.array([[1.0 if a == c else x["view"] if inst[a] == inst[c] else
                       x["class" if mod[a] != mod[c] else "class[intra]"]
                       if cls[a] == cls[c] else
                       x["other" if mod[a] != mod[c] else "other[intra]"]
                       for c in range(len(inst))] for a in range(len(inst))])
        lam = [float(e) for e in P.eigenvalues([x[c] for c in P.coords])]
        got = np.sort(np.repeat(lam, P.multiplicity))
        assert np.allclose(got, np.sort(np.linalg.eigvalsh(G)), atol=1e-10)


def _switch(N: int, lo: str, hi: str, flag) -> float:
    """The t in [lo, hi] where ``flag`` of the optimum at Lee et al.'s point (b = t) changes,
    by bisection to 1e-9 (one change assumed)."""
    a, b = exact(lo), exact(hi)
    spec, tau = paper_point(str(a))
    at_a = flag(optimum(spec, Paired(N), 1, tau))
    while b - a > exact("1e-9"):
        mid = (a + b) / 2
        spec, tau = paper_point(str(mid))
        if flag(optimum(spec, Paired(N), 1, tau)) == at_a:
            a = mid
        else:
            b = mid
    return float((a + b) / 2)


@pytest.mark.parametrize("N", [4, 6, 10, 20])
def test_lee_chang_sohn_thresholds(N):
    """Their Theorem (docs/references.md): with b = t the optimum of the sigmoid loss is the
    simplex ETF iff t >= (N - 1)/N log(N - 3), and antipodal iff t <= log((N - 2)/2)/2; in
    between it lies strictly inside their double-constant model. The engine's optimum, over
    the whole symmetric family, switches there to 1e-8."""
    simplex = (N - 1) / N * math.log(N - 3) if N > 4 else None
    antipodal = 0.5 * math.log((N - 2) / 2)
    if simplex is not None:
        got = _switch(N, f"{simplex / 2 + antipodal / 2:.12f}", f"{simplex + 1:.12f}",
                      lambda o: o.paired["structure"] == "simplex")
        assert got == pytest.approx(simplex, abs=1e-8)
    if antipodal > 0:
        got = _switch(N, "0.01", f"{(simplex or 1) / 2 + antipodal / 2:.12f}",
                      lambda o: o.paired["structure"] == "antipodal")
        assert got == pytest.approx(antipodal, abs=1e-8)
    if simplex is None:  # N = 4: both thresholds are 0, the simplex at every t
        for t in ("0.05", "0.5", "3"):
            spec, tau = paper_point(t)
            assert optimum(spec, Paired(N), 1, tau).paired["structure"] == "simplex"
        return
    # strictly between: the optimum is neither, with a modality gap, on the CCEM's line
    spec, tau = paper_point(str(round((antipodal + simplex) / 2, 6)))
    opt = optimum(spec, Paired(N), 1, tau)
    assert opt.paired["structure"] == "between" and opt.paired["modality_gap"] > 1e-3
    assert set(opt.active) == {"all-ones+", "between-class-"}


def test_clip_is_the_simplex_at_every_tau_and_the_modality_gap_closes():
    """CLIP's symmetric InfoNCE: every image equals its text and the pairs form the simplex
    (a = 1, o = -1/(N - 1)) at every tau; the modality gap is 0."""
    for N in (3, 4, 8):
        for tau in ("0.05", "0.5", "5"):
            opt = optimum(CLIP, Paired(N), 1, tau)
            assert opt.paired["structure"] == "simplex"
            assert opt.view == pytest.approx(1, abs=1e-12)
            assert opt.other == pytest.approx(-1 / (N - 1), abs=1e-12)
            assert abs(opt.paired["modality_gap"]) < 1e-12


def test_cho_et_al_clip_optimum_value():
    """docs/references.md: Cho et al.'s two-direction InfoNCE optimum, 2 log(1 + (N - 1)
    e^(-N/((N-1) tau))), is twice CLIP's here (a mean over the 2N anchors): N = 4, tau = 1
    gives 1.16531531 / 2."""
    assert optimum(CLIP, Paired(4), 1, 1).loss_value == pytest.approx(1.16531531 / 2, abs=1e-8)
    for N, tau in ((3, "0.3"), (7, "2")):
        t = float(exact(tau))
        want = math.log(1 + (N - 1) * math.exp(-N / ((N - 1) * t)))
        assert optimum(CLIP, Paired(N), 1, tau).loss_value == pytest.approx(want, abs=1e-12)


def test_contrast_all_on_pairs_is_the_flat_batch_of_two_views():
    """Without the cross-modal restriction a pair is an instance of two views: the optimum
    is the flat batch's, and the two modalities coincide in their similarities."""
    for spec, a, t in (("supcon", "0.5", "0.5"), ("supcon-split", "0.3", "0.3"),
                       ("paper", "0.2", "1")):
        flat = optimum(spec, Batch.balanced(3, 2, 2), a, t)
        paired = optimum(spec, Paired(3, 2), a, t)
        assert paired.loss_value == pytest.approx(flat.loss_value, abs=1e-12)
        assert paired.other == pytest.approx(flat.other, abs=1e-12)
        assert paired.paired["other_similarity_intra"] == pytest.approx(flat.other, abs=1e-12)


def test_cross_modal_specs_need_pairs_and_refuse_everywhere_else():
    with pytest.raises(ValueError, match="image-text pairs"):
        optimum(CLIP, Batch.balanced(3, 2), 1, "0.5")
    with pytest.raises(ValueError, match="image-text pairs"):
        regimes(CLIP, Batch.balanced(3, 2), tau="0.5")
    with pytest.raises(ValueError, match="image-text pairs"):
        threshold(CLIP, Batch.balanced(3, 2), tau="0.5")
    with pytest.raises(UnsupportedConvention, match="contrasts across modalities"):
        CLIP.softmax("the closed forms")
    with pytest.raises(UnsupportedConvention, match="itself"):
        LossSpec("x", ["self", "view", "other"], ["view"], ["view"], "anchors",
                 contrast="cross-modal")
    with pytest.raises(UnsupportedConvention, match="contrast must be"):
        LossSpec("x", **PAIRS, contrast="sideways")
    split = LossSpec("split", ["view", "class", "other"], ["class"], ["view"], "anchors",
                     contrast="cross-modal")
    with pytest.raises(ValueError, match="no positive"):
        optimum(split, Paired(4), 0, "0.5")  # class positives need k >= 2
    assert load_spec("examples/data/clip.toml") == CLIP.__class__(
        "clip", **PAIRS, contrast="cross-modal")
    assert get_spec("examples/data/siglip-pairs.toml").bias == -10


def _brute(spec, b: Paired, alpha: float, tau: float):
    inst, cls, mod = _labels(b)
    kinds = kinds_of(inst, cls)
    cross = [[x != y for y in mod] for x in mod]
    loss, X = free_minimum(lambda S: torch_paired_loss(spec, kinds, cross, S, alpha, tau),
                           len(inst))
    S = X @ X.T
    i, c, md = (torch.tensor(v) for v in (inst, cls, mod))
    across = md[:, None] != md
    masks = {"view": i[:, None] == i, "other": (c[:, None] != c) & across,
             "other_intra": (c[:, None] != c) & ~across}
    sims = {t: float(S[mask & (torch.eye(len(inst)) == 0)].mean()) for t, mask in masks.items()}
    return loss, sims


#: (spec, pairs, alpha, tau; for "paper" Lee et al.'s t = 1/tau): their slice (b = t) at
#: N = 6 on each side of both thresholds (antipodal below 0.3466, simplex above 0.9155),
#: SigLIP's bias -10 on both sides of its boundary along tau (0.04144), CLIP, and CLIP with
#: labels
POINTS = [("paper", 6, 1, "0.25"), ("paper", 6, 1, "0.45"), ("paper", 6, 1, "0.8"),
          ("paper", 6, 1, "1.2"), ("paper", 4, 1, "0.5"), ("siglip", 6, 1, "0.035"),
          ("siglip", 6, 1, "0.06"), ("clip", 4, 1, "0.5"), ("clip", 5, 1, "0.1"),
          ("clip", (3, 2), "0.5", "0.5")]


@pytest.mark.slow
@pytest.mark.parametrize("name, pairs, alpha, tau", POINTS)
def test_brute_force_reaches_the_optimum_and_never_beats_it(name, pairs, alpha, tau):
    b = Paired(*pairs) if isinstance(pairs, tuple) else Paired(pairs)
    if name == "paper":  # the fourth entry is Lee et al.'s t
        spec, t = paper_point(tau)
    else:
        spec, t = (siglip(-10) if name == "siglip" else CLIP), exact(tau)
    opt = optimum(spec, b, alpha, t)
    loss, sims = _brute(spec, b, float(alpha), float(t))
    assert loss >= opt.loss_value - 1e-9
    assert loss == pytest.approx(opt.loss_value, abs=1e-6)
    want = {"view": opt.view, "other": opt.other,
            "other_intra": opt.paired["other_similarity_intra"]}
    for key, value in sims.items():
        assert value == pytest.approx(want[key], abs=1e-3), key
