"""Generated torch kernels: the printer fixes (each fails on plain SymPy 1.14), stable
log-sum-exp, agreement with direct mpmath evaluation, autograd, device/dtype, broadcasting."""

import inspect
import math
import random

import mpmath
import pytest
import sympy as sp
import torch

from ssem_symbolic.grid._codegen import stabilise, torch_kernel
from ssem_symbolic.ssem import derive
from ssem_symbolic.grid import kernels
from ssem_symbolic.spec import PRESETS, alpha, beta, k, m, p, tau

x, y = sp.symbols("x y")
X = torch.tensor([1.5, -2.0], dtype=torch.float64)


def plain(expr, args=(x,)):
    return sp.lambdify(args, expr, "torch")


# --- each printer fix, with the plain-SymPy failure it fixes ---------------------------

def test_numeric_constants_sqrt_log_exp():
    expr = sp.sqrt(2) * x + sp.log(3) - sp.exp(sp.Rational(1, 2))
    with pytest.raises(TypeError):
        plain(expr)(X)
    want = [math.sqrt(2) * v + math.log(3) - math.exp(0.5) for v in X.tolist()]
    assert torch_kernel(expr, (x,))(X).tolist() == pytest.approx(want, rel=1e-15)


def test_max_min_with_numbers():
    with pytest.raises(TypeError):
        plain(sp.Max(x, 1))(X)
    assert torch_kernel(sp.Max(x, 1), (x,))(X).tolist() == [1.5, 1.0]
    assert torch_kernel(sp.Min(x, y, 0), (x, y))(X, 0.5).tolist() == [0.0, -2.0]


def test_piecewise_without_default_is_nan():
    expr = sp.Piecewise((x, x > 0))
    assert plain(expr)(X).tolist() == [1.5, 0.0]  # plain SymPy: silently 0
    out = torch_kernel(expr, (x,))(X)
    assert out[0].item() == 1.5 and math.isnan(out[1].item())


def test_constant_expression_is_a_tensor_of_the_broadcast_shape():
    expr = sp.Integer(3) + sp.pi + 0 * x
    assert isinstance(plain(expr)(X), float)  # plain SymPy: a Python float
    out = torch_kernel(expr, (x,))(X)
    assert isinstance(out, torch.Tensor) and out.shape == (2,)
    assert out.tolist() == pytest.approx([3 + math.pi] * 2, rel=1e-15)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_constants_take_the_kernel_dtype(dtype):
    expr = sp.Piecewise((1, x > 0), (2, True))
    assert plain(expr)(X).dtype == torch.int64  # plain SymPy: an integer tensor
    out = torch_kernel(expr, (x,), dtype)(X)
    assert out.dtype == dtype and out.tolist() == [1.0, 2.0]


def test_cse_shares_subexpressions():
    kern = torch_kernel(sp.exp(x * y) / (1 + sp.exp(x * y)), (x, y), stabilise_exp=False)
    assert kern.source.count("x*y") == 1


# --- stable log-sum-exp ------------------------------------------------------------------

def test_log_sum_exp_is_finite_where_the_naive_form_overflows():
    lse = sp.log(3 * sp.exp(x / y) + sp.exp(-x / y))
    naive = plain(lse, (x, y))(torch.tensor(1.0), torch.tensor(0.01))
    assert math.isinf(naive.item())  # float32 exp(100) overflows
    out = torch_kernel(lse, (x, y), torch.float32)(1.0, 1e-3)
    assert out.item() == pytest.approx(1000 + math.log(3), rel=1e-6)


def test_stabilise_refuses_what_it_cannot_shift():
    with pytest.raises(ValueError):
        stabilise(sp.log(sp.exp(x) + 1))


# --- the derived kernels against mpmath ----------------------------------------------------

def _mp(expr, point, dps=60):
    fn = sp.lambdify((beta, alpha, tau, m, k, p), expr, "mpmath")
    with mpmath.workdps(dps):
        return fn(*(mpmath.mpf(v) for v in point))


def _points(n=12, seed=1):
    rnd = random.Random(seed)
    pts = [(rnd.random(), rnd.random(), 10 ** rnd.uniform(-3, 1), rnd.randint(2, 40),
            rnd.randint(2, 40), rnd.randint(1, 4)) for _ in range(n)]
    pts += [(1.0, 1.0, 1e-3, 2, 2, 2), (0.0, 0.0, 1e-3, 50, 50, 2), (0.5, 1.0, 10.0, 3, 4, 2),
            (0.3, 0.7, 1e-4, 10, 8, 2), (0.99, 0.5, 1e-4, 5, 5, 3)]  # float64 down to 1e-4
    return pts


