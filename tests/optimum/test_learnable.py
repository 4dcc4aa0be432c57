"""A learnable temperature: the joint optimum over the embeddings and tau >= clamp, against
joint brute force (L-BFGS over free unit vectors and tau together, on a per-pair softmax loss
written here in torch and checked against the plain per-pair reference of tests/helpers)."""

import json

import numpy as np
import pytest
import torch

from helpers.cli import exit_status
from helpers.references import batch_loss, kinds_of, torch_batch_loss
from ssem_symbolic.cli import main
from ssem_symbolic.optimum import optimum
from ssem_symbolic.setting import Batch
from ssem_symbolic.spec import get_spec
from ssem_symbolic.vocab import Learnable



def _joint(spec, m, k, p, alpha, clamp, seeds=(0, 1)):
    """The best joint L-BFGS run: unit rows X = W/|W| and tau = clamp + exp(u)."""
    inst = [i for i in range(m * k) for _ in range(p)]
    labels = [i // k for i in inst]
    kinds = kinds_of(inst, labels)
    best = None
    for seed in seeds:
        gen = torch.Generator().manual_seed(seed)
        W = torch.randn(len(inst), len(inst), generator=gen, dtype=torch.float64)
        W.requires_grad_(True)
        u = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([W, u], lr=1, max_iter=1000, tolerance_grad=1e-12,
                                tolerance_change=1e-15, history_size=50,
                                line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            X = torch.nn.functional.normalize(W, dim=1)
            loss = torch_batch_loss(spec, kinds, X @ X.T, alpha, clamp + torch.exp(u))
            loss.backward()
            return loss
        for _ in range(2):
            opt.step(closure)
        with torch.no_grad():
            X = torch.nn.functional.normalize(W, dim=1)
            loss = float(torch_batch_loss(spec, kinds, X @ X.T, alpha, clamp + torch.exp(u)))
            tau = float(clamp + torch.exp(u))
            Z = X.reshape(m, k * p, -1)
            within = float(1 - (Z.mean(dim=1).norm(dim=-1) ** 2).mean())
        if best is None or loss < best[0]:
            best = (loss, tau, within, X @ X.T, kinds)
    return best


def test_the_torch_loss_is_the_per_pair_reference():
    spec = get_spec("paper")
    inst = [i for i in range(6) for _ in range(2)]
    kinds = kinds_of(inst, [i // 2 for i in inst])
    X = torch.nn.functional.normalize(torch.randn(12, 12, dtype=torch.float64,
                                                  generator=torch.Generator().manual_seed(3)),
                                      dim=1)
    S = X @ X.T
    for name in ("paper", "supcon"):
        spec = get_spec(name)
        tau = torch.tensor(0.2, dtype=torch.float64)
        assert float(torch_batch_loss(spec, kinds, S, 0.3, tau)) == pytest.approx(
            batch_loss(spec, kinds, S.tolist(), 0.3, 0.2), abs=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("name, alpha, clamp", [("supcon", 0.0, 0.1), ("supcon", 0.5, 0.1),
                                                ("paper", 0.7, 0.2), ("paper", 0.2, 0.1)])
def test_joint_brute_force_reaches_the_predicted_tau_and_geometry(name, alpha, clamp):
    """3 classes x 2 instances x 2 views: the joint optimum's tau (the clamp here), loss and
    within-class variance against the best of two joint L-BFGS runs. No run beats it."""
    torch.set_num_threads(1)
    opt = optimum(name, Batch.balanced(3, 2, 2), repr(alpha), Learnable(repr(clamp)))
    loss, tau, within, _, _ = _joint(get_spec(name), 3, 2, 2, alpha, clamp)
    assert opt.temperature.at_clamp and opt.temperature.tau == pytest.approx(clamp, rel=1e-12)
    assert loss >= opt.loss_value - 1e-9
    assert loss == pytest.approx(opt.loss_value, abs=1e-6)
    assert tau == pytest.approx(clamp, rel=1e-3)
    assert within == pytest.approx(opt.within_class_variance, abs=1e-3)


def test_the_profile_is_the_optimum_at_each_tau_and_tau_star_its_minimum():
    """The search's profile holds the optimum's loss at each grid tau (solved again here one
    by one), and the reported point is the lowest of them."""
    learn = Learnable("0.05", top=10)
    opt = optimum("supcon-split", Batch.balanced(3, 2, 2), "0.3", learn)
    profile = opt.temperature.profile
    assert profile[0][0] == 0.05 and profile[-1][0] == 10 and len(profile) == 33
    for t, value in profile[::8]:
        assert value == pytest.approx(optimum("supcon-split", Batch.balanced(3, 2, 2), "0.3",
                                              repr(t)).loss_value, abs=1e-12)
    assert opt.loss_value <= min(v for _, v in profile) + 1e-15
    again = optimum("supcon-split", Batch.balanced(3, 2, 2), "0.3", repr(opt.temperature.tau))
    assert again.loss_value == pytest.approx(opt.loss_value, abs=1e-12)


def test_the_scale_of_an_implementation_is_part_of_the_learned_loss():
    """supcontrast multiplies the loss by tau / 0.07: the learned loss is the trained one."""
    opt = optimum("supcontrast", Batch.balanced(3, 2, 2), "0", Learnable("0.05"))
    plain = optimum("supcon", Batch.balanced(3, 2, 2), "0", repr(opt.temperature.tau))
    assert opt.loss_value == pytest.approx(plain.loss_value * opt.temperature.tau / 0.07,
                                           rel=1e-9)


def test_cli_optimum_with_a_learnable_tau(capsys):
    rc = main(["optimum", "--loss", "supcon", "--classes", "3", "--per-class", "2",
               "--alpha", "0.5", "--tau", "learnable:0.1", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    learned = out["learned_temperature"]
    assert learned["at_clamp"] and learned["tau"] == 0.1 and learned["clamp"] == 0.1
    want = optimum("supcon", Batch.balanced(3, 2, 2), "0.5", "0.1")
    assert out["within_class_variance"] == pytest.approx(want.within_class_variance, abs=1e-15)
    rc = main(["optimum", "--loss", "supcon", "--classes", "3", "--per-class", "2",
               "--alpha", "0.5", "--tau", "learnable:0.1"])
    text = capsys.readouterr().out
    assert rc == 0 and "learned tau" in text and "at the clamp" in text


@pytest.mark.parametrize("tau, message", [("learnable:0", "0 < clamp"),
                                          ("learnable:abc", "expected a number"),
                                          ("learn", "must be a number"),
                                          ("learnable:1000", "0 < clamp")])
def test_bad_learnable_input_is_a_one_line_error(tau, message, capsys):
    rc = exit_status(["optimum", "--loss", "supcon", "--classes", "3", "--per-class", "2",
               "--alpha", "0.5", "--tau", tau])
    err = capsys.readouterr().err
    assert rc != 0 and message in err and len(err.strip().splitlines()) == 1


def test_other_commands_refuse_a_learnable_tau_in_one_line(capsys):
    for argv in (["regimes", "--tau", "learnable", "--dim", "4"],
                 ["regimes", "--tau", "learnable:0.1", "--alpha", "0.3"],
                 ["explain", "--alpha", "0.3", "--tau", "learnable", "--loss-value", "1"]):
        rc = exit_status(argv[:1] + ["--loss", "supcon", "--classes", "3", "--per-class", "2"]
                  + argv[1:])
        err = capsys.readouterr().err
        assert rc != 0 and len(err.strip().splitlines()) == 1, argv
    np.testing.assert_equal(Learnable.parse("learnable:0.05").clamp, Learnable("0.05").clamp)


def test_a_regime_scan_reports_where_tau_star_moves():
    """The scan's regime is the active set, the merges and where tau* lies: a solve whose tau*
    leaves the clamp at alpha = 0.3 (the same geometry throughout) gives one boundary there,
    located to the tolerance, with tau* on each side."""
    import dataclasses

    from ssem_symbolic.optimum import LearnedTemperature
    from ssem_symbolic.optimum._balanced import regimes_of

    base = optimum("paper", Batch.balanced(2, 2, 2), "0.9", "0.2")

    def solve(a, _):
        at = float(a) < 0.3
        return dataclasses.replace(base, temperature=LearnedTemperature(
            0.2 if at else 0.5, 0.2, 100.0, at_clamp=at, at_top=False))

    r = regimes_of(solve, tau=Learnable("0.2"), tol=1e-6, points=11)
    (b,) = r.boundaries
    assert b.at == pytest.approx(0.3, abs=1e-6) and b.below == b.above
    assert (b.tau_below, b.tau_above) == ("clamp", "interior")
    assert [x["tau_star"] for x in r.regimes] == ["clamp", "interior"]
    assert [x["tau"] for x in r.regimes] == [0.2, 0.5]
    assert r.as_dict()["boundaries"][0]["tau_star_above"] == "interior"


def test_cli_regimes_with_a_learnable_tau(capsys):
    """paper, 2 x 2 x 2, clamp 0.2, on a coarse scan: tau runs to the clamp at every alpha, so
    the one boundary is the closed-form alpha_c(0.2) of SSEM (to the scan's 1e-3 here)."""
    from ssem_symbolic.optimum import regimes
    from ssem_symbolic.ssem import alpha_c_value

    r = regimes("paper", Batch.balanced(2, 2, 2), tau=Learnable("0.2"), points=5, tol=1e-3)
    (b,) = r.boundaries
    assert b.at == pytest.approx(float(alpha_c_value("paper", 2, 2, 2, "0.2")), abs=1e-3)
    assert all(x["tau_star"] == "clamp" and x["tau"] == 0.2 for x in r.regimes)
    assert [x["collapsed"] for x in r.regimes] == [True, False]
    assert r.fixed == {"tau": "learnable", "clamp": 0.2, "top": 100.0}


@pytest.mark.slow
def test_learned_regimes_against_joint_brute_force(capsys):
    """paper, 3 x 2 x 2, clamp 0.1: the learned regimes are those at the clamp (tau* there at
    every alpha), one boundary at alpha_c(0.1) to 1e-6; on each side of it joint L-BFGS over
    free unit vectors and tau reaches the clamp and the predicted within-class variance (0
    below, > 0 above) and loss, and never beats the prediction. The CLI prints the scan."""
    from ssem_symbolic.optimum import regimes
    from ssem_symbolic.ssem import alpha_c_value

    torch.set_num_threads(1)
    learn = Learnable("0.1")
    r = regimes("paper", Batch.balanced(3, 2, 2), tau=learn)
    (b,) = r.boundaries
    a_c = float(alpha_c_value("paper", 3, 2, 2, "0.1"))
    assert b.at == pytest.approx(a_c, abs=1e-6)
    assert all(x["tau_star"] == "clamp" for x in r.regimes)
    for alpha, collapsed in ((a_c - 0.05, True), (a_c + 0.05, False)):
        opt = optimum("paper", Batch.balanced(3, 2, 2), repr(alpha), learn)
        assert opt.collapsed is collapsed
        loss, tau, within, _, _ = _joint(get_spec("paper"), 3, 2, 2, alpha, 0.1)
        assert loss >= opt.loss_value - 1e-9 and loss == pytest.approx(opt.loss_value, abs=1e-6)
        assert tau == pytest.approx(0.1, rel=1e-3)
        assert within == pytest.approx(opt.within_class_variance, abs=1e-3)
        assert (within < 1e-3) is collapsed
    rc = main(["regimes", "--loss", "paper", "--classes", "3", "--per-class", "2",
               "--tau", "learnable:0.1"])
    text = capsys.readouterr().out
    assert rc == 0 and f"alpha = {b.at:.7g}" in text and "tau* = 0.1, at the clamp" in text


def _limit_loss(spec, kinds, sims, alpha: float) -> float:
    """lim tau -> 0 of tau x helpers.references.batch_loss, written per pair from the same
    definitions: each log-sum-exp becomes the maximum of its similarities (softmax), each
    softplus(-y (s/tau + b)) times tau the positive part of -y s (sigmoid)."""
    M = len(kinds)
    total = 0.0
    for i, term in enumerate(("sup", "self")):
        w0, w1 = (float(x) for x in spec.weights[i])
        weight = w0 + w1 * alpha
        if spec.form == "sigmoid":
            values = [max(0.0, -(1 if kinds[a][b] in spec.positives(term) else -1) * sims[a][b])
                      for a in range(M) for b in range(M) if kinds[a][b] in spec.denominator]
            total += weight * sum(values) / (M if spec.mean == "anchors" else len(values))
            continue
        per_anchor = []
        for a in range(M):
            top = max(sims[a][c] for c in range(M) if kinds[a][c] in spec.denominator_of(term))
            pos = [top - sims[a][b] for b in range(M) if kinds[a][b] in spec.positives(term)]
            if pos:
                per_anchor.append(sum(pos) / len(pos))
        if per_anchor:
            total += weight * sum(per_anchor) / len(per_anchor)
    return total


def _symmetric_sims(v, c, o, m, k, p):
    """(kinds, sims) of the symmetric Gram matrix (v, c, o) of an m x k x p batch."""
    inst = [i for i in range(m * k) for _ in range(p)]
    kinds = kinds_of(inst, [i // k for i in inst])
    value = {"self": 1.0, "view": v, "class": c, "other": o}
    return kinds, [[value[t] for t in row] for row in kinds]


@pytest.mark.parametrize("name, alpha, want", [("dcl", 0.5, -0.8), ("supcon", 0.5, 0.0),
                                               ("paper", 0.2, 0.0),
                                               pytest.param("supervised-sigmoid", 0.5, 0.0,
                                                            marks=pytest.mark.slow)])
def test_the_tau_zero_limit_against_the_per_pair_loss(name, alpha, want):
    """V*, the exact minimum of lim tau x loss as tau -> 0 over the symmetric polyhedron: no
    symmetric point of 3 x 2 x 2 on a grid of step 0.2 has the per-pair limit (written here)
    below it, and the best of them reaches it. DCL: V* = -4/5 < 0, the loss
    falls without bound as tau -> 0; the others: 0."""
    spec = get_spec(name)
    opt = optimum(name, Batch.balanced(3, 2, 2), repr(alpha), Learnable("0.05"))
    limit = opt.temperature.limit
    assert float(limit.value) == pytest.approx(want, abs=1e-15)
    from ssem_symbolic.setting import polyhedron

    P = polyhedron(3, 2, 2)
    best = float("inf")
    for v in np.linspace(-1, 1, 11):
        for c in np.linspace(-1, 1, 11):
            for o in np.linspace(-1, 1, 11):
                if min(P.eigenvalues([v, c, o])) < -1e-12:
                    continue
                kinds, sims = _symmetric_sims(v, c, o, 3, 2, 2)
                value = _limit_loss(spec, kinds, sims, alpha)
                assert value >= float(limit.value) - 1e-12
                best = min(best, value)
    assert best == pytest.approx(float(limit.value), abs=1e-12)


def test_near_zero_the_optimums_loss_is_v_star_over_tau():
    """dcl, 3 x 2 x 2, alpha 0.5: tau F(tau) from the exact optimum approaches V* = -4/5 as tau
    falls (the O(1) remainder shrinks with tau)."""
    values = [float(t) * optimum("dcl", Batch.balanced(3, 2, 2), "0.5", t).loss_value
              for t in ("0.05", "0.01", "0.002")]
    gaps = [abs(v + 0.8) for v in values]
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 0.01


@pytest.mark.slow
@pytest.mark.parametrize("name", ["paper", "supcon"])
def test_the_learned_threshold_is_alpha_c_at_the_clamp(name, capsys):
    """Where tau runs to the clamp at every alpha, collapse with tau learned is collapse at the
    clamp: the bisection on the learned optimum (threshold with a Learnable) lands on the
    closed-form alpha_c(clamp) of the SSEM derivation, to its 1e-6. The CLI prints it."""
    from ssem_symbolic.optimum import threshold
    from ssem_symbolic.ssem import alpha_c_value

    batch = Batch.balanced(3, 2, 2)
    th = threshold(name, batch, tau=Learnable("0.1"))
    assert th.collapse_when == "alpha <= alpha_c"
    assert th.alpha_c == pytest.approx(float(alpha_c_value(name, 3, 2, 2, "0.1")), abs=1e-6)
    rc = main(["threshold", "--loss", name, "--classes", "3", "--per-class", "2",
               "--tau", "learnable:0.1", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["alpha_c"] == th.alpha_c and out["tau"] == "learnable:0.1"


@pytest.mark.slow
def test_the_learned_guide_against_the_closed_form_and_joint_brute_force(capsys):
    """paper, 3 x 2 x 2, clamp 0.1, target within-class variance 0.2: tau runs to the clamp,
    so alpha_c is the closed-form alpha_c(0.1) and the alpha for the target is the fixed-tau
    guide's at 0.1 (both to 1e-6); joint L-BFGS over free unit vectors and tau at that alpha
    lands on the clamp with within-class variance 0.2 (to 1e-3). The CLI says it in words."""
    from ssem_symbolic.report import guide
    from ssem_symbolic.ssem import alpha_c_value

    torch.set_num_threads(1)
    g = guide("paper", Batch.balanced(3, 2, 2), tau=Learnable("0.1"), target_within=0.2)
    assert g["alpha_c"] == pytest.approx(float(alpha_c_value("paper", 3, 2, 2, "0.1")),
                                         abs=1e-6)
    assert g["collapse_when"] == "alpha <= alpha_c"
    fixed = guide("paper", Batch.balanced(3, 2, 2), tau=0.1, target_within=0.2)
    (found,) = g["alphas"]
    assert found["alpha"] == pytest.approx(fixed["alpha"], abs=1e-6) and found["tau"] == 0.1
    assert [w["kind"] for w in g.warnings] == ["learned_tau_searched"]
    _, tau, within, _, _ = _joint(get_spec("paper"), 3, 2, 2, found["alpha"], 0.1)
    assert tau == pytest.approx(0.1, rel=1e-3) and within == pytest.approx(0.2, abs=1e-3)
    rc = main(["guide", "--loss", "paper", "--classes", "3", "--per-class", "2",
               "--tau", "learnable:0.1", "--target-within", "0.2"])
    text = capsys.readouterr().out
    assert rc == 0 and f"alpha = {found['alpha']:.6g} gives within-class variance 0.2" in text
    assert "the classes collapse iff alpha <= 0.5" in text


def test_the_learned_guide_refuses_what_it_cannot_answer(capsys):
    """A dimension check needs a fixed tau, a target lies in [0, 1): one line each."""
    from ssem_symbolic.report import guide

    with pytest.raises(ValueError, match="fixed tau"):
        guide("paper", Batch.balanced(3, 2, 2), tau=Learnable("0.1"), target_within=0.2, dim=3)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        guide("paper", Batch.balanced(3, 2, 2), tau=Learnable("0.1"), target_within=1.5)
    rc = exit_status(["guide", "--loss", "paper", "--classes", "3", "--per-class", "2", "--tau",
               "learnable", "--target-within", "0.2", "--dim", "3"])
    err = capsys.readouterr().err
    assert rc != 0 and "fixed tau" in err and len(err.strip().splitlines()) == 1
