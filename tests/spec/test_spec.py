import warnings

import pytest
import sympy as sp
import torch

from ssem_symbolic.spec import (
    PRESETS,
    LossSpec,
    alpha,
    check_setting,
    get_spec,
    k,
    m,
    p,
    pair_counts,
    tau,
)


def test_symbols_carry_assumptions():
    assert m.is_integer and m.is_positive and k.is_integer and p.is_integer
    assert tau.is_positive and alpha.is_nonnegative and alpha.is_real


def test_pair_counts_sum_to_batch():
    n = pair_counts()
    assert sp.simplify(sum(n.values()) - m * k * p) == 0


def test_presets_are_the_spec_conventions():
    assert PRESETS["paper"].denominator == ("self", "view", "class", "other")
    assert PRESETS["paper"].sup == ("class",) and PRESETS["paper"].self_ == ("self", "view")
    assert "self" not in PRESETS["supcon"].denominator
    assert PRESETS["supcon"].sup == ("view", "class") and PRESETS["supcon"].self_ == ("view",)
    assert PRESETS["supcon-split"].sup == ("class",)


def test_a_new_convention_is_just_data():
    spec = LossSpec("custom", denominator=("view", "class", "other"), sup=("class",),
                    self_=("view",), mean="anchors")
    assert get_spec(spec) is spec
    with pytest.raises(ValueError, match="unknown pair type"):
        LossSpec("bad", denominator=("cousin",), sup=("class",), self_=("view",), mean="pairs")


def test_specs_are_canonical_and_compared_by_content():
    a = LossSpec("a", ["other", "view", "class", "view"], ["class"], ["view"], "anchors")
    assert a.denominator == ("view", "class", "other") and isinstance(a.sup, tuple)
    b = LossSpec("another name", ("view", "class", "other"), ("class",), ("view",), "anchors",
                 description="words")
    assert a == b and hash(a) == hash(b) and a.key() == b.key()
    assert a == PRESETS["supcon-split"] and {a: 1}[PRESETS["supcon-split"]] == 1
    assert a != PRESETS["supcon"]


@pytest.mark.parametrize("fields, words", [
    (dict(denominator=("class", "other"), sup=("class",), self_=("view",),
          weights=((1, -2), (0, 1))), "negative on"),
    (dict(denominator=(), sup=("class",), self_=("view",)), "no pair types"),
    (dict(denominator="view", sup=("cousin",), self_=("view",)), "unknown pair type"),
    (dict(denominator=("view", "class"), sup=("class",), self_=("view",), mean="mean"),
     "mean must be"),
])
def test_unsupported_specs_say_why_in_one_line(fields, words):
    from ssem_symbolic.spec import UnsupportedConvention

    with pytest.raises(UnsupportedConvention, match=words) as info:
        LossSpec("x", **{"mean": "pairs", **fields})
    assert "\n" not in str(info.value)


def test_weight_of_an_unknown_term_is_an_error():
    assert PRESETS["paper"].weight("self") == alpha
    with pytest.raises(ValueError, match="unknown term"):
        PRESETS["paper"].weight("typo")


@pytest.mark.parametrize("args, message", [
    ((1, 2, 2), "classes m must be >= 2"),
    ((2, 1, 2), "instances per class k must be >= 2"),
    ((2, 2, 0), "views p must be >= 1"),
    ((2.5, 2, 2), "must be an integer"),
])
def test_bad_batches(args, message):
    with pytest.raises(ValueError, match=message):
        check_setting("paper", *args)


def test_views_needed_only_where_a_term_needs_them():
    with pytest.raises(ValueError, match="self-supervised term of 'supcon'"):
        check_setting("supcon", 3, 4, 1, alpha=0.5)
    check_setting("supcon", 3, 4, 1, alpha=0.0)  # pure supervised: one view is enough
    with pytest.raises(ValueError, match="alpha must lie"):
        check_setting("paper", 3, 4, 2, alpha=1.5)
    with pytest.raises(ValueError, match="tau must be"):
        check_setting("paper", 3, 4, 2, tau=float("inf"))
    with pytest.raises(ValueError, match="unknown loss"):
        get_spec("simclr")


def test_decoupled_positives_are_allowed_and_flagged():
    spec = LossSpec("dcl-like", ("class", "other"), ("class",), ("view",), "anchors")
    assert spec.decoupled and not PRESETS["paper"].decoupled


