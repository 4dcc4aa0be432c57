"""Trainers, configured by plain values: free embeddings (batched over configurations), an MLP
on Gaussian classes, a small network on the digits. All deterministic on CPU for a seed.

Free embeddings are the unconstrained-features setting: the embeddings themselves are the
parameters. K configurations (alpha, tau, seed) of one batch geometry train as one tensor
program: parameters (K, N, p, d), one batched loss, one Adam (elementwise, so each
configuration follows exactly its own trajectory).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch

from ..loss import resolve_device
from ..loss import LabelPattern, SupCLLoss, supcl_loss
from ..spec import LossSpec, get_spec
from ..setting import takes_convention
from .data import digits_views, gaussian_views


@dataclass(frozen=True)
class TrainConfig:
    """One training run. ``trainer`` is ``free``, ``gaussian`` or ``digits``; ``loss`` is the
    convention (a LossSpec; a preset name or spec file path is resolved on construction)."""

    trainer: str
    loss: LossSpec
    alpha: float
    tau: float
    classes: int = 3
    per_class: int = 4
    views: int = 2
    dim: int = 24  #: embedding dimension d
    steps: int = 1500
    lr: float = 0.05
    seed: int = 0
    #: unequal class sizes (instances per class); ``classes`` and ``per_class`` are then
    #: ignored. None: the balanced classes x per_class batch
    sizes: tuple[int, ...] | None = None
    #: the ``minibatch`` trainer: a dataset of ``classes`` x ``per_class`` free embeddings
    #: trained with batches drawn by this sampler (a Sampler, or its text, balanced:m:k ...)
    sampler: object = None
    #: a learnable temperature (``free`` only): tau starts at ``tau`` and is learned with the
    #: embeddings as CLIP learns it (a logit scale log 1/tau), kept >= clamp. None: tau fixed
    clamp: float | None = None

    def __post_init__(self) -> None:
        from ..setting import parse_sampler

        object.__setattr__(self, "loss", get_spec(self.loss))
        if self.sizes is not None:
            object.__setattr__(self, "sizes", tuple(int(s) for s in self.sizes))
            object.__setattr__(self, "classes", len(self.sizes))
            object.__setattr__(self, "per_class", 0)
        if (self.sampler is None) != (self.trainer != "minibatch"):
            raise ValueError("the minibatch trainer, and only it, takes a sampler")
        if self.sampler is not None:
            object.__setattr__(self, "sampler", parse_sampler(self.sampler))
            self.sampler.check(self.classes, self.per_class)
        if self.clamp is not None and (self.trainer != "free" or not 0 < self.clamp < 100):
            raise ValueError("a learnable temperature (clamp) needs the free trainer and "
                             f"0 < clamp < 100, got {self.trainer} and {self.clamp}")

    def class_sizes(self) -> tuple[int, ...]:
        """Instances per class."""
        return self.sizes if self.sizes is not None else (self.per_class,) * self.classes

    def labels(self, device=None) -> torch.Tensor:
        """The labels of the batch, class by class."""
        sizes = torch.tensor(self.class_sizes(), device=device)
        return torch.repeat_interleave(torch.arange(len(sizes), device=device), sizes)

    def _fields(self) -> dict:
        """The fields, the convention by its name and content key (``sizes`` only when set,
        so balanced keys stay as they were)."""
        return {f.name: (f"{self.loss.name}[{self.loss.key()}]" if f.name == "loss"
                         else "x".join(map(str, self.sizes)) if f.name == "sizes"
                         else self.sampler.text if f.name == "sampler"
                         else getattr(self, f.name)) for f in fields(self)
                if not (f.name in ("sizes", "sampler", "clamp") and getattr(self, f.name) is None)}

    def key(self) -> str:
        """A stable identifier (results files are keyed by it): the convention by content."""
        return ",".join(f"{k}={v}" for k, v in self._fields().items())

    def group(self) -> tuple:
        """Configurations that can train in one batch: all but alpha, tau and seed equal."""
        return tuple((k, v) for k, v in self._fields().items()
                     if k not in ("alpha", "tau", "seed"))

    def as_record(self) -> dict:
        """JSON-ready: the convention's name, content key and canonical form."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out |= {"loss": self.loss.name, "loss_key": self.loss.key(),
                "spec": self.loss.canonical()}
        if self.sizes is None:
            out.pop("sizes")
        else:
            out["sizes"] = list(self.sizes)
        if self.sampler is None:
            out.pop("sampler")
        else:
            out["sampler"] = self.sampler.text
        if self.clamp is None:
            out.pop("clamp")
        return out


