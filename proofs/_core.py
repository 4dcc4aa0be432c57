"""The proof checker: propositions made of steps, each symbolic (exact SymPy) or numeric
(mpmath at high precision, on a stated grid). A failed step fails its proposition."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field


class StepFailed(AssertionError):
    pass


@dataclass
class Proof:
    """Collects the steps of one proposition; ``symbolic``/``numeric`` raise on a false claim."""

    steps: list[tuple[str, str]] = field(default_factory=list)  # (kind, claim)

    def symbolic(self, claim: str, holds: bool) -> None:
        """A step proved exactly (SymPy simplification, exact rationals, a polynomial with
        nonnegative coefficients, ...)."""
        if not holds:
            raise StepFailed(claim)
        self.steps.append(("symbolic", claim))

    def argument(self, text: str) -> None:
        """A line of reasoning joining checked steps (recorded, not itself a check)."""
        self.steps.append(("argument", text))

    def numeric(self, claim: str, holds: bool, how: str) -> None:
        """A step checked numerically, not proved: ``how`` says on what grid, at what precision."""
        if not holds:
            raise StepFailed(f"{claim} [{how}]")
        self.steps.append(("numeric", f"{claim} [{how}]"))

    @property
    def method(self) -> str:
        kinds = {k for k, _ in self.steps} - {"argument"}
        if kinds == {"symbolic"}:
            return "symbolic"
        numeric = [c for k, c in self.steps if k == "numeric"]
        head = "symbolic + numeric: " if "symbolic" in kinds else "numeric: "
        return head + "; ".join(numeric)


@dataclass(frozen=True)
class Proposition:
    name: str
    statement: str
    check: Callable[[Proof], None]


@dataclass
class Outcome:
    name: str
    statement: str
    method: str
    status: str  #: "proved" or "FAILED: <the step>"
    steps: list[tuple[str, str]]

    @property
    def ok(self) -> bool:
        return self.status == "proved"


REGISTRY: list[Proposition] = []


def proposition(name: str, statement: str):
    """Register ``fn(proof)`` as the proof of ``statement``."""
    def register(fn: Callable[[Proof], None]) -> Callable[[Proof], None]:
        REGISTRY.append(Proposition(name, statement, fn))
        return fn
    return register


def per_convention(prefix: str, statement: str, check: Callable[[Proof, str], None],
                   names=("paper", "supcon", "supcon-split")) -> None:
    """Register ``check(proof, name)`` once per convention; ``statement`` may use {name}."""
    for name in names:
        REGISTRY.append(Proposition(f"{prefix}.{name}", statement.format(name=name),
                                    lambda proof, _n=name: check(proof, _n)))


def verify(prop: Proposition) -> Outcome:
    proof = Proof()
    try:
        prop.check(proof)
        status = "proved"
    except StepFailed as exc:
        status = f"FAILED: {exc}"
    except Exception as exc:  # a crash is a failure too, with its cause
        status = f"FAILED: {type(exc).__name__}: {exc} ({traceback.format_exc(limit=2)!r})"
    if status == "proved" and not [s for s in proof.steps if s[0] != "argument"]:
        status = "FAILED: no step was checked"
    return Outcome(prop.name, prop.statement, proof.method, status, proof.steps)
