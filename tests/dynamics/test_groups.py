"""The per-size-group dynamics against free unit embeddings simulated with the same rule: class
sizes that differ, float64, every step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ssem_symbolic.dynamics import Dynamics, GroupDynamics, parse_group_start
from ssem_symbolic.loss import supcl_loss
from ssem_symbolic.optimum import optimum
from ssem_symbolic.setting import Batch

torch.set_num_threads(1)


def _layout(sizes, p, dyn):
    labels = [c for c, n in enumerate(sizes) for _ in range(n)]
    inst = [i for i in range(len(labels)) for _ in range(p)]
    lab = [labels[i] for i in inst]
    groups = [K for K, _ in dyn.groups]
    gi = [groups.index(sizes[c]) for c in range(len(sizes))]

    def key(a, b):
        ga, gb = gi[lab[a]], gi[lab[b]]
        if inst[a] == inst[b]:
            return f"v[{ga}]"
        if lab[a] == lab[b]:
            return f"s[{ga}]"
        return f"o[{min(ga, gb)},{max(ga, gb)}]"
    return torch.tensor(labels), inst, key


def _vectors(sizes, p, dyn, x):
    _, inst, key = _layout(sizes, p, dyn)
    M = len(inst)
    G = np.array([[1.0 if a == b else x[dyn.index[key(a, b)]] for b in range(M)]
                  for a in range(M)])
    w, U = np.linalg.eigh(G)
    X = U * np.sqrt(np.clip(w, 0, None))
    return torch.tensor(X / np.linalg.norm(X, axis=1, keepdims=True)).reshape(sum(sizes), p, -1)


def _typed(X, sizes, p, dyn):
    _, inst, key = _layout(sizes, p, dyn)
    Z = torch.nn.functional.normalize(X.reshape(len(inst), -1), dim=-1)
    G = (Z @ Z.T).numpy()
    vals = {c: [] for c in dyn.coords}
    for a in range(len(inst)):
        for b in range(len(inst)):
            if a != b:
                vals[key(a, b)].append(G[a, b])
    return (np.array([np.mean(vals[c]) for c in dyn.coords]),
            max(np.ptp(v) for v in vals.values()))


CASES = [("supcon", (3, 2, 2), 2, 0.3, 0.5), ("paper", (4, 2, 2, 3), 2, 0.6, 0.4),
         ("supcon-split", (2, 2, 3), 3, 0.2, 0.5), ("siglip", (3, 2), 2, 0.5, 0.5),
         ("supcon", (3, 2, 2, 2), 1, 0.0, 0.5)]


def _start(dyn):
    return np.array([0.6 if c[0] == "v" else 0.3 if c[0] == "s" else 0.0 for c in dyn.coords])


@pytest.mark.parametrize("name, sizes, p, alpha, tau", CASES)
def test_gradient_descent_equals_the_simulation_every_step(name, sizes, p, alpha, tau):
    dyn = GroupDynamics(name, sizes, p, str(alpha), str(tau))
    x = _start(dyn)
    X = _vectors(sizes, p, dyn, x)
    labels, _, _ = _layout(sizes, p, dyn)
    for _ in range(40):
        Xr = X.clone().requires_grad_()
        supcl_loss(Xr, labels, alpha, tau, name).backward()
        X = torch.nn.functional.normalize((Xr - 0.3 * Xr.grad).detach(), dim=-1)
        x = dyn.gd_step(x, 0.3)
        measured, spread = _typed(X, sizes, p, dyn)
        assert spread < 1e-10 and np.abs(measured - x).max() < 1e-8


@pytest.mark.parametrize("name, sizes, p, alpha, tau", CASES[:3])
def test_heavy_ball_equals_the_simulation_every_step(name, sizes, p, alpha, tau):
    """Once sizes differ the buffer's operator is no longer symmetric: Y Y^T = N G N^T."""
    dyn = GroupDynamics(name, sizes, p, str(alpha), str(tau))
    x = _start(dyn)
    X = _vectors(sizes, p, dyn, x)
    labels, _, _ = _layout(sizes, p, dyn)
    b = (np.zeros((dyn.G, 3)), np.zeros((dyn.G, dyn.G)))
    buf = torch.zeros_like(X)
    for _ in range(40):
        Xr = X.clone().requires_grad_()
        supcl_loss(Xr, labels, alpha, tau, name).backward()
        buf = 0.8 * buf + Xr.grad
        X = torch.nn.functional.normalize((Xr - 0.1 * buf).detach(), dim=-1)
        x, b = dyn.momentum_step(x, b, 0.1, 0.8)
        assert np.abs(_typed(X, sizes, p, dyn)[0] - x).max() < 1e-8


def test_one_size_group_is_the_balanced_dynamics():
    groups = GroupDynamics("paper", (4, 4, 4), 2, "0.6", "0.4")
    balanced = Dynamics("paper", 3, 4, 2, "0.6", "0.4")
    x = np.array([0.8, 0.4, -0.1])
    assert np.allclose(groups.gd_step(x, 0.4), balanced.gd_step(x, 0.4), atol=1e-14)
    assert np.allclose(groups.flow_rhs(x), balanced.flow_rhs(x), atol=1e-14)


def test_gradient_descent_converges_to_the_size_group_optimum():
    dyn = GroupDynamics("supcon", (4, 2, 2), 2, "0.3", "0.5")
    opt = optimum("supcon", Batch((4, 2, 2), 2), "0.3", "0.5")
    traj = dyn.run(parse_group_start("collapsed:1e-6", dyn), rule="gd", steps=2500, lr=0.5)
    assert np.abs(traj.x[-1] - dyn.point(opt)).max() < 1e-8
    assert traj.loss[-1] == pytest.approx(opt.loss_value, abs=1e-10)


def test_cli_on_unequal_sizes(capsys):
    import json

    from ssem_symbolic.cli import main

    assert main(["dynamics", "--loss", "supcon", "--class-sizes", "4,2,2", "--alpha", "0.3",
                 "--tau", "0.5", "--rule", "gd", "--lr", "0.5", "--steps", "1500",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["class_sizes"] == [4, 2, 2] and data["time_to_optimum"] == 1228
    assert set(data["optimum"]) == {"v[0]", "s[0]", "v[1]", "s[1]", "o[0,1]", "o[1,1]"}