def _lr(step: int, steps: int, lr: float) -> float:
    """Cosine decay to 1 % of lr: the last steps settle on the optimum instead of jittering."""
    return lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * step / steps)))


def train_free_batched(configs: list[TrainConfig], device: str = "cpu",
                       dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """Train K free-embedding configurations of one group together.

    Returns (unit embeddings (K, N, p, d), labels (N,)).
    """
    z, labels, _ = train_free_learned(configs, device, dtype)
    return z, labels


def train_free_learned(configs: list[TrainConfig], device: str = "cpu",
                       dtype: torch.dtype = torch.float64
                       ) -> tuple[torch.Tensor, torch.Tensor, list[float]]:
    """:func:`train_free_batched`, and the temperatures at the end: with a ``clamp`` each
    configuration learns its own tau = exp(-s), its logit scale s started at log 1/tau and
    clamped so that tau >= clamp (CLIP's rule, as :class:`~ssem_symbolic.loss.SupCLLoss` with
    a learnable temperature), one more parameter of the same Adam; without, the fixed taus.

    Returns (unit embeddings (K, N, p, d), labels (N,), tau per configuration)."""
    if not configs or len({c.group() for c in configs}) != 1 or configs[0].trainer != "free":
        raise ValueError("train_free_batched needs free configurations of one group")
    c0 = configs[0]
    dev = resolve_device(device)
    labels = c0.labels(dev)
    n = labels.shape[0]
    init = [torch.randn(n, c0.views, c0.dim, generator=torch.Generator().manual_seed(c.seed),
                        dtype=dtype) for c in configs]
    z = torch.stack(init).to(dev).requires_grad_()
    alphas = torch.tensor([c.alpha for c in configs], dtype=dtype, device=dev)
    fixed = torch.tensor([c.tau for c in configs], dtype=dtype, device=dev)
    params = [z]
    if c0.clamp is not None:  # the logit scale s = log 1/tau, tau = exp(-s) >= clamp
        scale = (-fixed.log()).requires_grad_()
        params.append(scale)

    def taus() -> torch.Tensor:
        if c0.clamp is None:
            return fixed
        return torch.exp(-scale.clamp(max=-math.log(c0.clamp)))
    opt = torch.optim.Adam(params, lr=c0.lr)
    pattern = LabelPattern(c0.loss, labels, c0.views, dtype)
    for step in range(c0.steps):
        for group in opt.param_groups:
            group["lr"] = _lr(step, c0.steps, c0.lr)
        opt.zero_grad(set_to_none=True)
        supcl_loss(z, labels, alphas, taus(), c0.loss, pattern=pattern).sum().backward()
        opt.step()
    with torch.no_grad():
        return (torch.nn.functional.normalize(z.detach(), dim=-1), labels,
                [float(t) for t in taus()])


class _MLP(torch.nn.Module):
    def __init__(self, d_in: int, width: int, d_out: int) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(d_in, width), torch.nn.ReLU(),
            torch.nn.Linear(width, width), torch.nn.ReLU(),
            torch.nn.Linear(width, d_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def train(config: TrainConfig, device: str = "cpu",
          trace: list | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Train one configuration; returns (unit embeddings (N, p, d) of its evaluation batch,
    labels (N,)). Free embeddings go through the batched trainer with K = 1. ``trace``: see
    :func:`train_minibatch` (the minibatch trainer only)."""
    if config.trainer == "free":
        z, labels = train_free_batched([config], device)
        return z[0], labels
    if config.trainer == "minibatch":
        return train_minibatch(config.loss, config.classes, config.per_class, config.views,
                               config.sampler, config.alpha, config.tau, config.dim,
                               config.steps, config.lr, config.seed, device, trace)
    if config.trainer not in ("gaussian", "digits"):
        raise ValueError(f"unknown trainer {config.trainer!r}: use free, gaussian, digits or "
                         "minibatch")
    if config.trainer == "digits" and config.sizes is not None:
        raise ValueError("the digits trainer draws balanced batches; give no sizes")
    dev = resolve_device(device)
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    loss_fn = SupCLLoss(config.alpha, config.tau, config.loss)
    m, k, p = config.classes, config.per_class, config.views
    if config.trainer == "gaussian":
        x, labels = gaussian_views(m, k, p, dim=16, seed=config.seed,
                                   sizes=config.class_sizes())
        net = _MLP(16, 128, config.dim).to(dev)
    else:
        eval_x, eval_labels = digits_views(m, k, p, torch.Generator().manual_seed(10_000),
                                           train=False)
        net = _MLP(64, 256, config.dim).to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    for step in range(config.steps):
        for group in opt.param_groups:
            group["lr"] = _lr(step, config.steps, config.lr)
        if config.trainer == "digits":  # a fresh balanced, augmented batch every step
            x, labels = digits_views(m, k, p, gen, train=True)
        opt.zero_grad(set_to_none=True)
        loss_fn(net(x.to(dev)), labels.to(dev)).backward()
        opt.step()
    if config.trainer == "digits":
        x, labels = eval_x, eval_labels
    with torch.no_grad():
        z = torch.nn.functional.normalize(net(x.to(dev)).double(), dim=-1)
    return z, labels.to(dev)


#: samplers with at most this many distinct batches are trained pass by pass
PASS_LIMIT = 5000


def _every_batch(sampler, classes: int, instances: int) -> list[torch.Tensor] | None:
    """All the sampler's distinct batches as rows of the dataset (each equally likely), or
    None where there are more than :data:`PASS_LIMIT`."""
    from itertools import combinations, product

    if sampler.kind == "fixed-partition":
        return [torch.tensor([c * instances + i for c, i in b]) for b in sampler.batches]
    if sampler.kind == "balanced":
        count = math.comb(classes, sampler.m) * math.comb(instances, sampler.k) ** sampler.m
        if count > PASS_LIMIT:
            return None
        return [torch.tensor([c * instances + i for c, pick in zip(chosen, picks) for i in pick])
                for chosen in combinations(range(classes), sampler.m)
                for picks in product(combinations(range(instances), sampler.k),
                                     repeat=sampler.m)]
    if math.comb(classes * instances, sampler.batch) > PASS_LIMIT:
        return None
    return [torch.tensor(rows) for rows in combinations(range(classes * instances),
                                                        sampler.batch)]


@takes_convention
def train_minibatch(convention, classes: int, instances: int, views: int, sampler,
                    alpha: float, tau: float, dim: int, steps: int = 4000, lr: float = 0.05,
                    seed: int = 0, device: str = "cpu", trace: list | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Free embeddings of a whole dataset (C classes x n instances x p views) trained with
    batches drawn by ``sampler`` (:class:`~ssem_symbolic.optimum.Sampler`: m classes, then k
    instances of each; B instances uniformly, which is also the all-subsets law; or a fixed
    partition's batches). Where the sampler has at most :data:`PASS_LIMIT` distinct batches,
    training goes through all of them in a fresh order every pass (an epoch, as Cho et al.
    train), otherwise it draws afresh every step. Adam with the cosine-decayed step size.
    Returns the dataset's unit embeddings (C n, p, d) and labels (C n,).

    ``trace``: a list to which the within-class variance and the view similarity of the
    whole dataset are appended after each of the last :data:`~.errors.LAST` of the steps
    (their spread is the measurement error of the end point, :func:`~.errors.noise`)."""
    from .errors import LAST
    from .refine import quantities

    dev = resolve_device(device)
    gen = torch.Generator().manual_seed(seed)
    spec = get_spec(convention)
    sampler.check(classes, instances)
    labels = torch.arange(classes).repeat_interleave(instances)
    z = torch.randn(classes * instances, views, dim, generator=gen,
                    dtype=torch.float64).to(dev).requires_grad_()
    opt = torch.optim.Adam([z], lr=lr)
    crit = SupCLLoss(alpha, tau, spec)
    every = _every_batch(sampler, classes, instances)
    order: list[int] = []
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = _lr(step, steps, lr)
        if every is not None:
            if not order:
                order = torch.randperm(len(every), generator=gen).tolist()
            rows = every[order.pop()].to(dev)
        elif sampler.composition_varies:
            rows = torch.randperm(classes * instances, generator=gen)[:sampler.batch].to(dev)
        else:
            chosen = torch.randperm(classes, generator=gen)[:sampler.m]
            rows = torch.cat([c * instances
                              + torch.randperm(instances, generator=gen)[:sampler.k]
                              for c in chosen.tolist()]).to(dev)
        batch_labels = labels.to(dev)[rows]
        opt.zero_grad(set_to_none=True)
        crit(z[rows], batch_labels).backward()
        opt.step()
        if trace is not None and step >= steps * (1 - LAST):
            with torch.no_grad():
                unit = torch.nn.functional.normalize(z.detach(), dim=-1)
                trace.append({name: float(v) for name, v in
                              quantities(labels.to(dev))(unit).items()})
    with torch.no_grad():
        return torch.nn.functional.normalize(z.detach(), dim=-1), labels.to(dev)