def test_top_level_api_is_short_and_submodule_names_stay_there():
    import ssem_symbolic as ss

    assert ss.__all__ == ["LossSpec", "Batch", "Dataset", "derive", "optimal_beta",
                          "certify_ssem", "threshold", "optimum", "regimes", "phase_map",
                          "guide", "SupCLLoss"]
    assert all(hasattr(ss, n) for n in ss.__all__)
    for former in ("realise", "alpha_c_value", "global_optimum", "PRESETS", "ClassSizes"):
        with pytest.raises(AttributeError):  # in their layer packages, not at the top
            getattr(ss, former)
    with pytest.raises(AttributeError):
        ss.no_such_name


def test_convention_is_the_one_parameter_name():
    from ssem_symbolic.ssem import alpha_c_value

    want = alpha_c_value("paper", 3, 4, 2, "0.5")
    assert alpha_c_value(convention="paper", m_=3, k_=4, p_=2, tau_="0.5") == want
    with pytest.raises(TypeError):
        alpha_c_value(loss="paper", m_=3, k_=4, p_=2, tau_="0.5")


def test_a_batch_value_object_in_place_of_the_sizes():
    import ssem_symbolic as ss
    from ssem_symbolic.grid import optimal_beta_grid
    from ssem_symbolic.ssem import alpha_c_value

    b = ss.Batch.balanced(3, 4)
    assert (b.classes, b.per_class, b.views, b.size, b.shape) == (3, 4, 2, 24, (3, 4, 2))
    assert b.counts() == {"self": 1, "view": 1, "class": 6, "other": 16}
    assert b == ss.Batch((4, 4, 4)) == ss.Batch("3x4") and b.is_balanced
    assert alpha_c_value("paper", b, "0.5") == alpha_c_value("paper", 3, 4, 2, "0.5")
    assert ss.optimal_beta("supcon", ss.Batch.balanced(2, 3, 3), "0.4", "0.7") == \
        ss.optimal_beta("supcon", 2, 3, 3, "0.4", "0.7")
    # the grid functions take it too, views included: one order everywhere
    assert float(optimal_beta_grid("paper", ss.Batch.balanced(3, 4, 3), 0.5, 0.5)) == \
        float(optimal_beta_grid("paper", 3, 4, 3, 0.5, 0.5))
    with pytest.raises(TypeError, match="batch sizes twice"):
        optimal_beta_grid("paper", b, 0.5, 0.5, views=2)
    with pytest.raises(ValueError, match="classes m must be >= 2"):
        ss.Batch.balanced(1, 4)
    with pytest.raises(ValueError, match="must be an integer"):
        ss.Batch.balanced(3, 4.0)
    with pytest.raises(ValueError, match="takes a balanced batch"):
        alpha_c_value("paper", ss.Batch((5, 3)), "0.5")
    with pytest.raises(ValueError, match="class sizes"):
        ss.Batch(3)  # a Batch takes sizes; Batch.balanced takes (classes, per_class)
    u = ss.Batch("5,3,2", views=3)
    assert (u.classes, u.size, u.is_balanced) == (3, 30, False)
    with pytest.raises(ValueError, match="not balanced"):
        u.per_class


def test_a_dataset_is_checked_on_construction():
    import ssem_symbolic as ss
    from ssem_symbolic.setting import balanced, uniform

    d = ss.Dataset(10, 5000, 2, balanced(10, 8))
    assert d.sampler.m == 10 and d.instances == 5000
    assert ss.Dataset(4, None, 2, "uniform:30").sampler == uniform(30)
    with pytest.raises(ValueError, match="need 2 <= m <= C"):
        ss.Dataset(3, 8, 2, balanced(4, 2))
    with pytest.raises(ValueError, match="sampler is balanced:m:k"):
        ss.Dataset(3, 8, 2, "sideways:3")


def test_the_grid_functions_take_one_order():
    """(convention, sizes, views, alpha, tau), positionally or by keyword, warning nothing."""
    from ssem_symbolic.grid import optimal_beta_grid

    a = torch.tensor([0.2, 0.9], dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        now = optimal_beta_grid("paper", 3, 4, 3, a, 0.5)
        assert torch.equal(optimal_beta_grid("paper", 3, 4, alpha_=a, tau_=0.5, views=3), now)
