"""The SSEM certificate: signs decided at the working precision at every tau, agreeing with an
independent least-squares KKT solve (proofs/symmetry.py) where that one is reliable."""

import mpmath
import pytest

from ssem_symbolic.optimum import certify_ssem

EXTREME = ("1e-12", "1e-8", "1e-4", "0.01", "0.5", "1e4")


@pytest.mark.parametrize("loss", ["paper", "supcon"])
@pytest.mark.parametrize("alpha", ["0", "0.5", "1"])
def test_established_conventions_are_valid_at_every_tau_and_precision(loss, alpha):
    for t in EXTREME:
        certs = [certify_ssem(loss, 3, 4, 2, alpha, t, digits=d) for d in (30, 60, 120)]
        assert [c.valid for c in certs] == [True] * 3, (t, [c.signs for c in certs])
        assert certs[0].digits == 30  # decided without raising the precision


def test_a_multiplier_of_size_1e_minus_64_is_signed_not_undecided():
    cert = certify_ssem("paper", 3, 4, 2, 0.0, 0.01)
    assert cert.valid is True and cert.signs["all-ones"] == 1
    assert 0 < cert.multipliers["all-ones"] < 1e-60


@pytest.mark.parametrize("t", ["1e-8", "1e-4", "0.1", "0.3"])
def test_supcon_split_fails_at_small_alpha_and_tau(t):
    cert = certify_ssem("supcon-split", 3, 4, 2, 0, t)
    assert cert.valid is False and cert.signs["view"] == -1
    assert "view" in cert.reason


def test_supcon_split_valid_at_large_alpha():
    assert certify_ssem("supcon-split", 3, 4, 2, 0.5, 0.5).valid is True


GRID = [(loss, m_, k_, a, t) for loss in ("paper", "supcon", "supcon-split")
        for m_, k_ in ((2, 2), (3, 4)) for a in (0.0, 0.3, 0.7, 1.0) for t in (0.05, 0.3, 2.0)]


@pytest.mark.parametrize("loss, m_, k_, a, t", GRID)
def test_agrees_with_an_independent_least_squares_kkt(loss, m_, k_, a, t):
    from proofs.symmetry import kkt

    mus, residual = kkt(loss, m_, k_, 2, a, t)
    lowest = min(mus)
    assert residual < mpmath.mpf(10) ** -30
    if abs(lowest) < mpmath.mpf(10) ** -30:  # too small for the reference to sign
        return
    assert certify_ssem(loss, m_, k_, 2, a, t).valid is (lowest > 0)


@pytest.mark.parametrize("loss", ["paper", "supcon", "examples/specs/dcl.toml"])
def test_collapse_decision_and_certificate_agree_at_the_threshold(loss):
    """At alpha = float(alpha_c) and one float step either side, the within-class multiplier
    (a negative multiple of f'(1)) must never contradict the collapse decision."""
    import math
    from pathlib import Path

    from ssem_symbolic.ssem import alpha_c_value, collapses

    if loss.endswith(".toml"):
        loss = str(Path(__file__).resolve().parents[2] / loss)
    a_c = float(alpha_c_value(loss, 3, 4, 2, 0.5))
    for a in (math.nextafter(a_c, 0), a_c, math.nextafter(a_c, 1)):
        cert = certify_ssem(loss, 3, 4, 2, a, 0.5)
        at_one = "within-class" in cert.signs  # active exactly when beta* = 1
        assert at_one == collapses(loss, 3, 4, 2, a, 0.5)
        if at_one:
            assert cert.signs["within-class"] >= 0, (a, cert)
