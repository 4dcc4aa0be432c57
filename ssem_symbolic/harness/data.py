"""Batches for the trainers: balanced m classes x k instances x p views.

* :func:`gaussian_views`: the paper's synthetic classes, class c ~ N(c 1, I), each view an
  independent draw;
* :func:`digits_views`: scikit-learn's bundled handwritten digits (8 x 8, 10 classes, no
  download), views by random shifts of up to one pixel plus Gaussian pixel noise.
"""

from __future__ import annotations

import functools

import numpy as np
import torch


def gaussian_views(m: int, k: int, p: int, dim: int, seed: int,
                   dtype: torch.dtype = torch.float32,
                   sizes: tuple[int, ...] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(x of shape (N, p, dim), labels (N,)): x[i, v] ~ N(label_i * 1, I) independently; N =
    m k, or sum(sizes) with ``sizes[c]`` instances of class c."""
    gen = torch.Generator().manual_seed(seed)
    sizes = (k,) * m if sizes is None else tuple(sizes)
    labels = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    x = (torch.randn(len(labels), p, dim, generator=gen, dtype=dtype)
         + labels.to(dtype)[:, None, None])
    return x, labels


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    return (data.images / 16.0).astype(np.float32), data.target.astype(np.int64)


def digits_split(train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The digits, images (n, 8, 8) in [0, 1], split 80/20 by a fixed permutation."""
    images, target = _digits()
    order = np.random.default_rng(0).permutation(len(target))
    cut = int(0.8 * len(target))
    idx = order[:cut] if train else order[cut:]
    return torch.from_numpy(images[idx]), torch.from_numpy(target[idx])


def augment(images: torch.Tensor, gen: torch.Generator, noise: float = 0.1) -> torch.Tensor:
    """One random view per image: a shift by -1, 0 or 1 pixel per axis (zero fill), plus noise."""
    n = images.shape[0]
    padded = torch.nn.functional.pad(images, (1, 1, 1, 1))
    dy = torch.randint(0, 3, (n,), generator=gen)
    dx = torch.randint(0, 3, (n,), generator=gen)
    rows = (dy[:, None] + torch.arange(8)[None, :])[:, :, None]
    cols = (dx[:, None] + torch.arange(8)[None, :])[:, None, :]
    out = padded[torch.arange(n)[:, None, None], rows, cols]
    return out + noise * torch.randn(out.shape, generator=gen)


def digits_views(m: int, k: int, p: int, gen: torch.Generator, train: bool = True,
                 classes: tuple[int, ...] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A balanced batch: m classes (the first m digits unless ``classes``), k random images
    each, p augmented views: (x of shape (m k, p, 64), labels (m k,) in 0..m-1)."""
    images, target = digits_split(train)
    chosen = classes if classes is not None else tuple(range(m))
    picks = []
    for c in chosen:
        pool = torch.nonzero(target == c).squeeze(1)
        picks.append(pool[torch.randperm(len(pool), generator=gen)[:k]])
    idx = torch.cat(picks)
    views = torch.stack([augment(images[idx], gen) for _ in range(p)], dim=1)
    labels = torch.arange(len(chosen)).repeat_interleave(k)
    return views.reshape(len(idx), p, 64), labels
