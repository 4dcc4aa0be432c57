"""The reduced dynamics against free unit embeddings simulated with the same update rule, in
float64, from symmetric starts: every step, every preset and custom specs of both forms."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ssem_symbolic.dynamics import Dynamics, parse_start, stable_lr, summarise
from ssem_symbolic.loss import supcl_loss
from ssem_symbolic.optimum import optimum
from ssem_symbolic.setting import Batch

torch.set_num_threads(1)


def _layout(m, k, p):
    inst = [i for i in range(m * k) for _ in range(p)]
    return inst, [i // k for i in inst]


def vectors(m, k, p, x):
    """Unit vectors (m k, p, M) whose Gram matrix has the values 1, v, c, o per pair type."""
    inst, lab = _layout(m, k, p)
    v, c, o = x
    G = np.array([[1.0 if a == b else v if inst[a] == inst[b] else c if lab[a] == lab[b] else o
                   for b in range(len(inst))] for a in range(len(inst))])
    w, U = np.linalg.eigh(G)
    X = U * np.sqrt(np.clip(w, 0, None))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return torch.tensor(X).reshape(m * k, p, -1)


def typed(X, m, k, p):
    """The mean Gram value per pair type (v, c, o) and the largest spread within a type."""
    inst, lab = _layout(m, k, p)
    Z = torch.nn.functional.normalize(X.reshape(len(inst), -1), dim=-1)
    G = (Z @ Z.T).numpy()
    M = len(inst)
    vals = {"v": [], "c": [], "o": []}
    for a in range(M):
        for b in range(M):
            if a != b:
                vals["v" if inst[a] == inst[b] else "c" if lab[a] == lab[b] else "o"].append(
                    G[a, b])
    mean = np.array([np.mean(vals[t]) if vals[t] else 1.0 for t in "vco"])
    spread = max(np.ptp(vals[t]) if vals[t] else 0.0 for t in "vco")
    return mean, spread


CASES = [("paper", (3, 4, 2), 0.5, 0.5, (0.9, 0.5, 0.1)),
         ("supcon", (3, 4, 2), 0.3, 0.5, (0.9, 0.5, 0.1)),
         ("supcon-split", (3, 2, 2), 0.1, 0.3, (0.5, 0.3, 0.0)),
         ("dcl", (2, 3, 2), 0.5, 0.3, (0.3, 0.2, 0.0)),
         ("spread", (2, 2, 3), 0.4, 0.5, (0.6, 0.2, -0.1)),
         ("siglip", (2, 2, 2), 0.5, 0.5, (0.5, 0.2, 0.1)),
         ("paper", (3, 3, 1), 0.5, 0.5, (1.0, 0.3, 0.0))]


@pytest.mark.parametrize("name, batch, alpha, tau, start", CASES)
def test_gradient_descent_equals_the_simulation_every_step(name, batch, alpha, tau, start):
    m, k, p = batch
    dyn = Dynamics(name, m, k, p, str(alpha), str(tau))
    X = vectors(m, k, p, start)
    labels = torch.arange(m).repeat_interleave(k)
    x, lr = np.array(start, dtype=float), 0.2
    for _ in range(60):
        Xr = X.clone().requires_grad_()
        supcl_loss(Xr, labels, alpha, tau, name).backward()
        X = torch.nn.functional.normalize((Xr - lr * Xr.grad).detach(), dim=-1)
        x = dyn.gd_step(x, lr)
        measured, spread = typed(X, m, k, p)
        assert spread < 1e-10  # the symmetric family is kept
        assert np.abs(measured - x).max() < 1e-8


@pytest.mark.parametrize("name, batch, alpha, tau, start", CASES[1:4])
def test_heavy_ball_equals_the_simulation_every_step(name, batch, alpha, tau, start):
    m, k, p = batch
    dyn = Dynamics(name, m, k, p, str(alpha), str(tau))
    X = vectors(m, k, p, start)
    labels = torch.arange(m).repeat_interleave(k)
    x, b, buf = np.array(start, dtype=float), np.zeros(4), torch.zeros_like(X)
    lr, beta = 0.1, 0.8
    for _ in range(60):
        Xr = X.clone().requires_grad_()
        supcl_loss(Xr, labels, alpha, tau, name).backward()
        buf = beta * buf + Xr.grad  # torch.optim.SGD(momentum=beta)'s buffer
        X = torch.nn.functional.normalize((Xr - lr * buf).detach(), dim=-1)
        x, b = dyn.momentum_step(x, b, lr, beta)
        measured, _ = typed(X, m, k, p)
        assert np.abs(measured - x).max() < 1e-8


@pytest.mark.parametrize("name, batch, alpha, tau, start", CASES)
def test_the_flow_is_the_simulated_riemannian_gradient(name, batch, alpha, tau, start):
    """d G / dt = -(T X^T + X T^T), T the Riemannian gradient of the simulated rows: its mean
    per pair type is the reduced flow's right-hand side."""
    m, k, p = batch
    dyn = Dynamics(name, m, k, p, str(alpha), str(tau))
    X = vectors(m, k, p, start).requires_grad_()
    supcl_loss(X, torch.arange(m).repeat_interleave(k), alpha, tau, name).backward()
    Z = X.detach().reshape(m * k * p, -1)
    T = X.grad.reshape(m * k * p, -1)  # tangent already: the loss normalises its rows
    dG = -(T @ Z.T + Z @ T.T)
    inst, lab = _layout(m, k, p)
    rates = {"v": [], "c": [], "o": []}
    for a in range(len(inst)):
        for b in range(len(inst)):
            if a != b:
                rates["v" if inst[a] == inst[b] else "c" if lab[a] == lab[b] else "o"].append(
                    float(dG[a, b]))
    measured = np.array([np.mean(rates[t]) if rates[t] else 0.0 for t in "vco"])
    assert np.abs(measured - dyn.flow_rhs(start)).max() < 1e-10