@pytest.mark.parametrize("loss", list(PRESETS))
@pytest.mark.parametrize("name", ["loss", "dloss", "d2loss"])
def test_kernels_match_mpmath_float64(loss, name):
    d = derive(loss)
    kern = getattr(kernels(loss, torch.float64), name)
    for pt in _points():
        if PRESETS[loss].positives("self") == ("view",) and pt[5] == 1:
            continue  # supcon's self term needs p >= 2
        ref = float(_mp(getattr(d, name), pt))
        got = kern(*(torch.tensor(v, dtype=torch.float64) for v in pt)).item()
        assert math.isfinite(got)
        assert got == pytest.approx(ref, rel=1e-9, abs=1e-9 * (1 + 1 / pt[2]) ** 2), pt


@pytest.mark.parametrize("loss", list(PRESETS))
def test_kernels_float32_finite_and_accurate_down_to_tau_1e3(loss):
    d = derive(loss)
    K = kernels(loss, torch.float32)
    for pt in [(0.3, 0.7, 1e-3, 10, 8, 2), (1.0, 1.0, 1e-3, 3, 4, 2), (0.9, 0.2, 1e-2, 5, 5, 2)]:
        for name in ("loss", "dloss"):
            ref = float(_mp(getattr(d, name), pt))
            got = getattr(K, name)(*pt).item()
            assert math.isfinite(got)
            assert got == pytest.approx(ref, rel=1e-4, abs=1e-4 / pt[2]), (name, pt)


@pytest.mark.parametrize("loss", list(PRESETS))
def test_alpha_c_and_tau_c_kernels_match_the_engine(loss):
    from ssem_symbolic.ssem import alpha_c_value, tau_c_value

    K = kernels(loss)
    for tau_ in (1e-3, 0.05, 0.7, 10.0):
        want = float(alpha_c_value(loss, 4, 5, 2, tau_))
        assert K.alpha_c(tau_, 4, 5, 2).item() == pytest.approx(want, rel=1e-12)
    for a in (0.0, 0.2, 0.5, 0.9, 1.0):
        want = tau_c_value(loss, 4, 5, 2, a)
        got = K.tau_c(a, 4, 5, 2).item()
        assert got == (math.inf if want == math.inf else pytest.approx(float(want), rel=1e-10))


# --- autograd, device, dtype, broadcasting ---------------------------------------------------

def test_autograd_flows_in_alpha_and_tau():
    K = kernels("paper")
    a = torch.tensor([0.3, 0.8], dtype=torch.float64, requires_grad=True)
    t = torch.tensor([0.2, 1.5], dtype=torch.float64, requires_grad=True)
    torch.autograd.gradcheck(lambda a_, t_: K.loss(0.4, a_, t_, 3, 4, 2), (a, t))
    torch.autograd.gradcheck(lambda t_: K.alpha_c(t_, 3, 4, 2), (t,))
    K.loss(0.4, a, t, 3, 4, 2).sum().backward()
    d = derive("paper")
    for i in range(2):  # against SymPy's own derivative in tau
        pt = (0.4, a[i].item(), t[i].item(), 3, 4, 2)
        assert t.grad[i].item() == pytest.approx(float(_mp(sp.diff(d.loss, tau), pt)), rel=1e-10)


def test_dtype_device_and_broadcasting():
    K = kernels("supcon", torch.float32)
    out = K.dloss(torch.rand(4, 1), torch.rand(1, 3), 0.5, 3, 4, 2)
    assert out.shape == (4, 3) and out.dtype == torch.float32 and out.device.type == "cpu"
    assert kernels("supcon", torch.float32) is K  # cached by (spec, dtype)
    assert kernels("supcon", torch.float64) is not K
    with pytest.raises(ValueError, match="broadcast"):
        K.dloss(torch.rand(4), torch.rand(3), 0.5, 3, 4, 2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_kernels_on_cuda():
    K = kernels("paper")
    t = torch.tensor([0.5, 1e-3], dtype=torch.float64, device="cuda")
    out = K.loss(0.5, 0.5, t, 3, 4, 2)
    assert out.device.type == "cuda"
    assert torch.allclose(out.cpu(), K.loss(0.5, 0.5, t.cpu(), 3, 4, 2))


def test_generated_source_is_plain_torch():
    src = kernels("paper").alpha_c.source
    assert "torch.exp" in src and "import" not in src
    assert inspect.isfunction(kernels("paper").alpha_c._fn)
