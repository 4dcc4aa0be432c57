"""The pull (ssem_symbolic.loss): sum over pairs (a, b) of each type of v^t_a x_a . x_b from
group sums, against the double sum over pairs written here, and its closed-form gradient
against finite differences (gradcheck, both orders)."""

from __future__ import annotations

import torch

from ssem_symbolic.loss._pull import pull
from ssem_symbolic.vocab import to_groups

TYPES = ("self", "view", "class", "other")


def _kind(a: int, b: int, views: int, labels: list) -> str:
    if a == b:
        return "self"
    if a // views == b // views:
        return "view"
    return "class" if labels[a // views] == labels[b // views] else "other"


def _double_sum(x, weights, labels, views):
    """sum_t sum_{(a, b) of type t} v^t_a x_a . x_b, pair by pair."""
    m = x.shape[-2]
    total = x.new_zeros(x.shape[:-2])
    for a in range(m):
        for b in range(m):
            t = _kind(a, b, views, labels)
            if t in weights:
                total = total + weights[t][..., a] * (x[..., a, :] * x[..., b, :]).sum(-1)
    return total


def _case(seed: int, lead=(), types=TYPES):
    gen = torch.Generator().manual_seed(seed)
    labels = [0, 2, 0, 1, 2]  # class ids 0..2 over 5 instances
    views, d = 3, 4
    x = torch.randn(*lead, len(labels) * views, d, generator=gen, dtype=torch.float64)
    weights = {t: torch.randn(*lead, len(labels) * views, generator=gen, dtype=torch.float64)
               for t in types}
    return x, weights, labels, views


def _pull(x, weights, labels, views):
    cls = torch.tensor(labels)
    return pull(x, to_groups(weights), cls, 3, views)


def test_value_matches_the_double_sum_over_pairs():
    for types in (TYPES, ("view",), ("view", "class"), ("other",)):
        x, w, labels, views = _case(0, types=types)
        assert torch.allclose(_pull(x, w, labels, views), _double_sum(x, w, labels, views),
                              rtol=1e-13, atol=1e-12)


def test_batched_configurations_and_shared_weights():
    x, w, labels, views = _case(1, lead=(2, 3))
    got = _pull(x, w, labels, views)
    assert got.shape == (2, 3)
    assert torch.allclose(got, _double_sum(x, w, labels, views), rtol=1e-13, atol=1e-12)
    # weights without the leading dims broadcast against them
    w1 = {t: v[0, 0] for t, v in w.items()}
    want = torch.stack([_double_sum(x[i, j], w1, labels, views) for i in range(2)
                        for j in range(3)]).reshape(2, 3)
    assert torch.allclose(_pull(x, w1, labels, views), want, rtol=1e-13, atol=1e-12)


def test_gradients_in_x_and_weights_first_and_second_order():
    x, w, labels, views = _case(2, lead=(2,))
    x.requires_grad_(True)
    names = list(w)
    for v in w.values():
        v.requires_grad_(True)

    def f(x, *ws):
        return _pull(x, dict(zip(names, ws)), labels, views)
    inputs = (x, *w.values())
    assert torch.autograd.gradcheck(f, inputs)
    assert torch.autograd.gradgradcheck(f, inputs)
    # weights shared across configurations: their gradient sums over them
    w1 = [v[0].detach().requires_grad_(True) for v in w.values()]
    assert torch.autograd.gradcheck(f, (x, *w1))