@pytest.mark.parametrize("name", ["paper", "supcon", "supcon-split", "siglip"])
def test_jacobians_equal_finite_differences_of_the_simulated_update(name):
    """At complete collapse the flow's Jacobian has the escape rates -4 h_e as eigenvalues; at
    the optimum the map's Jacobian equals central differences of the simulated step."""
    m, k, p, alpha, tau, lr = 3, 3, 2, "0.4", "0.5", 0.3
    dyn = Dynamics(name, m, k, p, alpha, tau)
    at_collapse = np.sort(np.linalg.eigvals(dyn.flow_jacobian(np.ones(3))).real)
    assert np.allclose(at_collapse, np.sort(dyn.collapse_rates()), atol=1e-9)
    opt = optimum(name, Batch.balanced(m, k, p), alpha, tau)
    x_star = np.array([opt.view, opt.class_, opt.other])
    labels = torch.arange(m).repeat_interleave(k)
    h = 1e-5

    def step(g):  # the simulated step in the Gram eigenvalues (view, within, between)
        X = vectors(m, k, p, dyn.coords(np.append(g, 0.0))).requires_grad_()
        supcl_loss(X, labels, float(alpha), float(tau), name).backward()
        y = typed(torch.nn.functional.normalize((X - lr * X.grad).detach(), dim=-1), m, k, p)[0]
        return dyn.gamma(y)[:3]
    g_star = dyn.gamma(x_star)[:3]
    # feasible directions from the optimum, which sits on faces of the cone gamma >= 0 (the
    # all-ones eigenvalue M - sum mult_e gamma_e among them): two along the face of that
    # eigenvalue, one into it; forward differences of second order along each
    mv, mw, mb = dyn.mult[:3]
    B = np.array([[mb, 0, 0], [0, mb, 0], [-mv, -mw, -1.0]])
    D = np.zeros((3, 3))
    for i in range(3):
        e = B[:, i] * h
        D[:, i] = (-3 * step(g_star) + 4 * step(g_star + e) - step(g_star + 2 * e)) / (2 * h)
    J = D @ np.linalg.inv(B)
    reduced = dyn.gd_jacobian(x_star, lr)
    assert np.abs(np.sort(np.linalg.eigvals(J).real) - np.sort(np.linalg.eigvals(reduced).real)
                  ).max() < 1e-6


