"""optimal_beta_grid against the mpmath solution over the documented range."""

import math
import random
import zlib

import pytest
import torch

from ssem_symbolic.grid import optimal_beta_grid
from ssem_symbolic.ssem import alpha_c_value, optimal_beta
from ssem_symbolic.grid import GRID_TAU_RANGE
from ssem_symbolic.spec import PRESETS

BATCHES = [(10, 8, 2), (2, 2, 2), (100, 50, 2), (5, 3, 4)]


def _grid_points(seed, lo=1e-4, hi=1e4):
    """Random points with tau log-uniform in [lo, hi], plus the extremes: alpha at 0 and 1,
    tau at both ends."""
    rnd = random.Random(seed)
    pts = [(rnd.random(), 10 ** rnd.uniform(math.log10(lo), math.log10(hi))) for _ in range(14)]
    pts += [(a, t) for a in (0.0, 1.0, 0.999) for t in (lo, 1.3 * lo, 1e-2, hi)]
    return pts


@pytest.mark.parametrize("loss", list(PRESETS))
@pytest.mark.parametrize("batch", BATCHES)
def test_float64_within_1e10_of_mpmath(loss, batch):
    m, k, p = batch
    pts = _grid_points(zlib.crc32(f"{loss}{batch}".encode()))  # stable across processes
    a = torch.tensor([x for x, _ in pts], dtype=torch.float64)
    t = torch.tensor([y for _, y in pts], dtype=torch.float64)
    got = optimal_beta_grid(loss, m, k, p, a, t)
    for (a_, t_), b in zip(pts, got.tolist()):
        ref = float(optimal_beta(loss, m, k, p, a_, t_, digits=30))
        assert abs(b - ref) <= 1e-10, (a_, t_, b, ref)


@pytest.mark.parametrize("loss", list(PRESETS))
def test_float32_within_1e5_over_its_range(loss):
    pts = _grid_points(7, *GRID_TAU_RANGE[torch.float32])
    a = torch.tensor([x for x, _ in pts], dtype=torch.float32)
    t = torch.tensor([y for _, y in pts], dtype=torch.float32)
    got = optimal_beta_grid(loss, 10, 8, 2, a, t)
    assert got.dtype == torch.float32
    for (a_, t_), b, a32, t32 in zip(pts, got.tolist(), a.tolist(), t.tolist()):
        ref = float(optimal_beta(loss, 10, 8, 2, a32, t32, digits=30))
        assert abs(b - ref) <= 1e-5, (a_, t_, b, ref)


@pytest.mark.parametrize("loss", list(PRESETS))
def test_exactly_one_on_the_collapsed_side(loss):
    taus = torch.tensor([1e-3, 0.1, 0.5, 2.0], dtype=torch.float64)
    alphas = torch.linspace(0, 1, 41, dtype=torch.float64)
    got = optimal_beta_grid(loss, 4, 6, 2, alphas[:, None], taus[None, :])
    for j, t_ in enumerate(taus.tolist()):
        a_c = float(alpha_c_value(loss, 4, 6, 2, t_))
        for i, a_ in enumerate(alphas.tolist()):
            if a_ <= a_c - 1e-12:
                assert got[i, j].item() == 1.0
            elif a_ >= a_c + 1e-12:
                assert got[i, j].item() < 1.0


def test_shape_dtype_device_broadcast():
    a = torch.linspace(0, 1, 5, dtype=torch.float64)[:, None]
    t = torch.logspace(-3, 1, 7, dtype=torch.float64)[None, :]
    out = optimal_beta_grid("paper", 3, 4, 2, a, t)
    assert out.shape == (5, 7) and out.dtype == torch.float64 and out.device == a.device
    assert optimal_beta_grid("paper", 3, 4, 2, 0.9, 1.0).shape == ()
    assert optimal_beta_grid("paper", 3, 4, 2, 0.9, 1.0).dtype == torch.float64
    assert optimal_beta_grid("paper", 3, 4, 2, torch.tensor([0.9]), 1.0).dtype == torch.float32
    # the scalar and the grid agree
    assert out[4, 3].item() == optimal_beta_grid("paper", 3, 4, 2, 1.0, t[0, 3].item()).item()


@pytest.mark.parametrize("alpha, tau, match", [
    (torch.tensor([0.1, float("nan")]), 1.0, "NaN"),
    (0.5, torch.tensor([1.0, float("nan")]), "NaN"),
    (0.5, 0.0, "tau"),
    (0.5, -1.0, "tau"),
    (1.5, 1.0, "alpha"),
    (-0.1, 1.0, "alpha"),
    (torch.rand(3), torch.rand(4) + 0.1, "broadcast"),
])
def test_bad_input(alpha, tau, match):
    with pytest.raises(ValueError, match=match):
        optimal_beta_grid("paper", 3, 4, 2, alpha, tau)


def test_bad_batch():
    with pytest.raises(ValueError):
        optimal_beta_grid("paper", 1, 4, 2, 0.5, 1.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    a = torch.linspace(0, 1, 50, dtype=torch.float64)[:, None]
    t = torch.logspace(-3, 1, 60, dtype=torch.float64)[None, :]
    cpu = optimal_beta_grid("supcon", 10, 8, 2, a, t)
    gpu = optimal_beta_grid("supcon", 10, 8, 2, a.cuda(), t.cuda())
    assert gpu.device.type == "cuda"
    assert (gpu.cpu() - cpu).abs().max().item() <= 1e-10
    assert not math.isnan(gpu.sum().item())


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_tau_outside_the_accurate_range_is_refused(dtype):
    lo, hi = GRID_TAU_RANGE[dtype]
    for tau in (lo / 2, hi * 2):
        with pytest.raises(ValueError, match="range where the"):
            optimal_beta_grid("paper", 3, 4, 2, torch.tensor([0.5], dtype=dtype),
                              torch.tensor([tau], dtype=dtype))
