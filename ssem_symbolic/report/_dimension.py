"""What the embedding dimension d does to an optimum: the rank it needs, whether R^d holds
it, and where not, the bracket on the optimum in R^d."""

from __future__ import annotations

from ..setting import Batch, Dataset
from ..spec import LossSpec


def in_dimension(spec: LossSpec, setting: Batch | Dataset, opt, alpha, tau, dim: int) -> dict:
    """The optimum ``opt`` of ``setting`` at (alpha, tau) read in R^dim.

    Returns ``dim``, ``rank_needed`` (:func:`~ssem_symbolic.optimum.rank_needed`; None where
    the rank is not a number, ``opt`` None where no optimum was computed) and
    ``realisable``. Where R^dim does not realise it: ``loss_value_is`` (the relaxed loss is
    a lower bound there), ``best_in_dim`` (:func:`~ssem_symbolic.loss.best_in_dim`, for a
    batch) and ``loss_in_dim_between``, the optimum's loss in R^dim bracketed by the
    relaxation and the configuration found.
    """
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim must be a positive integer, got {dim!r}")
    from ..optimum import rank_needed

    need = None if opt is None else rank_needed(spec, setting, opt)
    out: dict = {"dim": dim, "rank_needed": need,
                 "realisable": None if need is None else need <= dim}
    if need is None or need <= dim:
        return out
    out["loss_value_is"] = f"a lower bound in R^{dim}, not reached there"
    if not isinstance(setting, Batch):
        out["best_in_dim"] = {"method": "not computed: free-embedding optimisation in R^d is "
                                        "run for batches, not datasets"}
        return out
    from ..loss import best_in_dim

    out["best_in_dim"] = best = best_in_dim(spec, setting, alpha, tau, dim)
    if "loss_value" in best:
        # the relaxation bounds every configuration from below, the one found from above
        out["loss_in_dim_between"] = [opt.loss_value, best["loss_value"]]
    return out
