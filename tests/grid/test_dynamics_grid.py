"""The generated dynamics kernel over a grid against the one-point exact map."""

import numpy as np
import pytest
import torch

from ssem_symbolic.dynamics import Dynamics
from ssem_symbolic.grid import dynamics_grid


@pytest.mark.parametrize("spec, m, k, p", [("supcon", 3, 4, 2), ("siglip", 3, 3, 2),
                                           ("paper", 2, 3, 1), ("dcl", 2, 2, 3)])
def test_every_grid_point_follows_the_exact_map(spec, m, k, p):
    torch.set_num_threads(1)
    alphas, taus = [0.1, 0.5, 0.9], [0.3, 1.0]
    out = dynamics_grid(spec, m, k, p, torch.tensor(alphas)[:, None], torch.tensor(taus),
                        lr=0.3, steps=400, store=True)
    assert out.x.shape == (401, 3, 2, 3) and bool(torch.isfinite(out.x).all())
    for i, a in enumerate(alphas):
        for j, t in enumerate(taus):
            dyn = Dynamics(spec, m, k, p, repr(a), repr(t))
            ref = dyn.run(np.full(3, 1 - 1e-6), rule="gd", steps=400, lr=0.3)
            # the map, step by step: every state of the exact trajectory, advanced once
            one = dynamics_grid(spec, m, k, p, a, t, lr=0.3, steps=1,
                                start=torch.tensor(ref.x[:-1]))
            assert np.abs(one.final.numpy() - ref.x[1:]).max() < 1e-12
            # whole trajectories: the plateau amplifies rounding (by about e^(rate x steps))
            assert np.abs(ref.x - out.x[:, i, j].numpy()).max() < 1e-6
            gam = np.array([dyn.gamma(x)[:3].max() for x in ref.x])
            left = np.nonzero(gam >= 0.1)[0]
            assert int(out.plateau[i, j]) == (int(left[0]) if len(left) else -1)


def test_beyond_the_stable_step_the_gram_matrix_can_stand_still_off_the_optimum():
    """lr 0.5 is inside the symmetric family's stable range (lr < 25.39 for supcon 3 x 4 x 2
    at alpha 0.3, tau 0.5): the map settles at the optimum. At lr 40 it settles elsewhere,
    where 1 - 2 lr h_e is +-a on the occupied eigenspaces: the Gram matrix stands still while
    the embeddings flip every step."""
    from ssem_symbolic.optimum import optimum
    from ssem_symbolic.setting import Batch

    opt = optimum("supcon", Batch.balanced(3, 4, 2), "0.3", "0.5")
    star = np.array([opt.view, opt.class_, opt.other], dtype=float)
    out = dynamics_grid("supcon", 3, 4, 2, 0.3, 0.5, lr=0.5, steps=2000)
    assert bool(out.settled) and np.abs(out.final.numpy() - star).max() < 1e-8
    out = dynamics_grid("supcon", 3, 4, 2, 0.3, 0.5, lr=40.0, steps=2000)
    x = out.final.numpy()
    assert bool(out.settled) and np.abs(x - star).max() > 0.05
    dyn = Dynamics("supcon", 3, 4, 2, "0.3", "0.5")
    factor = (1 - 2 * 40.0 * dyn.h(x))[:3][dyn.gamma(x)[:3] > 1e-9]
    assert np.ptp(np.abs(factor)) < 1e-9 and factor.min() < 0 < factor.max()

def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="alpha must lie"):
        dynamics_grid("supcon", 3, 4, 2, 1.5, 0.5, lr=0.5, steps=10)
    with pytest.raises(ValueError, match="tau must be"):
        dynamics_grid("supcon", 3, 4, 2, 0.5, 0.0, lr=0.5, steps=10)
    with pytest.raises(ValueError, match="steps"):
        dynamics_grid("supcon", 3, 4, 2, 0.5, 0.5, lr=0.5, steps=0)
