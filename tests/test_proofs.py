"""proofs/: every proposition is proved, and the checker fails on wrong statements."""

import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

import proofs
from proofs import _defs, collapse
from proofs._core import Proof, Proposition, StepFailed, verify

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_python_m_proofs_proves_everything():
    done = subprocess.run([sys.executable, "-m", "proofs"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    names = [p.name for p in proofs.load()]
    assert len(names) >= 20
    for name in names:
        assert name in done.stdout
    assert f"{len(names)} of {len(names)} propositions proved" in done.stdout
    assert "FAILED" not in done.stdout
    # the table says which steps are numeric rather than symbolic
    assert "symbolic + numeric" in done.stdout and "mpmath 50 digits" in done.stdout


def _outcome(fn):
    return verify(Proposition("wrong", "a deliberately wrong statement", fn))


def test_a_perturbed_threshold_fails():
    from ssem_symbolic.ssem import derive

    right = _defs.engine_symbols(derive("paper").alpha_c_r).subs(
        sp.Symbol("r", positive=True), collapse.r)
    assert _outcome(lambda pr: collapse.check_alpha_c(pr, "paper", right)).ok
    wrong = _outcome(lambda pr: collapse.check_alpha_c(pr, "paper", right + sp.Rational(1, 100)))
    assert not wrong.ok and "alpha_c(r)" in wrong.status
    swapped = _outcome(lambda pr: collapse.check_alpha_c(
        pr, "supcon", _defs.engine_symbols(derive("paper").alpha_c_r).subs(
            sp.Symbol("r", positive=True), collapse.r)))
    assert not swapped.ok  # paper's threshold is not supcon's


def test_a_wrong_peer_value_fails():
    from proofs.peers import R, _exact

    f1 = _defs.reduced_loss("paper").subs({_defs.alpha: 0, _defs.beta: 1})
    good = sp.log(_defs.k * _defs.p) + sp.log(1 + (_defs.m - 1) * R)
    bad = sp.log(_defs.k * _defs.p) + sp.log(1 + _defs.m * R)
    assert _outcome(lambda pr: _exact(pr, "right", f1, good)).ok
    assert not _outcome(lambda pr: _exact(pr, "wrong", f1, bad)).ok


def test_wrong_pair_counts_fail(monkeypatch):
    counts = next(p for p in proofs.load() if p.name == "loss.counts")
    assert verify(counts).ok
    right = _defs.counts_general()
    monkeypatch.setattr(_defs, "counts_general",
                        lambda: {**right, "other": right["other"] + 1})
    import proofs.reduced_loss as rl
    monkeypatch.setattr(rl, "counts_general", _defs.counts_general)
    assert not verify(counts).ok


def test_ssem_failing_where_it_holds_is_caught():
    from proofs.symmetry import kkt

    mus, _ = kkt("paper", 3, 2, 2, 0.0, 0.3)
    assert min(mus) >= 0  # so a claim "paper's SSEM fails here" cannot be proved
    mus, _ = kkt("supcon-split", 3, 2, 2, 0.0, 0.3)
    assert mus[0] < 0


def test_steps_and_methods():
    pr = Proof()
    pr.symbolic("one", True)
    assert pr.method == "symbolic"
    pr.numeric("two", True, "a grid")
    assert pr.method.startswith("symbolic + numeric") and "a grid" in pr.method
    with pytest.raises(StepFailed):
        pr.symbolic("false", False)
    only_argument = _outcome(lambda p: p.argument("no check at all"))
    assert not only_argument.ok and "no step" in only_argument.status


def test_main_exits_nonzero_on_a_failure(monkeypatch, capsys):
    from proofs import __main__ as cli
    from proofs import _core

    proofs.load()
    monkeypatch.setattr(_core, "REGISTRY", _core.REGISTRY + [Proposition(
        "zz.wrong", "1 = 2", lambda pr: pr.symbolic("1 = 2", sp.Integer(1) == 2))])
    monkeypatch.setattr(sys, "argv", ["proofs", "--only", "zz"])
    monkeypatch.setattr(proofs, "load", lambda: list(_core.REGISTRY))
    assert cli.main() == 1
    assert "FAILED" in capsys.readouterr().out


def test_a_wrong_view_boundary_fails():
    from proofs import global_optimum as g

    right = float(g.view_boundary().subs(sp.Symbol("tau", positive=True), sp.Rational(3, 10)))
    assert _outcome(lambda pr: g.check_view_boundary(pr, "supcon-split", right, "0.3")).ok
    wrong = _outcome(lambda pr: g.check_view_boundary(pr, "supcon-split", right + 1e-3, "0.3"))
    assert not wrong.ok and "views rejoin" not in wrong.status and "vanishes" in wrong.status


def test_the_ratio_of_means_instead_of_the_mean_of_ratios_fails(monkeypatch):
    """dataset.engine rejects the uniform sampler's mixture with every weight the plain class
    count law (the ratio of expectations, not the expected ratio) for the pairs mean."""
    import ssem_symbolic.setting._mixture as mixture_module
    from ssem_symbolic.setting._mixture import Mixture, class_count_law

    def naive(spec, C, n, p_, B):
        law = class_count_law(C, n, B)
        return Mixture({term: dict(law) for term in ("sup", "self")}, "exact")

    prop = next(p for p in proofs.load() if p.name == "dataset.engine")
    assert verify(prop).ok
    import ssem_symbolic.setting as setting

    monkeypatch.setattr(mixture_module, "mixture", naive)
    monkeypatch.setattr(setting, "mixture", naive)  # the proof reads the package's name
    outcome = verify(prop)
    assert not outcome.ok and "enumerated" in outcome.status


@pytest.mark.parametrize("name, field", [("temperatures.reduced", "temperatures"),
                                         ("hard_negatives.reduced", "hard_negatives")])
def test_an_engine_that_drops_the_field_fails(name, field, monkeypatch):
    """proofs/extensions.py: with the engine's spec built without the field (one temperature,
    or no hard negatives), the per-pair loss written in the proof no longer matches."""
    from proofs import extensions

    build = extensions._spec
    monkeypatch.setattr(extensions, "_spec",
                        lambda **extra: build(**{k: v for k, v in extra.items() if k != field}))
    (prop,) = [p for p in proofs.load() if p.name == name]
    assert not verify(prop).ok


def test_hierarchy_proofs_fail_on_a_wrong_engine(monkeypatch):
    """proofs/hierarchy.py: an engine that drops the superclass level (its spec built without
    ``levels``) no longer matches the per-pair loss, and an engine whose within-superclass
    eigenvalue forgets the u term no longer matches the explicit spectrum."""
    import ssem_symbolic.setting as setting
    from proofs import hierarchy

    by_name = {p.name: p for p in proofs.load()}
    assert verify(by_name["hierarchy.reduced"]).ok and verify(by_name["hierarchy.polyhedron"]).ok
    build = hierarchy._spec
    monkeypatch.setattr(hierarchy, "_spec", lambda **extra: build())
    assert not verify(by_name["hierarchy.reduced"]).ok
    right = setting.hierarchy_eigenvalues

    def wrong(*shape):
        return [(n, ev.subs(setting.u_sym, 0) if n == "within-superclass" else ev, mult)
                for n, ev, mult in right(*shape)]
    monkeypatch.setattr(setting, "hierarchy_eigenvalues", wrong)
    assert not verify(by_name["hierarchy.polyhedron"]).ok


def test_paired_proofs_fail_on_a_wrong_engine(monkeypatch):
    """proofs/paired.py: an engine that contrasts within the modalities too (its specs built
    with contrast "all") no longer matches the cross-modal per-pair loss, and one whose
    all-ones- eigenvalue drops the cross-modal part no longer matches the explicit spectrum."""
    import dataclasses

    import ssem_symbolic.setting as setting
    from proofs import paired

    by_name = {p.name: p for p in proofs.load()}
    assert verify(by_name["paired.reduced"]).ok and verify(by_name["paired.polyhedron"]).ok
    build = paired._specs
    monkeypatch.setattr(paired, "_specs", lambda: {
        n: dataclasses.replace(s, contrast="all") for n, s in build().items()})
    assert not verify(by_name["paired.reduced"]).ok
    right = setting.paired_eigenvalues

    def wrong(m_, k_, x):
        rows = right(m_, k_, x)
        return [(n, ev + (x["view"] if n == "all-ones-" else 0), mult) for n, ev, mult in rows]
    monkeypatch.setattr(setting, "paired_eigenvalues", wrong)
    assert not verify(by_name["paired.polyhedron"]).ok