def test_the_plateau_from_collapse_is_log_eps_over_the_escape_rate():
    dyn = Dynamics("supcon", 3, 4, 2, "0.3", "0.5")
    opt = optimum("supcon", Batch.balanced(3, 4, 2), "0.3", "0.5")
    x_star = [opt.view, opt.class_, opt.other]
    for eps in (1e-4, 1e-8):
        traj = dyn.run(parse_start(f"collapsed:{eps}", dyn), rule="flow", horizon=120)
        s = summarise(dyn, traj, x_star, opt.loss_value, eps=eps)
        # the linearised prediction neglects terms of relative size 0.1 (the exit level)
        assert s.plateau == pytest.approx(s.plateau_predicted, rel=0.05)
    longer = summarise(dyn, dyn.run(parse_start("collapsed:1e-12", dyn), rule="flow",
                                    horizon=120), x_star, opt.loss_value, eps=1e-12)
    assert longer.plateau > s.plateau  # log(1/eps): a smaller eps, a longer plateau


def test_gradient_descent_reaches_the_optimum_and_a_step_beyond_the_stable_range_is_refused():
    dyn = Dynamics("supcon", 3, 4, 2, "0.3", "0.5")
    opt = optimum("supcon", Batch.balanced(3, 4, 2), "0.3", "0.5")
    x_star = np.array([opt.view, opt.class_, opt.other])
    traj = dyn.run([0.5, 0.2, 0.0], rule="gd", steps=3000, lr=0.5)
    assert np.abs(traj.x[-1] - x_star).max() < 1e-9
    assert traj.loss[-1] == pytest.approx(opt.loss_value, abs=1e-12)
    top = stable_lr(dyn, x_star)
    inside = dyn.gd_jacobian(x_star, 0.99 * top)
    outside = dyn.gd_jacobian(x_star, 1.01 * top)
    assert max(abs(np.linalg.eigvals(inside))) < 1 < max(abs(np.linalg.eigvals(outside)))


@pytest.mark.parametrize("text, message", [("collapsed:2", "(0, 1)"), ("0.5,0.5", "three"),
                                           ("1,1,-1", "not a Gram matrix"),
                                           ("fast", "collapsed:EPS, uniform or v,c,o")])
def test_bad_starts_are_one_line(text, message):
    with pytest.raises(ValueError, match=message):
        parse_start(text, Dynamics("supcon", 3, 4, 2, "0.3", "0.5"))


@pytest.mark.parametrize("name", ["supcon", "paper"])
def test_critical_slowing_down_has_exponent_one_on_both_sides(name):
    from ssem_symbolic.dynamics import critical_slowing

    s = critical_slowing(name, 3, 4, 2, "0.5")
    for side in ("below", "above"):
        assert s.exponent[side] == pytest.approx(1.0, abs=5e-3)
        assert s.prefactor[side] > 0


def test_the_relaxation_rate_of_simulated_embeddings_converges_to_the_derived_one():
    """Free embeddings started at the optimum plus a symmetric perturbation of size eps along
    the slowest direction: the per-step decay rate fitted from their distance to the optimum
    tends to the derived rate as eps -> 0; its error at eps / 10 is bounded by its change from
    eps to eps / 10 (the error is linear in eps)."""
    from ssem_symbolic.dynamics import Dynamics

    m, k, p, alpha, tau, lr = 3, 4, 2, "0.25", "0.5", 0.5
    dyn = Dynamics("supcon", m, k, p, alpha, tau)
    opt = optimum("supcon", Batch.balanced(m, k, p), alpha, tau)
    x_star = np.array([opt.view, opt.class_, opt.other])
    J = dyn.gd_jacobian(x_star, lr)
    w, V = np.linalg.eig(J)
    slow = int(np.argmax(abs(w)))
    derived = -np.log(abs(w[slow]))
    direction = np.real(V[:, slow])
    direction *= -np.sign(direction[0]) if abs(direction[0]) > 1e-12 else 1.0  # v stays <= 1
    labels = torch.arange(m).repeat_interleave(k)

    def fitted(eps, steps=40):
        X = vectors(m, k, p, x_star + eps * direction)
        dist = []
        for _ in range(steps):
            Xr = X.clone().requires_grad_()
            supcl_loss(Xr, labels, float(alpha), float(tau), "supcon").backward()
            X = torch.nn.functional.normalize((Xr - lr * Xr.grad).detach(), dim=-1)
            dist.append(np.abs(typed(X, m, k, p)[0] - x_star).max())
        return -np.polyfit(np.arange(steps), np.log(dist), 1)[0]

    coarse, fine = fitted(1e-3), fitted(1e-4)
    assert abs(fine - derived) <= abs(coarse - fine) + 1e-9


def test_the_dataset_flow_is_the_expected_gradient_over_every_batch_of_the_sampler():
    """A 3 x 3 x 2 dataset, the sampler drawing 2 classes x 2 instances: the mean over all 27
    batches of the simulated Riemannian gradient gives, per pair type, the reduced flow."""
    import itertools

    C, n, p, m, k, alpha, tau = 3, 3, 2, 2, 2, 0.4, 0.5
    dyn = Dynamics("supcon", m, k, p, str(alpha), str(tau), dataset=(C, n))
    x = np.array([0.7, 0.3, -0.1])
    X = vectors(C, n, p, x)
    grad = torch.zeros_like(X)
    batches = 0
    for classes in itertools.combinations(range(C), m):
        for picks in itertools.product(itertools.combinations(range(n), k), repeat=m):
            rows = [c * n + i for c, inst in zip(classes, picks) for i in inst]
            Z = X[rows].clone().requires_grad_()
            supcl_loss(Z, torch.arange(m).repeat_interleave(k), alpha, tau, "supcon").backward()
            grad[rows] += Z.grad
            batches += 1
    grad /= batches
    assert np.abs(_flow_per_type(X, grad, C, n, p) - dyn.flow_rhs(x)).max() < 1e-12


def _flow_per_type(X, grad, C, n, p) -> np.ndarray:
    """dG/dt = -(T X^T + X T^T) of the rows' mean gradient T, per pair type (v, c, o),
    asserting first that it is constant on each type (the flow keeps the family)."""
    Zf, T = X.reshape(C * n * p, -1), grad.reshape(C * n * p, -1)
    dG = (-(T @ Zf.T + Zf @ T.T)).numpy()
    inst, lab = _layout(C, n, p)
    rates = {"v": [], "c": [], "o": []}
    for a in range(len(inst)):
        for b in range(len(inst)):
            if a != b:
                rates["v" if inst[a] == inst[b] else "c" if lab[a] == lab[b] else "o"].append(
                    dG[a, b])
    assert max(np.ptp(r) for r in rates.values()) < 1e-12  # constant per type: symmetric
    return np.array([np.mean(rates[t]) for t in "vco"])


def test_escape_rates_from_collapse_in_closed_form():
    """supcon at complete collapse: every logit equal, so the gradient there is rational and
    the escape rates are exact rationals; they equal the float rates."""
    import sympy

    dyn = Dynamics("supcon", 3, 4, 2, "3/10", "1/2")
    exact = dyn.collapse_rates_exact()
    assert exact == [sympy.Rational(-41, 345), sympy.Rational(28, 345), sympy.Rational(8, 23)]
    assert np.allclose([float(r) for r in exact], dyn.collapse_rates(), atol=1e-14)


def test_the_flow_states_its_integration_error():
    dyn = Dynamics("supcon", 3, 4, 2, "0.3", "0.5")
    coarse = dyn.run([0.5, 0.2, 0.0], rule="flow", horizon=20, dt=0.5)
    fine = dyn.run([0.5, 0.2, 0.0], rule="flow", horizon=20, dt=0.01)
    assert coarse.error > 0 and np.abs(coarse.x[-1] - fine.x[-1]).max() <= 2 * coarse.error


@pytest.mark.parametrize("name", ["paper", "supcon", "supcon-split"])
def test_at_collapse_the_map_jacobian_equals_finite_differences_of_the_simulated_step(name):
    """At complete collapse every Gram eigenvalue but the all-ones one is 0; forward
    differences of the simulated step along each eigenvalue (the all-ones one pays for it)
    give a diagonal Jacobian whose entries are the reduced map's eigenvalues there."""
    m, k, p, alpha, tau, lr = 3, 3, 2, "0.4", "0.5", 0.3
    dyn = Dynamics(name, m, k, p, alpha, tau)
    labels = torch.arange(m).repeat_interleave(k)

    def step(g):
        X = vectors(m, k, p, dyn.coords(np.append(g, 0.0))).requires_grad_()
        supcl_loss(X, labels, float(alpha), float(tau), name).backward()
        y = typed(torch.nn.functional.normalize((X - lr * X.grad).detach(), dim=-1), m, k, p)[0]
        return dyn.gamma(y)[:3]
    h = 1e-6
    zero = np.zeros(3)
    D = np.column_stack([(-3 * step(zero) + 4 * step(zero + e * h) - step(zero + 2 * e * h))
                         / (2 * h) for e in np.eye(3)])
    reduced = np.sort(np.linalg.eigvals(dyn.gd_jacobian(np.ones(3), lr)).real)
    assert np.abs(np.sort(np.linalg.eigvals(D).real) - reduced).max() < 1e-6


@pytest.mark.parametrize("spec", ["supcon", "paper", "siglip"])
def test_the_uniform_sampler_flow_is_the_expected_gradient_over_every_batch(spec):
    """A 3 x 3 x 2 dataset, the uniform sampler drawing B = 4 of its 9 instances (126
    batches, classes in every composition): the mean over all of them of the simulated loss
    and Riemannian gradient gives the reduced loss and flow."""
    import itertools

    from ssem_symbolic.setting import Dataset, Sampler

    C, n, p, B, alpha, tau = 3, 3, 2, 4, 0.4, 0.5
    dyn = Dynamics.under(spec, Dataset(C, n, p, Sampler("uniform", batch=B)), str(alpha),
                         str(tau))
    x = np.array([0.7, 0.3, -0.1])
    X = vectors(C, n, p, x)
    grad, total, count = torch.zeros_like(X), 0.0, 0
    for rows in itertools.combinations(range(C * n), B):
        Z = X[list(rows)].clone().requires_grad_()
        value = supcl_loss(Z, torch.tensor([r // n for r in rows]), alpha, tau, spec)
        value.backward()
        grad[list(rows)] += Z.grad
        total, count = total + float(value.detach()), count + 1
    grad /= count
    assert abs(total / count - dyn.loss(x)) < 1e-12
    assert np.abs(_flow_per_type(X, grad, C, n, p) - dyn.flow_rhs(x)).max() < 1e-12


def test_the_uniform_sampler_dynamics_end_at_the_dataset_optimum_and_a_partition_is_refused():
    from ssem_symbolic.setting import Dataset, Sampler

    data = Dataset(4, 5, 2, Sampler("uniform", batch=6))
    dyn = Dynamics.under("supcon", data, "0.4", "0.5")
    opt = optimum("supcon", data, "0.4", "0.5")  # the solver: another path to the same point
    end = dyn.run(parse_start("collapsed:1e-6", dyn), rule="gd", lr=0.5, steps=3000).x[-1]
    assert np.abs(end - [opt.view, opt.class_, opt.other]).max() < 1e-8
    part = Dataset(2, 2, 2, Sampler("fixed-partition", batches=(((0, 0), (1, 0)),
                                                                ((0, 1), (1, 1)))))
    with pytest.raises(ValueError, match="not reduced"):
        Dynamics.under("supcon", part, "0.4", "0.5")


@pytest.mark.parametrize("name, exact", [("supcon", "8/21"), ("paper", "4/9"),
                                         ("spread", None)])
def test_the_slowing_prefactor_in_closed_form_equals_the_fitted_one_on_both_sides(name, exact):
    """A = 4 |d h_within / d alpha| at the class-collapse vertex, the same on both sides; the
    fits from exact rates at alpha_c -+ 1e-5 .. 4e-5 (their curvature is of relative size
    delta) agree with it to 1e-3 relative."""
    import sympy

    from ssem_symbolic.dynamics import critical_slowing, slowing_prefactor

    A = slowing_prefactor(name, 3, 4, 2, "1/2")
    if exact is not None:
        assert A == sympy.Rational(exact)
    slow = critical_slowing(name, 3, 4, 2, "1/2", deltas=(1e-5, 2e-5, 4e-5))
    for side in ("below", "above"):
        assert abs(slow.prefactor[side] / float(A) - 1) < 1e-3
    assert slow.exact_prefactor == A
