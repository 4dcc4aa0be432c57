"""The ``ssem`` command line: argument parsing, validation messages, JSON or readable output.

No mathematics lives here; every number comes from :mod:`derive` and :mod:`validity`.

Every expected failure ends in one line on stderr and a documented exit status (README,
"Exit status"); an unexpected exception prints its traceback and asks for a bug report:

====  =====================================================================
0     success
1     an internal error (a bug: traceback, and a request to report it)
2     bad input: arguments, values, grids, a results folder of another plan
3     an output cannot be written: missing or read-only folder, full disk
130   interrupted (Ctrl-C); a cross-check keeps what is done (``--resume``)
141   standard output closed early (``ssem ... | head``): quiet, as Unix tools
143   terminated (SIGTERM); as for Ctrl-C
====  =====================================================================
"""

from __future__ import annotations

import argparse
import errno
import math
import os
import re
import signal
import sys
import traceback

from ..infra import OutputError
from ..setting import Batch, Dataset
from ._render import dumps as _dumps
from ._render import (class_collapse, diagnose_lines, dynamics_grid_lines, dynamics_lines,
                      explain_lines, guide_lines, guide_warnings, per_class)
from ..spec import PRESETS, NoSolution

EXIT_OK, EXIT_BUG, EXIT_BAD_INPUT, EXIT_OUTPUT = 0, 1, 2, 3
EXIT_INTERRUPTED, EXIT_PIPE, EXIT_TERMINATED = 130, 141, 143
_TAU_PROBES = (0.01, 0.1, 1.0, 10.0)
_BUG_REPORT = ("ssem: internal error: this is a bug; please report it with the command line "
               "and the traceback above (https://github.com/ssem-symbolic/ssem-symbolic/issues)")


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that a run stops as cleanly as on Ctrl-C."""


class _Once(argparse.Action):
    """Store an option's value, refusing the option a second time (no silent last-wins)."""

    def __call__(self, parser, namespace, values, option_string=None):
        seen = getattr(namespace, "_seen_options", set())
        if self.dest in seen:
            parser.error(f"{'/'.join(self.option_strings)} given more than once")
        namespace._seen_options = seen | {self.dest}
        setattr(namespace, self.dest, self.const if self.nargs == 0 else values)


class _ConstOnce(_Once):
    def __init__(self, option_strings, dest, const=None, default=None, required=False,
                 help=None):
        super().__init__(option_strings, dest, nargs=0, const=const, default=default,
                         required=required, help=help)


class _TrueOnce(_ConstOnce):
    def __init__(self, option_strings, dest, default=False, required=False, help=None):
        super().__init__(option_strings, dest, const=True, default=default,
                         required=required, help=help)


class _Parser(argparse.ArgumentParser):
    """One-line errors, no usage dump; options given twice are errors; ``-inf`` and ``-1e3``
    are values (so ``--tau -inf`` reaches the value check)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = re.compile(
            r"^-(\d+\.?\d*|\.\d+|inf|infinity|nan)([eE][+-]?\d+)?$", re.IGNORECASE)
        self.register("action", None, _Once)
        self.register("action", "store", _Once)
        self.register("action", "store_true", _TrueOnce)
        self.register("action", "store_const", _ConstOnce)

    def error(self, message: str) -> None:  # one line on stderr, no usage dump
        sys.stderr.write(f"ssem: error: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)


def _integer(name: str):
    def parse(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None
    return parse


def _real(name: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{name} must be finite, got {text!r}")
        return value
    return parse


def _tau_or_learnable(text: str):
    """``--tau`` of ``ssem optimum``: a number, or ``learnable[:CLAMP]`` (read once into a
    :class:`~ssem_symbolic.vocab.Learnable`)."""
    if text.strip().startswith("learnable"):
        from ..vocab import Learnable

        try:
            return Learnable.parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return _real("--tau")(text)


def _grid_arg(name: str):
    def parse(text: str) -> tuple[float, float, int]:
        parts = text.split(":")
        try:
            if len(parts) != 3:
                raise ValueError
            start, stop, num = float(parts[0]), float(parts[1]), int(parts[2])
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{name} must be START:STOP:COUNT (e.g. 0:1:101), got {text!r}") from None
        if not (math.isfinite(start) and math.isfinite(stop)):
            raise argparse.ArgumentTypeError(f"{name} ends must be finite, got {text!r}")
        if num < 1 or num > 10**8:
            raise argparse.ArgumentTypeError(f"{name} count must be in 1..1e8, got {num}")
        return start, stop, num
    return parse


_LOSS_HELP = (f"a preset ({', '.join(PRESETS)}), a registered name, a shipped example "
              "(ssem spec list) or a .toml/.json spec file")


def _class_sizes(text: str):
    from ..setting import ClassSizes

    try:
        return ClassSizes.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _dataset_arg(text: str) -> tuple[int, int | None]:
    try:
        classes, instances = text.split(":")
        return int(classes), None if instances.strip() in ("inf", "oo") else int(instances)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--dataset must be C:n (integers; n may be inf), got "
                                         f"{text!r}") from None


def _sampler_arg(text: str):
    from ..setting import parse_sampler

    try:
        return parse_sampler(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _dataset_args(sub: argparse.ArgumentParser, what: str) -> None:
    sub.add_argument("--dataset", type=_dataset_arg, metavar="C:n",
                     help=f"a dataset of C classes x n instances (n may be inf, the limit), "
                     f"trained with --sampler: {what}")
    sub.add_argument("--sampler", type=_sampler_arg,
                     metavar="balanced:m:k|uniform:B|all-subsets:B",
                     help="how batches are drawn from --dataset: m classes, k instances each; "
                     "or B instances uniformly (all-subsets:B, every B-subset equally often, "
                     "is the same law)")


def _batch_args(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--loss", required=True, help=_LOSS_HELP)
    sub.add_argument("--classes", type=_integer("--classes"), help="m")
    sub.add_argument("--per-class", type=_integer("--per-class"), help="k")
    sub.add_argument("--class-sizes", type=_class_sizes, metavar="SIZES",
                     help="instances per class, in place of --classes/--per-class: 5,3,2 or "
                     "count x size, 1x20,9x4")
    sub.add_argument("--views", default=2, type=_integer("--views"), help="p (default 2)")
    sub.add_argument("--hierarchy", metavar="SxM|FILE",
                     help="a hierarchy of labels (ssem optimum, regimes, threshold, phase): S "
                     "superclasses of M classes, with --per-class; or a labels file of one "
                     "'superclass class' pair per line")
    sub.add_argument("--pairs", metavar="N|MxK",
                     help="a batch of image-text pairs (ssem optimum, regimes, threshold, "
                     "phase): N pairs without labels, or M classes of K pairs")
    sub.add_argument("--json", action="store_true", help="print one JSON object")


def _explain_args(sub: argparse.ArgumentParser, alpha_tau_required: bool = True) -> None:
    sub.add_argument("--labels", metavar="FILE",
                     help="the batch as labels, one per line (one instance each), in place of "
                     "--classes/--per-class or --class-sizes")
    where = "" if alpha_tau_required else " (where the log has no such column)"
    sub.add_argument("--alpha", required=alpha_tau_required, type=_real("--alpha"),
                     help="the weight of the self-supervised term" + where)
    sub.add_argument("--tau", required=alpha_tau_required, type=_real("--tau"),
                     help="the temperature" + where)
    sub.add_argument("--dim", type=_integer("--dim"),
                     help="the embedding dimension d: adds the expected loss of random unit "
                     "embeddings in R^d")
    sub.add_argument("--param", action="append", metavar="NAME=VALUE", default=[],
                     help="a parameter of the loss, e.g. base_temperature=0.1 for supcontrast "
                     "(repeatable)")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = _Parser(prog="ssem", description="Exact class-collapse conditions on SSEM.")
    parser.add_argument("--version", action="version", version=f"ssem {__version__}")
    subs = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    th = subs.add_parser("threshold", help="alpha_c at a tau, or tau_c at an alpha")
    _batch_args(th)
    _dataset_args(th, "with --tau, the dataset-level alpha_c beside the per-batch one")
    group = th.add_mutually_exclusive_group(required=True)
    group.add_argument("--tau", type=_tau_or_learnable,
                       help="a number, or learnable[:CLAMP]: alpha_c with tau learned")
    group.add_argument("--alpha", type=_real("--alpha"))
    op = subs.add_parser("optimum", help="beta*, variances and loss at (alpha, tau)")
    _batch_args(op)
    _dataset_args(op, "the dataset-level optimum beside the per-batch one")
    op.add_argument("--alpha", required=True, type=_real("--alpha"))
    op.add_argument("--tau", required=True, type=_tau_or_learnable,
                    help="a number, or learnable[:CLAMP]: tau learned with the embeddings, "
                    "tau >= CLAMP (default 0.01, CLIP's logit scale of 100)")
    op.add_argument("--dim", type=_integer("--dim"),
                    help="the embedding dimension d: whether the optimum is reachable in R^d "
                    "(its rank), and where not, the best configuration found there")
    rg = subs.add_parser("regimes", help="the regimes of the global optimum and their "
                         "boundaries along alpha (at a tau) or along tau (at an alpha)")
    _batch_args(rg)
    scan = rg.add_mutually_exclusive_group(required=True)
    scan.add_argument("--tau", type=_tau_or_learnable,
                      help="scan alpha in [0, 1] at this tau, or with tau learned "
                      "(learnable[:CLAMP])")
    scan.add_argument("--alpha", type=_real("--alpha"),
                      help="scan tau in [0.01, 100] at this alpha")
    _dataset_args(rg, "the dataset-level regimes beside the per-batch ones")
    rg.add_argument("--dim", type=_integer("--dim"),
                    help="the embedding dimension d: each regime's rank (closed form) and "
                    "whether R^d realises it (balanced batches)")
    ph = subs.add_parser("phase", help="beta* over an (alpha, tau) grid: .npz and a PNG")
    _batch_args(ph)
    ph.add_argument("--alpha-grid", required=True, type=_grid_arg("--alpha-grid"),
                    metavar="A0:A1:NA")
    ph.add_argument("--tau-grid", required=True, type=_grid_arg("--tau-grid"),
                    metavar="T0:T1:NT")
    ph.add_argument("--log-tau", action="store_true", help="geometric tau grid, log axis")
    ph.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    ph.add_argument("--out", required=True, help="the .npz file; the PNG goes beside it")
    _dataset_args(ph, "the dataset-level within-class variance (one exact solve per point, at "
                  "most 400) beside the per-batch one")
    cc = subs.add_parser("crosscheck", help="train embeddings and compare with the predictions")
    size = cc.add_mutually_exclusive_group()
    size.add_argument("--quick", dest="size", action="store_const", const="quick",
                      help="the default: under 3 minutes on a 2-core CPU")
    size.add_argument("--tiny", dest="size", action="store_const", const="tiny",
                      help="smoke-test sizes (seconds)")
    size.add_argument("--full", dest="size", action="store_const", const="full",
                      help="a denser grid, larger batch, longer training")
    cc.set_defaults(size="quick")
    cc.add_argument("--loss", action="append",
                    help="a convention to check: " + _LOSS_HELP + " (repeatable; default: all "
                    "presets)")
    cc.add_argument("--class-sizes", type=_class_sizes, metavar="SIZES",
                    help="the imbalanced batch of the plan's imbalanced points (default 5,3,2 "
                    "and 20,2)")
    cc.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    cc.add_argument("--executor", default="local", choices=("local", "ray"),
                    help="local: in this process; ray: each batched group a Ray task (pip "
                    "install 'ssem-symbolic[ray]'), on a local Ray instance or --address")
    cc.add_argument("--jobs", type=_integer("--jobs"), default=None,
                    help="with the local executor: worker processes, one torch thread each "
                    "(default 1: in this process, one thread; more pay off on an idle "
                    "machine with as many cores, BENCHMARKS.md)")
    cc.add_argument("--address", help="with --executor ray: the Ray cluster to join "
                    "(e.g. ray://host:10001 or auto)")
    cc.add_argument("--out", default="crosscheck-out", help="output folder")
    cc.add_argument("--real", action="store_true",
                    help="networks on real offline data (pip install 'ssem-symbolic[data]'): "
                    "an encoder trained with SupCLLoss over alpha at two temperatures, "
                    "against the dataset-level and per-batch predictions (--tiny, --quick: "
                    "a few minutes, --full: about 30 minutes)")
    cc.add_argument("--datasets", help="with --real: a comma-separated subset of digits, "
                    "mnist, mnist1d, pigcvp")
    cc.add_argument("--resume", action="store_true",
                    help="skip configurations already in OUT/results.jsonl")
    cc.add_argument("--json", action="store_true", help="no progress bars; print one JSON object")
    ex = subs.add_parser("export", help="a formula sheet: latex, markdown, python or json")
    ex.add_argument("--loss", required=True, help=_LOSS_HELP)
    ex.add_argument("--format", required=True, choices=("latex", "markdown", "python", "json"))
    ex.add_argument("--out", help="write to this file (atomically) instead of stdout")
    gd = subs.add_parser("guide", help="the collapse threshold and the alpha or tau for a "
                         "target within-class variance")
    gd.add_argument("--loss", required=True, help=_LOSS_HELP)
    gd.add_argument("--classes", type=_integer("--classes"), help="m")
    gd.add_argument("--per-class", type=_integer("--per-class"), help="k")
    gd.add_argument("--class-sizes", type=_class_sizes, metavar="SIZES",
                    help="unequal instances per class, in place of --classes/--per-class: "
                    "5,3,2 or 1x20,9x4")
    gd.add_argument("--batch-size", type=_integer("--batch-size"),
                    help="B instances per batch, sampled evenly from --num-classes")
    gd.add_argument("--num-classes", type=_integer("--num-classes"), help="C")
    gd.add_argument("--instances-per-class", type=_integer("--instances-per-class"),
                    help="n, the dataset's instances per class (with --batch-size/--num-classes "
                    "and --tau): the dataset-level alpha_c beside the per-batch one")
    gd.add_argument("--world-size", type=_integer("--world-size"), default=1,
                    help="data-parallel ranks whose batches SupCLLoss(gather=True) joins: "
                    "the batch is then --batch-size x W (default 1)")
    gd.add_argument("--views", default=2, type=_integer("--views"), help="p (default 2)")
    which = gd.add_mutually_exclusive_group(required=True)
    which.add_argument("--tau", type=_tau_or_learnable,
                       help="a number, or learnable[:CLAMP]: the guide with tau learned")
    which.add_argument("--alpha", type=_real("--alpha"))
    gd.add_argument("--target-within", type=_real("--target-within"),
                    help="the within-class variance wanted, in [0, 1)")
    gd.add_argument("--dim", type=_integer("--dim"),
                    help="the embedding dimension d: warn where the recommended optimum needs "
                    "more, with the within-class variance to expect in R^d (a batch, with "
                    "--tau and --target-within)")
    gd.add_argument("--json", action="store_true", help="print one JSON object")
    fo = subs.add_parser("formula", help="reduced loss, alpha_c and tau_c as formulas")
    fo.add_argument("--loss", required=True, help=_LOSS_HELP)
    fo.add_argument("--format", default="text", choices=("text", "latex", "python"))
    fo.add_argument("--json", action="store_true", help="print one JSON object")
    xp = subs.add_parser("explain", help="what a loss value means: the loss at named reference "
                         "geometries of a batch, and where an observed value sits")
    _batch_args(xp)
    _dataset_args(xp, "the dataset-level floor training converges to")
    _explain_args(xp)
    xp.add_argument("--value", type=_real("--value"), help="an observed loss value to read")
    dg = subs.add_parser("diagnose", help="a training log's loss curve against the references "
                         "of its batch: plateaus, the final gap to the floor, a PNG")
    dg.add_argument("log", help="CSV (header: step,loss[,alpha,tau,lr]) or JSON Lines")
    _batch_args(dg)
    _dataset_args(dg, "the dataset-level floor training converges to")
    _explain_args(dg, alpha_tau_required=False)
    dg.add_argument("--min-steps", type=_integer("--min-steps"), default=5, metavar="N",
                    help="the fewest consecutive log entries that make a plateau (default 5)")
    dg.add_argument("--smooth", type=_integer("--smooth"), default=5, metavar="N",
                    help="a running median of N entries before reading the curve (default 5; "
                    "1: none)")
    dg.add_argument("--out", metavar="PNG", help="write the curve with the references drawn")
    dy = subs.add_parser("dynamics", help="the exact training dynamics of a batch: plateaus, "
                         "escape and relaxation rates, time to the optimum")
    _batch_args(dy)
    _dataset_args(dy, "the expected-gradient dynamics of the class-balanced sampler on the "
                  "dataset's embeddings")
    dy.add_argument("--alpha", type=_real("--alpha"))
    dy.add_argument("--tau", type=_real("--tau"))
    dy.add_argument("--alpha-grid", type=_grid_arg("--alpha-grid"), metavar="A0:A1:NA",
                    help="in place of --alpha: gradient descent at every alpha of the grid at "
                    "once (a generated torch kernel; balanced batches)")
    dy.add_argument("--tau-grid", type=_grid_arg("--tau-grid"), metavar="T0:T1:NT",
                    help="in place of --tau: the same over a grid of tau")
    dy.add_argument("--rule", choices=("flow", "gd", "momentum"), default="gd",
                    help="the update: the gradient flow, gradient descent (--lr) or heavy-ball "
                    "momentum (--lr, --beta); every embedding renormalised after each step")
    dy.add_argument("--lr", type=_real("--lr"), help="the step size (gd, momentum)")
    dy.add_argument("--beta", type=_real("--beta"), help="the momentum (momentum)")
    dy.add_argument("--start", default="collapsed:1e-6",
                    help="collapsed:EPS (every Gram eigenvalue but the all-ones one EPS), "
                    "uniform (random embeddings as d -> oo) or v,c,o (default collapsed:1e-6)")
    dy.add_argument("--steps", type=_integer("--steps"), default=1000,
                    help="steps of gd or momentum (default 1000)")
    dy.add_argument("--horizon", type=_real("--horizon"), help="the flow's time span")
    dy.add_argument("--tol", type=_real("--tol"), default=1e-6,
                    help="the distance to the optimum that counts as reached (default 1e-6)")
    dy.add_argument("--out", metavar="DIR", help="write trajectory.npz and trajectory.png")
    sp_ = subs.add_parser("spec", help="show a convention: its canonical form and its loss in "
                          "words; or list the presets and the shipped example specs")
    sp_.add_argument("action", choices=("show", "list"))
    sp_.add_argument("loss", nargs="?", help=_LOSS_HELP + " (show only)")
    sp_.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one ``ssem`` command; every expected failure becomes one line and an exit status."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread: leave SIGTERM alone
        previous = None
    try:
        if sys.stdout is None:
            return _fail(EXIT_OUTPUT, "cannot write standard output: it is closed")
        args = build_parser().parse_args(argv)
        args.argv = argv
        status = _COMMANDS[args.command](args)
        sys.stdout.flush()
        return status
    except SystemExit:
        raise
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_PIPE
    except ValueError as exc:
        return _fail(EXIT_BAD_INPUT, str(exc))
    except NoSolution as exc:  # a solver that found no answer: out of its reach
        return _fail(EXIT_BAD_INPUT, f"no answer here: {exc} (outside the range the solver "
                                     "reaches; README, 'Ranges')")
    except OutputError as exc:
        return _fail(EXIT_OUTPUT, exc.strerror or str(exc))
    except OSError as exc:
        if exc.errno not in _OUTPUT_ERRNOS:
            raise
        where = "standard output" if exc.filename is None else exc.filename
        _silence_stdout()
        return _fail(EXIT_OUTPUT, f"cannot write {where}: {exc.strerror}")
    except KeyboardInterrupt as exc:
        return _fail(EXIT_INTERRUPTED, "interrupted" + _hint(exc))
    except Terminated as exc:
        return _fail(EXIT_TERMINATED, "terminated (SIGTERM)" + _hint(exc))
    except Exception:
        traceback.print_exc()
        sys.stderr.write(_BUG_REPORT + "\n")
        return EXIT_BUG
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS,
                  errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EFBIG, errno.EIO}


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


def _hint(exc: BaseException) -> str:
    hint = getattr(exc, "hint", "")
    return f"; {hint}" if hint else ""


def _fail(status: int, message: str) -> int:
    sys.stderr.write(f"ssem: error: {message}\n" if status in (EXIT_BAD_INPUT, EXIT_OUTPUT)
                     else f"ssem: {message}\n")
    return status


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _imbalanced(args):
    """The unequal class sizes given, or None: a balanced --class-sizes becomes --classes and
    --per-class, so every command reads it as the balanced batch it is."""
    sizes = getattr(args, "class_sizes", None)
    if sizes is not None:
        if args.classes is not None or args.per_class is not None:
            raise ValueError("give --class-sizes or --classes/--per-class, not both")
        if not sizes.balanced:
            return sizes
        args.per_class, args.classes = sizes.groups[0]
        args.class_sizes = None
    if args.classes is None or args.per_class is None:
        raise ValueError("give --classes and --per-class (or --class-sizes)")
    return None


def _resolve(args):
    """The spec and the setting the flags name, built once: a Dataset (--dataset/--sampler),
    a Batch of unequal sizes (--class-sizes) or a balanced Batch (--classes/--per-class)."""
    from ..setting import Dataset
    from ..spec import get_spec

    spec = _with_params(get_spec(args.loss), getattr(args, "param", []))
    if getattr(args, "hierarchy", None) is not None:
        from ._hierarchy import hierarchy_of

        return spec, hierarchy_of(args)
    if getattr(args, "pairs", None) is not None:
        from ._paired import paired_of

        return spec, paired_of(args)
    if spec.levels:
        raise ValueError(f"loss spec {spec.name!r} sums its supervised term over label levels: "
                         "give --hierarchy (ssem optimum, regimes, threshold and phase take it)")
    if spec.contrast == "cross-modal":
        raise ValueError(f"loss spec {spec.name!r} contrasts across modalities: give --pairs "
                         "(ssem optimum, regimes, threshold and phase take it)")
    if getattr(args, "labels", None) is not None:
        if any(getattr(args, f, None) is not None for f in ("classes", "per_class", "class_sizes",
                                                            "dataset", "sampler")):
            raise ValueError("--labels gives the batch: no --classes/--per-class/--class-sizes/"
                             "--dataset")
        return spec, Batch.from_labels(_read_labels(args.labels), args.views)
    if getattr(args, "dataset", None) is not None or getattr(args, "sampler", None) is not None:
        _dataset_setting(args)
        (C, n), smp = args.dataset, args.sampler
        return spec, Dataset(C, n, args.views, smp)
    sizes = _imbalanced(args)
    if sizes is not None:
        return spec, Batch(sizes, args.views)
    return spec, Batch.balanced(args.classes, args.per_class, args.views)


def _with_params(spec, params: list[str]):
    """The spec with ``--param NAME=VALUE`` set (its parameters, e.g. base_temperature)."""
    values = {}
    for item in params:
        name, eq, value = item.partition("=")
        if not eq or not name.strip() or not value.strip():
            raise ValueError(f"--param takes NAME=VALUE, got {item!r}")
        values[name.strip()] = value.strip()
    return spec.with_parameters(**values) if values else spec


def _read_labels(path: str) -> list[str]:
    """One label per line (blank lines skipped), or ValueError naming the line."""
    from ..infra import read_lines

    labels = []
    for number, line in enumerate(read_lines(path, "labels file"), 1):
        text = line.strip()
        if not text:
            continue
        if len(text.split()) > 1:
            raise ValueError(f"labels file {path}, line {number}: one label per line, got "
                             f"{text[:40]!r}")
        labels.append(text)
    if not labels:
        raise ValueError(f"labels file {path}: no labels")
    return labels


def _explain(args) -> int:
    from ..report import explain

    spec, setting = _resolve(args)
    e = explain(spec, setting, args.alpha, args.tau, value=args.value, dim=args.dim)
    out = {"loss": spec.name, "setting": _setting_dict(setting), "alpha": args.alpha,
           "tau": args.tau, "scale": float(spec.scale_at(args.tau))} | e.as_dict()
    if args.json:
        print(_dumps(out))
        return 0
    print("\n".join(explain_lines(out)))
    return 0


def _diagnose(args) -> int:
    from ..infra import check_output, read_lines
    from ..report import diagnose, parse_log, save_diagnosis_png

    spec, setting = _resolve(args)
    log = parse_log(read_lines(args.log, "log"), f"log {args.log}")
    if args.out is not None:
        check_output(args.out, "--out")
    d = diagnose(spec, setting, log, args.alpha, args.tau, dim=args.dim,
                 min_entries=args.min_steps, smooth=args.smooth)
    if args.out is not None:
        save_diagnosis_png(d, args.out)
    out = {"loss": spec.name, "setting": _setting_dict(setting)} | d.as_dict()
    return _emit(args, out, diagnose_lines, f"wrote {args.out}")


def _dynamics(args) -> int:
    import numpy as np

    from ..dynamics import Dynamics, parse_start, summarise
    from ..optimum import optimum

    spec, setting = _resolve(args)
    for name, value, grid in (("--alpha", args.alpha, args.alpha_grid),
                              ("--tau", args.tau, args.tau_grid)):
        if (value is None) == (grid is None):
            raise ValueError(f"give {name} or {name}-grid (one of them)")
    if args.alpha_grid is not None or args.tau_grid is not None:
        return _dynamics_grid(args, spec, setting)
    dataset = None
    if isinstance(setting, Dataset):
        if setting.instances is None:
            raise ValueError("ssem dynamics under a sampler needs a finite dataset (C:n)")
        dataset = (setting.classes, setting.instances)
    if args.rule in ("gd", "momentum"):
        if args.lr is None or not args.lr > 0:
            raise ValueError(f"--rule {args.rule} needs --lr > 0")
        if args.rule == "momentum" and (args.beta is None or not 0 <= args.beta < 1):
            raise ValueError("--rule momentum needs --beta in [0, 1)")
        if args.steps < 1 or args.steps > 10**7:
            raise ValueError(f"--steps must lie in 1 .. 1e7, got {args.steps}")
    elif args.horizon is None or not args.horizon > 0:
        raise ValueError("--rule flow needs --horizon > 0 (a time span)")
    if dataset is None and not setting.is_balanced:
        return _dynamics_groups(args, spec, setting)
    if dataset is not None:  # the expected-gradient dynamics of the sampler
        dyn = Dynamics.under(spec, setting, args.alpha, args.tau)
        m, k, p = dyn.m, dyn.k, dyn.p
    else:
        m, k, p = setting.shape
        dyn = Dynamics(spec, m, k, p, args.alpha, args.tau)
    start = parse_start(args.start, dyn)
    opt = optimum(spec, setting, args.alpha, args.tau)
    x_star = np.array([opt.view if opt.view is not None else 1.0, opt.class_, opt.other])
    _check_stable_lr(args, dyn, x_star)
    traj = dyn.run(start, rule=args.rule, steps=args.steps, lr=args.lr, momentum=args.beta,
                   horizon=args.horizon)
    eps = float(args.start.split(":", 1)[1]) if args.start.startswith("collapsed:") else None
    summ = summarise(dyn, traj, x_star, opt.loss_value / float(spec.scale_at(args.tau)),
                     eps=eps, tol=args.tol)
    if args.out is not None:
        from ..report import save_trajectory

        save_trajectory(dyn, traj, summ, args.out)
    where = ({"dataset": [dyn.m, dyn.k], "sampler": setting.sampler.describe()}
             if dataset is not None else {"class_sizes": list(setting.sizes.sizes)})
    out = {"loss": spec.name, **where, "views": p, "alpha": args.alpha, "tau": args.tau,
           "start": args.start, "lr": args.lr, "beta": args.beta, "tol": args.tol} | \
        summ.as_dict()
    if args.rule == "gd" and dataset is None:
        out["generic_relaxation"] = _generic_relaxation(spec, m, k, p, args)
    return _print_dynamics(args, out)


def _dynamics_grid(args, spec, setting) -> int:
    """ssem dynamics over --alpha-grid and/or --tau-grid: gradient descent at every point at
    once (grid.dynamics_grid), the plateau at collapse and where each point settles."""
    import numpy as np
    import torch

    from ..dynamics import Dynamics, parse_start
    from ..grid import dynamics_grid

    if isinstance(setting, Dataset) or not setting.is_balanced:
        raise ValueError("--alpha-grid/--tau-grid cover balanced batches (--classes/"
                         "--per-class)")
    if args.rule != "gd" or args.lr is None or not args.lr > 0:
        raise ValueError("--alpha-grid/--tau-grid run gradient descent: give --rule gd and "
                         "--lr > 0")
    if args.steps < 1 or args.steps > 10**6:
        raise ValueError(f"--steps must lie in 1 .. 1e6 with a grid, got {args.steps}")
    alphas = ([args.alpha] if args.alpha_grid is None else
              np.linspace(*args.alpha_grid[:2], args.alpha_grid[2]).tolist())
    taus = ([args.tau] if args.tau_grid is None else
            np.linspace(*args.tau_grid[:2], args.tau_grid[2]).tolist())
    if len(alphas) * len(taus) > 10**5:
        raise ValueError(f"the grid has {len(alphas) * len(taus)} points, above 1e5")
    if min(alphas) < 0 or max(alphas) > 1:
        raise ValueError("--alpha-grid must lie in [0, 1]")
    if not min(taus) > 0:
        raise ValueError("--tau-grid must be > 0")
    m, k, p = setting.shape
    start = parse_start(args.start, Dynamics(spec, m, k, p, "1/2", "1/2"))
    res = dynamics_grid(spec, m, k, p, torch.tensor(alphas, dtype=torch.float64)[:, None],
                        torch.tensor(taus, dtype=torch.float64)[None, :], lr=args.lr,
                        steps=args.steps, start=tuple(float(v) for v in start), tol=args.tol)
    out = {"loss": spec.name, "class_sizes": list(setting.sizes.sizes), "views": p,
           "rule": "gd", "lr": args.lr, "steps": args.steps, "start": args.start,
           "tol": args.tol, "alpha": alphas, "tau": taus,
           "plateau": res.plateau.tolist(), "settled": res.settled.tolist(),
           "final": res.final.tolist()}
    if args.out is not None:
        from ..report import save_dynamics_grid

        save_dynamics_grid(spec.name, (m, k, p), res, alphas, taus, args.out)
    return _emit(args, out, dynamics_grid_lines,
                 f"wrote {args.out}/dynamics_grid.npz and {args.out}/dynamics_grid.png")


def _generic_relaxation(spec, m: int, k: int, p: int, args) -> dict:
    """The full linearisation's slowest mode (all perturbations, not only symmetric ones),
    where the batch is small enough for it."""
    from ..harness.dynamics import MAX_COORDINATES, linearise

    M = m * k * p
    if M * M > MAX_COORDINATES:
        return {"computed": False, "reason": f"{M} rows in R^{M}: above {MAX_COORDINATES} "
                "coordinates"}
    lin = linearise(spec, m, k, p, args.alpha, args.tau, lr=args.lr)
    return {"computed": True, "rate_per_step": lin.rate, "multiplicity": lin.multiplicity,
            "modes": len(lin.values), "first_order": lin.first_order,
            "per_type_means_rate_per_step": lin.typed_rate, "stable_lr": lin.stable_lr}


def _check_stable_lr(args, dyn, x_star) -> None:
    """ValueError unless gradient descent's map contracts at the optimum at --lr."""
    from ..dynamics import stable_lr

    if args.rule == "gd":
        top = stable_lr(dyn, x_star)
        if args.lr >= top:
            raise ValueError(f"--lr {args.lr:g} is beyond the stable range: gradient descent "
                             f"does not contract at the optimum for lr >= {top:.6g}")


def _print_dynamics(args, out: dict) -> int:
    return _emit(args, out, dynamics_lines,
                 f"wrote {args.out}/trajectory.npz and {args.out}/trajectory.png")


def _emit(args, out: dict, lines, wrote: str) -> int:
    """``out`` as one JSON object (--json), or its words (``lines(out)``) and, with --out,
    the line saying what was written."""
    if args.json:
        print(_dumps(out))
        return 0
    print("\n".join(lines(out)))
    if args.out is not None:
        print(wrote)
    return 0


def _dynamics_groups(args, spec, setting) -> int:
    """ssem dynamics on unequal class sizes: the per-size-group maps."""
    from ..dynamics import GroupDynamics, parse_group_start, summarise_groups
    from ..optimum import optimum

    dyn = GroupDynamics(spec, setting.sizes, setting.views, args.alpha, args.tau)
    start = parse_group_start(args.start, dyn)
    opt = optimum(spec, setting, args.alpha, args.tau)
    x_star = dyn.point(opt)
    _check_stable_lr(args, dyn, x_star)
    traj = dyn.run(start, rule=args.rule, steps=args.steps, lr=args.lr, momentum=args.beta,
                   horizon=args.horizon)
    summ = summarise_groups(dyn, traj, x_star,
                            opt.loss_value / float(spec.scale_at(args.tau)), tol=args.tol)
    if args.out is not None:
        from ..report import save_trajectory

        save_trajectory(dyn, traj, summ, args.out)
    out = {"loss": spec.name, "class_sizes": list(setting.sizes.sizes),
           "views": setting.views, "alpha": args.alpha, "tau": args.tau, "start": args.start,
           "lr": args.lr, "beta": args.beta, "tol": args.tol} | summ.as_dict()
    return _print_dynamics(args, out)


def _setting_dict(setting) -> dict:
    from ..setting import Hierarchy, Paired

    if isinstance(setting, Hierarchy):
        from ._hierarchy import setting_dict

        return setting_dict(setting)
    if isinstance(setting, Paired):
        from ._paired import setting_dict as paired_dict

        return paired_dict(setting)
    if isinstance(setting, Dataset):
        return {"dataset": [setting.classes, setting.instances], "views": setting.views,
                "sampler": setting.sampler.describe()}
    return {"class_sizes": list(setting.sizes.sizes), "views": setting.views}


def _validity_note(spec, m, k, p, alpha, tau) -> tuple[bool | None, str]:
    from ..optimum import certify_ssem

    cert = certify_ssem(spec, m, k, p, alpha, tau)
    return cert.valid, cert.reason


def _threshold(args) -> int:
    from ..optimum import threshold

    from ..vocab import Learnable

    spec, setting = _resolve(args)
    if isinstance(args.tau, Learnable):
        th = threshold(spec, setting, tau=args.tau)
        if args.json:
            print(_dumps(th.as_dict() | {"tau": str(args.tau)}))
            return 0
        print(_table([("loss", spec.name), ("setting", setting.describe()),
                      ("tau", f"learnable, >= {float(args.tau.clamp):g}"),
                      ("alpha_c", "none in [0, 1]" if th.alpha_c is None
                       else f"{th.alpha_c:.6g}")]))
        print("\nWith tau learned, " + (
            "collapse is the same at alpha = 0 and alpha = 1 (no threshold in [0, 1])."
            if th.alpha_c is None else f"every class collapses iff {th.collapse_when} = "
            f"{th.alpha_c:.6g} (bisection to 1e-6 on the learned optimum, ssem optimum "
            "--tau learnable at each alpha)."))
        return 0
    if _family(setting) in ("hierarchy", "paired"):
        from ._hierarchy import print_threshold
        from ._paired import print_threshold as print_paired

        render = print_threshold if _family(setting) == "hierarchy" else print_paired
        return render(args, spec, setting, threshold(spec, setting, tau=args.tau,
                                                     alpha=args.alpha))
    if isinstance(setting, Batch) and setting.is_balanced and spec.temperatures:
        return _threshold_bisected_text(args, spec, setting)
    if isinstance(setting, Batch) and not setting.is_balanced and not args.json:
        return _threshold_imbalanced_text(args, spec, setting)
    if not isinstance(setting, Batch) or not setting.is_balanced:
        th = threshold(spec, setting, tau=args.tau, alpha=args.alpha)
        if args.json:
            print(_dumps(th.as_dict()))
            return 0
        if th.along == "alpha":
            return _threshold_dataset_text(args, spec, setting, th)
        return _tau_c_dataset_text(args, spec, setting, th)
    m, k, p = setting.shape
    th = threshold(spec, setting, tau=args.tau, alpha=args.alpha)
    if th.along == "alpha":
        a_c = th.alpha_c
        valid, reason = _validity_note(spec, m, k, p, min(max(a_c, 0.0), 1.0), args.tau)
        _note_if_unestablished(args, valid, reason, "at the threshold")
        if args.json:
            print(_dumps(th.as_dict()))
            return 0
        print(_table([("loss", spec.name), ("m, k, p", f"{m}, {k}, {p}"), ("tau", args.tau),
                      ("alpha_c", f"{a_c:.10g}")]))
        shown = _closed_form(spec, "alpha_c_r") or _closed_form(spec, "alpha_c")
        print(f"\nalpha_c(tau) = {shown}")
        if th.collapse_when is None:
            print(f"\nAt tau = {args.tau:g} collapse does not depend on alpha.")
        else:
            side = th.collapse_when.split()[1]
            print(f"\nAt tau = {args.tau:g} the batch collapses (beta* = 1, zero within-class "
                  f"variance) iff alpha {side} {a_c:.6g}.")
        print(f"SSEM at the threshold: {reason}.")
        return 0
    t_out = th.tau_c
    reason = ""
    if t_out == 0.0 and th.collapse_when == "tau >= tau_c":  # every tau collapses
        for tau in _TAU_PROBES:
            valid, reason = _validity_note(spec, m, k, p, args.alpha, tau)
            if valid is not True:
                _note_if_unestablished(args, valid, reason, f"at tau = {tau:g}")
                break
    elif t_out is not None:
        valid, reason = _validity_note(spec, m, k, p, args.alpha, t_out)
        _note_if_unestablished(args, valid, reason, "at tau_c")
    if args.json:
        print(_dumps(th.as_dict()))
        return 0
    shown = "none" if t_out is None else f"{t_out:.10g}"
    print(_table([("loss", spec.name), ("m, k, p", f"{m}, {k}, {p}"), ("alpha", args.alpha),
                  ("tau_c", shown)]))
    if _closed_form(spec, "tau_c"):
        print(f"\ntau_c(alpha) = {_closed_form(spec, 'tau_c')}")
    else:
        from ..forms import form_of

        points, (lo, hi) = form_of(spec).tau_c_scan
        print(f"\ntau_c(alpha): no closed form in the {spec.form} form; the sign change of "
              f"f'(1) is located by a {points}-point scan of log tau over [{lo}, {hi}] and "
              "bisection")
    limit = _closed_form(spec, "alpha_c_tau0")
    limit = f" (lim alpha_c as tau -> 0 = {limit})" if limit else ""
    if t_out is None:
        print(f"\nAt alpha = {args.alpha:g} no temperature collapses the batch.")
    elif t_out == 0.0 and th.collapse_when == "tau >= tau_c":
        print(f"\nAt alpha = {args.alpha:g} every temperature collapses the batch{limit}.")
    else:
        print(f"\nAt alpha = {args.alpha:g} the batch collapses iff tau "
              f"{th.collapse_when.split()[1]} {t_out:.6g}.")
        print(f"SSEM at tau_c: {reason}.")
    return 0


def _closed_form(spec, what: str) -> str:
    """The closed form of ``what`` (``alpha_c``, ``tau_c``, ``alpha_c_tau0``) as the form
    gives it, with the symbols it is written in; "" where the form has none."""
    from ..forms import form_of

    form = form_of(spec)
    expr = form.closed_forms(spec).get(what)
    if expr is None:
        return ""
    used = [f"{name} = {text}" for name, text in form.where.items()
            if name in {str(x) for x in expr.free_symbols}]
    return f"{expr}" + (f"   with {', '.join(used)}" if used else "")


def _note_if_unestablished(args, valid, reason, where) -> None:
    if valid is not True:
        state = "not established" if valid is None else "false"
        sys.stderr.write(f"ssem: note: SSEM validity {where} is {state} ({reason}); "
                         "the threshold is the SSEM one, not proven for the true optimum\n")


def _family(setting) -> str:
    """How a setting is rendered: "hierarchy", "paired", "dataset", "imbalanced" or
    "balanced"."""
    from ..setting import Hierarchy, Paired

    if isinstance(setting, Hierarchy):
        return "hierarchy"
    if isinstance(setting, Paired):
        return "paired"
    if isinstance(setting, Dataset):
        return "dataset"
    return "balanced" if setting.is_balanced else "imbalanced"


def _by_family(renderers: dict):
    """A command handler: resolve the flags once, then render by the setting's family."""
    def handler(args) -> int:
        spec, setting = _resolve(args)
        return renderers[_family(setting)](args, spec, setting)
    return handler


def _optimum_balanced(args, spec, setting) -> int:
    from ..optimum import certify_ssem, optimum
    from ..spec import check_setting
    from ..ssem import optimal_beta

    if spec.hard_negatives:  # not convex: the best symmetric point found, with its bound
        return _optimum_searched(args, spec, setting)
    if spec.temperatures:  # no SSEM closed forms to show beside it: the optimum per class
        return _optimum_imbalanced(args, spec, setting)
    m, k, p = setting.shape
    check_setting(spec, m, k, p, alpha=args.alpha, tau=args.tau)
    b = optimal_beta(spec, m, k, p, args.alpha, args.tau)
    cert = certify_ssem(spec, m, k, p, args.alpha, args.tau)
    try:
        opt = optimum(spec, setting, args.alpha, args.tau)
        glob, missing = opt.as_dict(), None
    except ValueError as exc:  # off SSEM, outside the face solver's tau range
        glob = {key: None for key in ("view_similarity", "class_similarity",
                                      "other_similarity", "active_constraints",
                                      "within_class_variance", "between_class_variance",
                                      "collapsed", "loss_value")}
        missing = str(exc)
    out = {"beta": float(b), **glob, "ssem_valid": cert.valid}
    if missing:
        sys.stderr.write(f"ssem: note: the global optimum is not computed: {missing}\n")
    dim = _dimension(args, spec, setting, None if missing else opt)
    if args.json:
        print(_dumps(out | dim))
        return 0
    _dimension_header(dim)
    rows = [(key, "n/a" if val is None else
             ", ".join(val) if isinstance(val, list) else _fmt(val)) for key, val in out.items()]
    print(_table([("loss", spec.name), ("m, k, p", f"{m}, {k}, {p}"), ("alpha", args.alpha),
                  ("tau", args.tau)] + rows))
    if not missing:
        print(f"\nRegime: {_regime_words(out['active_constraints'], p)}.")
        if not opt.unique:
            spans = ", ".join(f"{key} in [{lo:.6g}, {hi:.6g}]"
                              for key, (lo, hi) in opt.ranges.items())
            print(f"Not unique: the loss is flat along a set of minimisers, and the point above "
                  f"is one of them ({spans}).")
    print(f"SSEM validity: {cert.reason}.")
    if cert.valid is False and not missing:
        print(f"beta = {float(b):.6g} is the best SSEM point; the variances, similarities and "
              "loss above are the global optimum's, off SSEM.")
    _dimension_footer(dim)
    return 0


def _dimension(args, spec, setting, opt) -> dict:
    """With --dim: :func:`~ssem_symbolic.report.in_dimension` of the optimum shown."""
    if getattr(args, "dim", None) is None:
        return {}
    if args.dim < 1:
        raise ValueError(f"--dim must be a positive integer, got {args.dim}")
    from ..report import in_dimension

    return in_dimension(spec, setting, opt, args.alpha, args.tau, args.dim)


def _dimension_header(dim: dict) -> None:
    if dim and dim.get("realisable") is False:
        print(f"In R^{dim['dim']} the optimum below is NOT reachable: it needs rank "
              f"{dim['rank_needed']}. Read its loss as a lower bound; the configuration "
              "found in R^d follows the table.\n")


def _dimension_footer(dim: dict) -> None:
    if not dim:
        return
    if dim["rank_needed"] is None:
        print(f"Dimension: the rank of this optimum is not a number here (a free direction or "
              f"a fixed partition); d = {dim['dim']} is not judged.")
        return
    if dim["realisable"]:
        print(f"Dimension: the optimum needs rank {dim['rank_needed']}, so R^{dim['dim']} "
              "realises it.")
        return
    best = dim["best_in_dim"]
    if "loss_value" in best:
        print(f"In R^{dim['dim']} ({best['method']}): loss {best['loss_value']:.6g}, "
              f"within-class variance {per_class(best['within_class_variance_per_class'])}.")
        if "loss_in_dim_between" in dim:
            lo, hi = dim["loss_in_dim_between"]
            print(f"The optimum in R^{dim['dim']} has loss between {lo:.6g} (the relaxation) "
                  f"and {hi:.6g} (found).")
    else:
        print(f"In R^{dim['dim']}: {best['method']}.")


def _regime_words(active, p) -> str:
    from ..setting import collapsed

    parts = []
    if collapsed(active, p):
        parts.append("class collapse: every class is one point")
    elif "within-class" in active:
        parts.append("instances of a class share one centroid of their views, but the views "
                     "of an instance stay apart (no collapse)")
    else:
        parts.append("no collapse: within-class variance survives")
    if "view" not in active and p > 1 and "within-class" not in active:
        parts.append("the views of an instance are apart")
    if "all-ones" not in active:
        parts.append("the batch mean is not zero")
    if "between-class" in active:
        parts.append("the class means coincide")
    return "; ".join(parts) + f" [active: {', '.join(active) or 'none'}]"


def _print_scan(result, rows: list, boundaries: list, digits: int) -> None:
    """The header of a regime scan and its boundaries, (where, below, above) each."""
    fixed = ", ".join(f"{key} = {val:g}" for key, val in result.fixed.items())
    print(_table(rows + [("scan", f"{result.axis} at {fixed}")]))
    print(f"\n{len(boundaries)} boundar{'y' if len(boundaries) == 1 else 'ies'} along "
          f"{result.axis}:")
    for at, below, above in boundaries:
        print(f"  {result.axis} = {at:.{digits}f}: [{', '.join(below)}] -> [{', '.join(above)}]")


def _regimes_balanced(args, spec, setting) -> int:
    from ..optimum import regimes
    from ..spec import check_setting

    from ..optimum import rank_formula
    from ..spec import k as k_sym, m as m_sym, p as p_sym

    m, k, p = setting.shape
    check_setting(spec, m, k, p, alpha=args.alpha, tau=args.tau)
    if args.dim is not None and args.dim < 1:
        raise ValueError(f"--dim must be a positive integer, got {args.dim}")
    result = regimes(spec, setting, tau=args.tau, alpha=args.alpha)
    ranks = []
    for r in result.regimes:  # the rank each regime needs, in closed form
        formula = rank_formula(r["active"])
        ranks.append((str(formula), int(formula.subs({m_sym: m, k_sym: k, p_sym: p}))))
    if args.json:
        out = result.as_dict()
        if args.dim is not None:
            out["regimes"] = [dict(r, rank_formula=f, rank=n, realisable=n <= args.dim)
                              for r, (f, n) in zip(out["regimes"], ranks)]
            out["dim"] = args.dim
        print(_dumps(out))
        return 0
    _print_scan(result, [("loss", spec.name), ("m, k, p", f"{m}, {k}, {p}")],
                [(b.at, b.below, b.above) for b in result.boundaries], 10)
    print("\nRegimes:")
    for r, (f, n) in zip(result.regimes, ranks):
        where = ("" if args.dim is None else
                 f" (rank {f} = {n}; realised in R^{args.dim})" if n <= args.dim else
                 f" (rank {f} = {n}; NOT reachable in R^{args.dim}: its loss is a lower "
                 "bound there)")
        print(f"  {result.axis} in [{r['from']:.6g}, {r['to']:.6g}]: "
              f"{_regime_words(r['active'], p)}{where}")
    return 0


def _regimes_dataset(args, spec, setting) -> int:
    from ..optimum import regimes
    from ..spec import check_setting

    C, n, smp = setting.classes, setting.instances, setting.sampler
    where = {"tau": args.tau} if args.tau is not None else {"alpha": args.alpha}
    data = regimes(spec, setting, tol=1e-8, **where)
    batch = None
    if smp.kind == "balanced":
        check_setting(spec, smp.m, smp.k, args.views, **where)
        batch = regimes(spec, Batch.balanced(smp.m, smp.k, args.views), tol=1e-8, **where)
    if args.json:
        print(_dumps(data.as_dict() | {"per_batch": None if batch is None
                                       else batch.as_dict()}))
        return 0
    rows = [("loss", spec.name), ("dataset C x n x p", _shape(C, n, args.views)),
            ("sampler", smp.describe())]
    _print_scan(data, rows, [(b.at, b.below, b.above) for b in data.boundaries], 8)
    print("\nDataset-level regimes (what training with this sampler follows):")
    for r in data.regimes:
        print(f"  {data.axis} in [{r['from']:.6g}, {r['to']:.6g}]: "
              f"{_regime_words(r['active'], args.views)}")
    if batch is not None:
        print(f"\nPer-batch regimes (one batch of {smp.m} x {smp.k} trained alone), for "
              "comparison:")
        for r in batch.regimes:
            print(f"  {batch.axis} in [{r['from']:.6g}, {r['to']:.6g}]: "
                  f"{_regime_words(r['active'], args.views)}")
    return 0


def _shape(C: int, n, p: int) -> str:
    return f"{C} x {'inf' if n is None else n} x {p}"


def _dataset_setting(args) -> None:
    """ValueError unless --dataset and --sampler come together, and no batch besides them."""
    if args.dataset is None or args.sampler is None:
        raise ValueError("--dataset and --sampler go together")
    if any(v is not None for v in (args.classes, args.per_class, args.class_sizes)):
        raise ValueError("--dataset/--sampler give the batch: no --classes/--per-class/"
                         "--class-sizes")


def _threshold_bisected_text(args, spec, setting) -> int:
    """``ssem threshold`` on a balanced batch whose spec has no closed form on SSEM (a
    temperature per pair type): alpha_c by bisection on the global optimum's collapse, tau_c
    from the regime scan along tau."""
    from ..optimum import threshold

    th = threshold(spec, setting, tau=args.tau, alpha=args.alpha)
    if args.json:
        print(_dumps(th.as_dict()))
        return 0
    fixed = ("tau", args.tau) if th.along == "alpha" else ("alpha", args.alpha)
    value = th.alpha_c if th.along == "alpha" else th.tau_c
    shown = ("none" if value is None else ", ".join(f"{v:.10g}" for v in value)
             if isinstance(value, list) else f"{value:.10g}")
    print(_table([("loss", spec.name), ("setting", setting.describe()), fixed,
                  (f"{th.along}_c", shown)]))
    how = ("bisection to 1e-10 on the global optimum's collapse" if th.along == "alpha" else
           f"the regime scan along tau in [{th.tau_range[0]:g}, {th.tau_range[1]:g}], to 1e-8 "
           "(relative)")
    rule = ("" if th.collapse_when is None or value is None else
            f": every class collapses iff {th.collapse_when}")
    print(f"\n{spec.name} has a temperature per pair type, so there is no closed form on SSEM: "
          f"{th.along}_c comes from {how}{rule}.")
    return 0


def _threshold_dataset_text(args, spec, setting, th) -> int:
    C, n, smp = setting.classes, setting.instances, setting.sampler
    batch = None if th.per_batch is None else th.per_batch.alpha_c
    data = th.alpha_c
    print(_table([("loss", spec.name),
                  ("dataset C x n x p", f"{C} x {'inf' if n is None else n} x {args.views}"),
                  ("sampler", smp.describe()), ("tau", args.tau),
                  ("alpha_c per batch", "n/a (uniform batches vary)" if batch is None
                   else f"{batch:.10g}"),
                  ("alpha_c dataset-level", "none in [0, 1]" if data is None
                   else f"{data:.10g}")]))
    print("\nTraining with this sampler follows the dataset-level threshold (the expected "
          "batch loss over the whole dataset's embeddings).")
    return 0


def _tau_c_dataset_text(args, spec, setting, th) -> int:
    """threshold --dataset --sampler --alpha: the dataset-level tau_c (a scan along tau), beside
    the per-batch one for a balanced sampler."""
    C, n, smp = setting.classes, setting.instances, setting.sampler
    batch = th.per_batch if th.per_batch is None or isinstance(th.per_batch, str) \
        else th.per_batch.tau_c
    lo, hi = th.tau_range
    ends = ", ".join(f"{'collapsed' if c else 'not collapsed'} at tau = {t:g}"
                     for c, t in zip(th.collapsed_at_range_ends, (lo, hi)))
    shown = ", ".join(f"{t:.8g}" for t in th.tau_c) or f"none in [{lo:g}, {hi:g}]"
    print(_table([("loss", spec.name), ("dataset C x n x p", _shape(C, n, args.views)),
                  ("sampler", smp.describe()), ("alpha", args.alpha),
                  ("tau_c dataset-level", f"{shown} ({ends})"),
                  ("tau_c per batch", "n/a" if smp.kind != "balanced" else
                   "no tau collapses" if batch is None else
                   batch if isinstance(batch, str) else f"{batch:.8g}")]))
    print("\nTraining with this sampler follows the dataset-level tau_c (the expected batch "
          "loss over the whole dataset's embeddings); outside the scanned range nothing is "
          "claimed.")
    return 0


def _optimum_dataset(args, spec, setting) -> int:
    from ..optimum import optimum

    C, n, smp = setting.classes, setting.instances, setting.sampler
    data = optimum(spec, setting, args.alpha, args.tau)
    dim = _dimension(args, spec, setting, data)
    if smp.composition_varies:  # no one per-batch optimum
        out = data.as_dict() | {"per_batch": None,
               "note": "a uniform batch's composition varies, so no single per-batch optimum; "
               "the dataset-level numbers are what training with this sampler follows"} | dim
        if args.json:
            print(_dumps(out))
            return 0
        _dimension_header(dim)
        print(_table([("loss", spec.name), ("dataset C x n x p",
                                            f"{C} x {'inf' if n is None else n} x {args.views}"),
                      ("sampler", smp.describe()), ("alpha", args.alpha),
                      ("tau", args.tau)] + [(k_, _fmt(v)) for k_, v in data.as_dict().items()
                                            if not isinstance(v, list)]))
        print(f"\nNote: {out['note']}.")
        _dimension_footer(dim)
        return 0
    batch = optimum(spec, Batch.balanced(smp.m, smp.k, args.views), args.alpha, args.tau)
    note = ("training with this sampler minimises the expected batch loss over the whole "
            "dataset's embeddings: the dataset-level numbers apply to the trained dataset; the "
            "per-batch ones to a batch trained alone")
    if args.json:
        print(_dumps(data.as_dict() | {"per_batch": batch.as_dict(), "note": note} | dim))
        return 0
    _dimension_header(dim)
    rows = [("loss", spec.name), ("dataset C x n x p",
                                  f"{C} x {'inf' if n is None else n} x {args.views}"),
            ("sampler", smp.describe()), ("alpha", args.alpha), ("tau", args.tau)]
    print(_table(rows))
    print(f"\n{'':<24}{'dataset-level':>16}{'per batch':>16}")
    for key in ("within_class_variance", "between_class_variance", "view_similarity",
                "class_similarity", "other_similarity", "collapsed"):
        dv, bv = data.as_dict()[key], batch.as_dict()[key]
        print(f"{key:<24}{_fmt(dv):>16}{_fmt(bv):>16}")
    print(f"\nNote: {note}.")
    _dimension_footer(dim)
    return 0


def _imbalanced_words(opt) -> str:
    collapsed = [i for i, c in enumerate(opt.per_class) if c["collapsed"]]
    if len(collapsed) == len(opt.per_class):
        words = "every class collapsed"
    elif collapsed:
        words = f"classes {', '.join(map(str, collapsed))} collapsed, the others not"
    else:
        words = "no class collapsed"
    if opt.merged:
        words += "; merged: " + ", ".join("=".join(map(str, group)) if len(group) <= 10
                                          else f"{len(group)} classes {group[0]}..{group[-1]}"
                                          for group in opt.merged)
    if not opt.unique:
        words += ("; the minimisers form a segment (no self entry in the denominator): shown at "
                  "its end with the most active conditions, with each class's variance range")
    return words


def _optimum_rows(args, spec, setting, no_dim: str) -> tuple:
    """The optimum of a setting that no closed form accompanies (tau learned, hard
    negatives): printed as JSON with ``--json`` (then (None, None)), else (the optimum, its
    scalar fields as table rows). ``no_dim``: why ``--dim`` is refused."""
    from ..optimum import optimum

    if getattr(args, "dim", None) is not None:
        raise ValueError(no_dim)
    opt = optimum(spec, setting, args.alpha, args.tau)
    out = opt.as_dict()
    if args.json:
        print(_dumps(out))
        return None, None
    return opt, [(key, ", ".join(map(str, val)) if isinstance(val, list) else _fmt(val))
                 for key, val in out.items()
                 if not isinstance(val, (dict, list)) or key == "active_constraints"]


def _optimum_searched(args, spec, setting) -> int:
    """``ssem optimum`` where the loss is not convex (hard negatives): the best symmetric point
    found, its verdict and the certified lower bound over the symmetric family."""

    opt, rows = _optimum_rows(args, spec, setting, "--dim checks an exact optimum: hard "
                              "negatives give a best point found")
    if opt is None:
        return 0
    print(_table([("loss", spec.name), ("setting", setting.describe()), ("alpha", args.alpha),
                  ("tau", args.tau)] + rows))
    found = opt.search
    print(f"\nHard negatives (beta = {spec.hard_negatives}) make the loss a difference of "
          "log-sum-exps, not convex: this is the best point of the symmetric family found by "
          f"branch and bound over {found.cells} cells"
          + (", polished by Newton on its active faces" if found.polished else "") + ".")
    print(f"Certified over the symmetric family: no point of it has a loss below "
          f"{found.lower_bound:.10g} (gap {found.gap:.2g}). Over all embeddings nothing is "
          "certified: a point outside the symmetric family may do better.")
    if not opt.unique:
        lo, hi = opt.ranges["within_class_variance"]
        print(f"The loss is flat along a set of points here: the within-class variance ranges "
              f"over [{lo:.6g}, {hi:.6g}] at the same loss.")
    return 0


def _optimum_imbalanced(args, spec, setting) -> int:
    from ..optimum import optimum

    sizes = setting.sizes
    opt = optimum(spec, setting, args.alpha, args.tau)
    if not opt.decided:
        sys.stderr.write("ssem: note: a sign stayed undecided at the working precision: the "
                         "point lies on a regime boundary\n")
    dim = _dimension(args, spec, setting, opt)
    if args.json:
        print(_dumps(opt.as_dict() | dim))
        return 0
    _dimension_header(dim)
    print(_table([("loss", spec.name), ("class sizes", str(sizes)), ("views p", args.views),
                  ("alpha", args.alpha), ("tau", args.tau),
                  ("within_class_variance", _fmt(opt.within_class_variance)),
                  ("between_class_variance", _fmt(opt.between_class_variance)),
                  ("loss_value", _fmt(opt.loss_value))]))
    print("\nPer class (size, within-class variance, view similarity, collapsed):")
    for i, c in enumerate(opt.per_class):
        extra = ""
        if "within_class_variance_range" in c:
            lo, hi = c["within_class_variance_range"]
            extra = f"  (over the minimisers: {lo:.6g} .. {hi:.6g})"
        print(f"  {i:>4}  k = {c['size']:<4} {c['within_class_variance']:.6g}  "
              f"{c['view_similarity']:.6g}  {'yes' if c['collapsed'] else 'no'}{extra}")
    print(f"\nRegime: {_imbalanced_words(opt)} [active: {', '.join(opt.active) or 'none'}].")
    _dimension_footer(dim)
    return 0


def _regimes_imbalanced(args, spec, setting) -> int:
    from ..optimum import regimes

    sizes = setting.sizes
    if args.dim is not None and args.dim < 1:
        raise ValueError(f"--dim must be a positive integer, got {args.dim}")
    result = regimes(spec, setting, tau=args.tau, alpha=args.alpha)
    ranks = [_regime_rank(spec, setting, result.axis, r, args) for r in result.regimes] \
        if args.dim is not None else [None] * len(result.regimes)
    if args.json:
        out = result.as_dict()
        if args.dim is not None:
            out["regimes"] = [dict(r, rank=n, realisable=n <= args.dim)
                              for r, n in zip(out["regimes"], ranks)]
            out["dim"] = args.dim
        print(_dumps(out))
        return 0
    _print_scan(result, [("loss", spec.name), ("class sizes", str(sizes)),
                         ("views p", args.views)],
                [(b.at, b.below, b.above) for b in result.boundaries], 8)
    print("\nRegimes (collapsed classes by index, aligned with the sizes):")
    for r, n in zip(result.regimes, ranks):
        merged = f"; merged {r['merged']}" if r["merged"] else ""
        where = ("" if n is None else
                 f" (rank {n}; realised in R^{args.dim})" if n <= args.dim else
                 f" (rank {n}; NOT reachable in R^{args.dim}: its loss is a lower bound there)")
        print(f"  {result.axis} in [{r['from']:.6g}, {r['to']:.6g}]: collapsed "
              f"{r['collapsed_classes'] or 'none'}{merged}{where}")
    return 0


def _regime_rank(spec, setting, axis: str, regime: dict, args) -> int:
    """The rank of the optimum's Gram matrix inside a regime of unequal class sizes: the
    optimum at the regime's midpoint (geometric along tau), counted per size group."""
    import math

    from ..optimum import optimum, rank_needed

    lo, hi = regime["from"], regime["to"]
    if axis == "alpha":
        alpha, tau = (lo + hi) / 2, args.tau
    else:
        alpha, tau = args.alpha, math.sqrt(lo * hi)
    return rank_needed(spec, setting, optimum(spec, setting, repr(float(alpha)),
                                              repr(float(tau))))


def _threshold_imbalanced_text(args, spec, setting) -> int:
    from ..optimum import regimes

    if args.tau is None:
        raise ValueError("with unequal class sizes the threshold is per class along alpha: "
                         "give --tau (for a scan along tau, use ssem regimes --alpha)")
    sizes = setting.sizes
    result = regimes(spec, setting, tau=args.tau)
    print(_table([("loss", spec.name), ("class sizes", str(sizes)), ("views p", args.views),
                  ("tau", args.tau)]))
    print("\nwhere each class is collapsed along alpha in [0, 1] (global optimum, to 1e-8):")
    for i, size in enumerate(sizes.sizes):
        words = class_collapse(result.axis, result.collapse_changes[i],
                               result.collapsed_at_ends[i][0])
        print(f"  class {i:>4}  k = {size:<4} {words}")
    return 0


def _device(name: str) -> str:
    from ..loss import resolve_device

    return resolve_device(name).type


#: the largest phase grid: the solver holds about 40 float64 numbers per point
MAX_GRID_POINTS = 10_000_000


def _phase(args) -> int:
    import time

    from ..grid import GRID_TAU_RANGE

    from ..spec import check_setting

    spec, setting = _resolve(args)
    if _family(setting) in ("hierarchy", "paired"):
        return _phase_family(args, spec, setting)
    if isinstance(setting, Dataset):
        return _phase_dataset(args, spec, setting)
    if setting.is_balanced:
        m, k, p = setting.shape
        check_setting(spec, m, k, p)
    a0, a1, na = args.alpha_grid
    t0, t1, nt = args.tau_grid
    if not (0 <= a0 <= 1 and 0 <= a1 <= 1):
        raise ValueError(f"--alpha-grid must lie in [0, 1], got {a0:g}:{a1:g}")
    if not setting.is_balanced:
        return _phase_imbalanced(args, spec, setting.sizes)
    lo, hi = GRID_TAU_RANGE[_torch_float64()]
    if not (lo <= t0 <= hi and lo <= t1 <= hi):
        raise ValueError(f"--tau-grid must lie in [{lo:g}, {hi:g}] (where the grid solver is "
                         f"accurate to 1e-10), got {t0:g}:{t1:g}")
    if na * nt > MAX_GRID_POINTS:
        raise ValueError(f"the grid has {na} x {nt} = {na * nt:,} points, over the limit of "
                         f"{MAX_GRID_POINTS:,} (memory); split it into smaller maps")
    out, png = _phase_outputs(args.out)
    from ..infra import together
    from ..report import grid, phase_map, save_phase_map
    from ..optimum import established

    device = _device(args.device)
    start = time.perf_counter()
    pm = phase_map(spec, Batch.balanced(m, k, p), grid(a0, a1, na),
                   grid(t0, t1, nt, args.log_tau), device=device)
    seconds = time.perf_counter() - start
    with together():
        save_phase_map(pm, out, png, args.log_tau)
    summary = {"npz": str(out), "png": str(png), "points": na * nt, "seconds": seconds,
               "device": device} | pm.as_dict()
    if not established(spec):
        sys.stderr.write(f"ssem: note: {pm.note}\n")
    if args.json:
        print(_dumps(summary))
        return 0
    print(_table([("loss", spec.name), ("m, k, p", f"{m}, {k}, {p}"),
                  ("grid", f"{na} alpha x {nt} tau = {na * nt} points"),
                  ("solved in", f"{seconds:.3f} s on {device}"),
                  ("collapsed", "no point solved" if summary["collapsed_fraction"] is None
                   else f"{summary['collapsed_fraction']:.1%} of the grid"),
                  ("wrote", f"{out}, {png}")]))
    return 0


def _phase_outputs(path: str):
    """(the .npz, the .png beside it), both checked writable before any work starts."""
    from pathlib import Path

    from ..infra import check_output

    out = Path(path)
    if out.suffix != ".npz":
        raise ValueError(f"--out must name the .npz file (the PNG goes beside it), got {out}")
    png = out.with_suffix(".png")
    check_output(out)
    check_output(png, "--out (its .png)")
    return out, png


def _phase_imbalanced(args, spec, sizes) -> int:

    from ..setting import check_sizes
    from ..optimum import TAU_RANGE

    check_sizes(spec, sizes, args.views)
    alphas, taus = _exact_grids(args, TAU_RANGE, "the imbalanced solver's")
    na, nt = alphas.size, taus.size
    pm, summary, (out, png) = _exact_phase(args, spec, Batch(sizes, args.views), alphas, taus)
    seconds = summary["seconds"]
    if args.json:
        print(_dumps(summary))
        return 0
    print(_table([("loss", spec.name), ("class sizes", str(sizes)), ("views p", args.views),
                  ("grid", f"{na} alpha x {nt} tau = {na * nt} points"),
                  ("solved in", f"{seconds:.3f} s (exact, one point at a time)")]
                 + [(f"collapsed, size {s}",
                     f"{pm.collapsed_by_size[:, :, g].mean():.1%} of the grid")
                    for g, s in enumerate(pm.sizes)] + [("wrote", f"{out}, {png}")]))
    return 0


def _phase_family(args, spec, setting) -> int:
    """ssem phase --hierarchy / --pairs: one exact solve per point."""

    from ..optimum import FACE_TAU_RANGE

    alphas, taus = _exact_grids(args, FACE_TAU_RANGE, "the exact solver's")
    na, nt = alphas.size, taus.size
    pm, summary, (out, png) = _exact_phase(args, spec, setting, alphas, taus)
    seconds = summary["seconds"]
    if args.json:
        print(_dumps(summary))
        return 0
    print(_table([("loss", spec.name), ("setting", setting.describe()),
                  ("grid", f"{na} alpha x {nt} tau = {na * nt} points"),
                  ("solved in", f"{seconds:.3f} s (exact, one point at a time)")]
                 + [(name.replace("_", " "), f"{value:.1%} of the grid")
                    for name, value in summary.items() if name.endswith("_fraction")]
                 + [("wrote", f"{out}, {png}")]))
    return 0


def _exact_phase(args, spec, setting, alphas, taus):
    """A phase map solved point by point (a progress bar on a terminal), saved to --out and
    its PNG: (the map, its summary, (npz, png))."""
    import time

    from ..infra import progress, together
    from ..report import phase_map, save_phase_map

    out, png = _phase_outputs(args.out)
    start = time.perf_counter()
    with progress("phase map (exact, per point)", total=alphas.size * taus.size,
                  unit="point") as bar:
        pm = phase_map(spec, setting, alphas, taus, progress=lambda: bar.update(1))
    seconds = time.perf_counter() - start
    with together():
        save_phase_map(pm, out, png, args.log_tau)
    summary = {"npz": str(out), "png": str(png), "points": alphas.size * taus.size,
               "seconds": seconds, "device": "cpu"} | pm.as_dict()
    return pm, summary, (out, png)


def _exact_grids(args, tau_range, solver: str):
    """The (alpha, tau) grids of a phase map solved point by point, checked: alpha in [0, 1],
    tau within ``tau_range`` (the solver's)."""
    from ..report import grid

    a0, a1, na = args.alpha_grid
    t0, t1, nt = args.tau_grid
    if not (0 <= a0 <= 1 and 0 <= a1 <= 1):
        raise ValueError(f"--alpha-grid must lie in [0, 1], got {a0:g}:{a1:g}")
    lo, hi = (float(v) for v in tau_range)
    if not (lo <= t0 <= hi and lo <= t1 <= hi):
        raise ValueError(f"--tau-grid must lie in [{lo:g}, {hi:g}] ({solver} range), got "
                         f"{t0:g}:{t1:g}")
    return grid(a0, a1, na), grid(t0, t1, nt, args.log_tau)


def _phase_dataset(args, spec, setting) -> int:

    from ..optimum import TAU_RANGE

    from ..optimum import UNIFORM_TAU_RANGE

    smp = setting.sampler
    alphas, taus = _exact_grids(args, UNIFORM_TAU_RANGE if smp.composition_varies else
                                TAU_RANGE, "the exact solver's")
    na, nt = alphas.size, taus.size
    pm, summary, (out, png) = _exact_phase(args, spec, setting, alphas, taus)
    seconds = summary["seconds"]
    if args.json:
        print(_dumps(summary))
        return 0
    rows = [("loss", spec.name), ("dataset C x n x p", setting.size_text),
            ("sampler", setting.sampler.describe()),
            ("grid", f"{na} alpha x {nt} tau = {na * nt} points"),
            ("solved in", f"{seconds:.3f} s (exact, one point at a time)"),
            ("collapsed, dataset-level", f"{pm.collapsed.mean():.1%} of the grid")]
    if pm.batch_collapsed is not None:
        rows.append(("collapsed, per batch", f"{pm.batch_collapsed.mean():.1%} of the grid"))
    print(_table(rows + [("wrote", f"{out}, {png}")]))
    return 0


def _torch_float64():
    import torch

    return torch.float64


def _crosscheck_real(args, out) -> int:
    """ssem crosscheck --real: the real-data plan, real.json and real.md in --out."""
    import dataclasses
    import time

    from ..harness.datasets import CATALOGUE
    from ..harness.real import PLANS, real_report, run_real
    from ..infra import atomic_write, check_output, together

    plan = PLANS[args.size]
    if args.loss:
        if len(args.loss) > 1:
            raise ValueError("--real takes one --loss")
        plan = dataclasses.replace(plan, loss=args.loss[0])
    if args.datasets is not None:
        names = tuple(n.strip() for n in args.datasets.split(",") if n.strip())
        unknown = [n for n in names if n not in CATALOGUE]
        if unknown or not names:
            raise ValueError(f"--datasets takes {', '.join(CATALOGUE)}, got {args.datasets!r}")
        plan = dataclasses.replace(plan, datasets=names)
    if args.resume or args.class_sizes is not None or args.executor != "local":
        raise ValueError("--real runs in this process: no --resume, --class-sizes or "
                         "--executor")
    check_output(out / "real.json", "--out", make_parents=True)
    start = time.perf_counter()
    result = run_real(plan, progress=None if args.json else
                      lambda r: sys.stderr.write(f"ssem: real: {r['dataset']} alpha "
                                                 f"{r['alpha']:g} tau {r['tau']:g} seed "
                                                 f"{r['seed']} done\n"))
    result["seconds"] = time.perf_counter() - start
    text = real_report(result)
    with together():
        atomic_write(out / "real.json", (_dumps(result) + "\n").encode())
        atomic_write(out / "real.md", text.encode())
    counts: dict = {}
    for p in result["points"]:
        counts[p["verdict"]] = counts.get(p["verdict"], 0) + 1
    if args.json:
        print(_dumps({"verdicts": counts, "seconds": result["seconds"],
                      "files": [str(out / "real.json"), str(out / "real.md")]}))
        return 0
    print(text)
    print(f"wrote {out / 'real.json'} and {out / 'real.md'}")
    return 0


def _crosscheck(args) -> int:
    import shlex
    import time
    from pathlib import Path

    from ..infra import check_output
    from ..harness import report
    from ..harness import default_plan, run

    if not args.out:
        raise ValueError("--out is empty: give a folder name")
    if args.address is not None and args.executor != "ray":
        raise ValueError("--address goes with --executor ray")
    if args.jobs is not None and (args.jobs < 1 or args.executor != "local"):
        raise ValueError(f"--jobs goes with the local executor and must be >= 1, got "
                         f"{args.jobs}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    if args.real:
        return _crosscheck_real(args, out)
    if args.datasets is not None:
        raise ValueError("--datasets goes with --real")
    check_output(out / "results.jsonl", "--out", make_parents=True)
    device = _device(args.device)
    from ..spec import get_spec

    losses = tuple(dict.fromkeys(get_spec(loss) for loss in args.loss or PRESETS))
    if args.class_sizes is not None:
        from ..setting import check_sizes

        for loss in losses:
            check_sizes(loss, args.class_sizes, 2)
    plan = default_plan(losses, args.size, args.class_sizes)
    start = time.perf_counter()
    try:
        result = run(plan, out, resume=args.resume, device=device, progress=not args.json,
                     warn=lambda msg: sys.stderr.write(f"ssem: warning: {msg}\n"),
                     executor=args.executor, address=args.address, jobs=args.jobs or 1)
    except (KeyboardInterrupt, Terminated) as exc:
        again = [a for a in (sys.argv[1:] if args.argv is None else args.argv)
                 if a != "--resume"]
        exc.hint = (f"finished configurations are kept in {out / 'results.jsonl'}; continue "
                    f"with: ssem {shlex.join(again)} --resume")
        raise
    from ..harness import dynamics as dynamics_check
    from ..infra import atomic_write

    dyn_losses = [loss for loss in losses if loss.views in (None, 2)]
    dyn = (dynamics_check.crosscheck(dyn_losses, relax={"tiny": 0, "quick": 1}.get(
        args.size, len(dyn_losses))) if args.class_sizes is None else [])
    from ..harness import families as families_check

    fam = families_check.crosscheck(args.size) if args.class_sizes is None else []
    seconds = time.perf_counter() - start
    report.write(result, out, args.size, seconds)
    if dyn:  # the dynamics section: its records, and appended to the report
        atomic_write(out / "dynamics.json", (_dumps(dyn) + "\n").encode())
        text = (out / "report.md").read_text()
        atomic_write(out / "report.md", (text + "\n" + dynamics_check.section(dyn)).encode())
    if fam:  # the hierarchies and image-text pairs: their records, and a report section
        atomic_write(out / "families.json", (_dumps(fam) + "\n").encode())
        text = (out / "report.md").read_text()
        atomic_write(out / "report.md", (text + "\n" + families_check.section(fam)).encode())
    files = {name: str(out / name) for name in
             ("report.md", "results.jsonl", "phase.png", "variance_vs_alpha.png",
              "per_class_variance.png")}
    if dyn:
        files["dynamics.json"] = str(out / "dynamics.json")
    if fam:
        files["families.json"] = str(out / "families.json")
    fam_counts: dict = {}
    for r in fam:
        fam_counts[r["verdict"]] = fam_counts.get(r["verdict"], 0) + 1
    dyn_counts: dict = {}
    for r in dyn:
        for v in r["verdicts"].values():
            dyn_counts[v] = dyn_counts.get(v, 0) + 1
    if args.json:
        print(_dumps({"verdicts": result.counts(), "dynamics_verdicts": dyn_counts,
                      "families_verdicts": fam_counts,
                      "seconds": seconds, "files": files,
                          "thresholds": [{k: t.get(k) for k in (
                              "loss", "axis", "tau", "alpha", "derived", "located", "uncertainty",
                              "difference", "tolerance", "verdict")}
                              for t in result.thresholds]}))
        return 0
    print(report.table(result))
    if dyn:
        print("\ndynamics (free embeddings against the exact reduced trajectory): " + ", ".join(
            f"{n} {v}" for v, n in sorted(dyn_counts.items())) + f" ({len(dyn)} runs)")
    if fam:
        print("hierarchies and image-text pairs (free embeddings through SupCLLoss against the "
              "exact optimum): " + ", ".join(f"{n} {v}" for v, n in sorted(fam_counts.items()))
              + f" ({len(fam)} runs)")
    print(f"\n{len(result.points)} configurations and {len(result.thresholds)} threshold "
          f"searches in {seconds:.0f} s on {device} ({args.executor} executor); "
          f"{report.work_line(result)}\nwrote {', '.join(files.values())}")
    return 0


def _export(args) -> int:
    from ..infra import atomic_write, check_output
    from ..report import export
    from ..spec import get_spec

    if args.out is not None:
        check_output(args.out)
    spec = get_spec(args.loss)
    text = export(spec, args.format)
    if args.out is not None:
        atomic_write(args.out, text.encode())
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _guide(args) -> int:
    from ..report import guide

    if getattr(args, "dim", None) is not None and (args.tau is None
                                                   or args.target_within is None):
        raise ValueError("--dim checks the recommended alpha: give --tau and --target-within")
    setting = _guide_setting(args)
    from ..vocab import Learnable

    if isinstance(args.tau, Learnable):
        return _guide_learned(args, setting)
    if isinstance(setting, Dataset) and getattr(args, "dim", None) is not None:
        raise ValueError("--dim checks the recommended alpha of a batch, not of a dataset "
                         "(--instances-per-class, or a batch that is no multiple of the classes)")
    if isinstance(setting, Dataset) and setting.sampler.kind == "uniform":
        return _guide_uniform(args, setting)
    out = guide(args.loss, setting, tau=args.tau, alpha=args.alpha,
                target_within=args.target_within, dim=getattr(args, "dim", None)).as_dict()
    if isinstance(setting, Batch) and not setting.is_balanced:
        return _guide_imbalanced(args, setting, out)
    extra = None
    if isinstance(setting, Dataset):  # a balanced sampler over a finite dataset
        shown = "none in [0, 1]" if out["alpha_c"] is None else f"{out['alpha_c']:.6g}"
        extra = (
            f"Per dataset (C = {setting.classes} classes x n = {setting.instances} instances, "
            f"batches of k = {setting.sampler.k} per class): training minimises the expected "
            "batch loss over all the dataset's embeddings, whose classes collapse iff "
            f"alpha <= {shown} (the dataset-level threshold; the per-batch one above holds for "
            "one batch alone).")
    if args.json:
        keys = ("alpha_c", "alpha", "tau_c", "tau", "tau_solutions", "per_batch")
        print(_dumps({key: out[key] for key in keys if key in out}
                     | {"warnings": guide_warnings(out)}))
        return 0
    m, k, p = out["batch"]
    print(f"loss {out['loss']}, batch m x k x p = {m} x {k} x {p}")
    for line in guide_lines(out) + ([extra] if extra else []):
        print(line)
    for warning in guide_warnings(out):
        print(f"warning: {warning}")
    return 0


def _guide_learned(args, setting) -> int:
    """``ssem guide --tau learnable[:CLAMP]``: alpha_c and the alpha for a target within-class
    variance with tau learned, for any setting."""
    from ..report import guide

    if getattr(args, "dim", None) is not None:
        raise ValueError("--dim checks the optimum at a fixed tau: give a number for --tau")
    out = guide(args.loss, setting, tau=args.tau, target_within=args.target_within).as_dict()
    if args.json:
        keys = ("alpha_c", "collapse_when", "alpha", "alphas", "within_range", "tau", "clamp")
        print(_dumps({key: out[key] for key in keys if key in out}
                     | {"warnings": guide_warnings(out)}))
        return 0
    print(f"loss {out['loss']}, {out['setting']}, tau learned (>= {out['clamp']:g})")
    for line in guide_lines(out):
        print(line)
    for warning in guide_warnings(out):
        print(f"warning: {warning}")
    return 0


def _guide_setting(args) -> Batch | Dataset:
    """The setting ``ssem guide``'s flags name, built once: unequal sizes (--class-sizes), a
    balanced batch (--classes/--per-class, or --batch-size/--num-classes [x --world-size]), a
    dataset under the balanced sampler (with --instances-per-class), or under the uniform
    sampler where the batch is no multiple of the classes."""
    from ..report import balanced_batch
    from ..setting import balanced, uniform

    if args.class_sizes is not None:
        if args.batch_size is not None or args.num_classes is not None:
            raise ValueError("give --class-sizes or --batch-size/--num-classes, not both")
        if args.world_size != 1 or args.instances_per_class is not None:
            raise ValueError("--world-size and --instances-per-class go with "
                             "--batch-size/--num-classes")
        return Batch(_imbalanced(args), args.views)
    if args.batch_size is None and args.num_classes is None:
        if args.world_size != 1:
            raise ValueError("--world-size goes with --batch-size/--num-classes (the per-rank "
                             "batch); with --classes/--per-class give the global batch")
        if args.classes is None or args.per_class is None:
            raise ValueError("give --classes and --per-class (or --batch-size and "
                             "--num-classes)")
        if args.instances_per_class is not None:
            raise ValueError("--instances-per-class goes with --batch-size/--num-classes and "
                             "--tau")
        return Batch.balanced(args.classes, args.per_class, args.views)
    if args.classes is not None or args.per_class is not None:
        raise ValueError("give either --classes/--per-class or --batch-size/--num-classes")
    if args.batch_size is None or args.num_classes is None:
        raise ValueError("--batch-size and --num-classes go together")
    if args.world_size < 1:
        raise ValueError(f"--world-size must be >= 1, got {args.world_size}")
    if args.num_classes < 2 or args.batch_size < 1:
        raise ValueError(f"--num-classes must be >= 2 and --batch-size >= 1, got "
                         f"{args.num_classes} and {args.batch_size}")
    C, n, total = args.num_classes, args.instances_per_class, args.batch_size * args.world_size
    if total % C:
        return Dataset(C, n, args.views, uniform(total))
    m, k = balanced_batch(total, C)
    if n is None:
        return Batch.balanced(m, k, args.views)
    if args.tau is None:
        raise ValueError("--instances-per-class goes with --batch-size/--num-classes and --tau")
    return Dataset(C, n, args.views, balanced(m, k))


def _guide_uniform(args, setting: Dataset) -> int:
    """A batch that is not a multiple of the classes: drawn uniformly, its composition varies.
    The answer is the dataset-level threshold of the uniform sampler, beside the per-batch
    model's at the nearest balanced batch (all C classes, round(B/C) instances each)."""
    from ..report import guide
    from ..spec import get_spec

    spec = get_spec(args.loss)
    C, n, batch = setting.classes, setting.instances, setting.sampler.batch
    if args.tau is None or args.target_within is not None:
        return _guide_uniform_answer(args, spec, setting)
    out = guide(spec, setting, tau=args.tau).as_dict()
    data, per = out["alpha_c"], out["per_batch"]
    note = ("--instances-per-class not given: the dataset is taken in the limit n -> oo "
            "(give n for a finite dataset); " if n is None else "")
    note += (f"training minimises the expected batch loss over the whole dataset, so the "
             f"dataset-level threshold (to 1e-6) is the one that applies; a batch of {batch} "
             f"from {C} classes drawn uniformly holds them in varying numbers, and the per-batch "
             + (f"number is the one-batch model at the nearest balanced batch ({C} x "
                f"{per['batch'][1]}), for comparison" if per is not None else
                f"model does not apply (no balanced batch of {batch} holds all {C} classes "
                "twice)"))
    if args.json:
        print(_dumps({"alpha_c": data, "per_batch": per, "sampler": f"uniform:{batch}",
                      "expectation": out["expectation"],
                      "expectation_error": out["expectation_error"], "note": note,
                      "warnings": guide_warnings(out)}))
        return 0
    from ..setting import mixture

    weights = mixture(spec, C, n, args.views, batch)
    print(f"loss {spec.name}, dataset C x n x p = {C} x {'inf' if n is None else n} x "
          f"{args.views}, uniform batches of "
          f"{batch}, tau = {args.tau:g}")
    print(_table([("alpha_c dataset-level", "none in [0, 1]" if data is None else f"{data:.6g}"),
                  ("alpha_c per batch", "n/a" if per is None
                   else f"{per['alpha_c']:.6g} (balanced {C} x {per['batch'][1]})"),
                  ("expected loss", weights.describe())]))
    shown = "none in [0, 1]" if data is None else f"alpha <= {data:.6g}"
    print(f"\nThe dataset's classes collapse iff {shown}.")
    print(f"Note: {note}.")
    return 0


def _guide_uniform_answer(args, spec, setting: Dataset) -> int:
    """--alpha or --target-within for uniformly drawn batches: the dataset-level answers."""
    from ..report import guide

    C, n, batch = setting.classes, setting.instances, setting.sampler.batch
    out = guide(spec, setting, tau=args.tau, alpha=args.alpha,
                target_within=args.target_within).as_dict()
    out["note"] = ("dataset-level answers of the uniform sampler: training with it minimises "
                   "the expected batch loss over the whole dataset"
                   + ("; --instances-per-class not given: the limit n -> oo" if n is None
                      else ""))
    if args.json:
        print(_dumps(out))
        return 0
    print(f"loss {spec.name}, dataset C x n x p = {C} x {'inf' if n is None else n} x "
          f"{args.views}, uniform batches of {batch}")
    if "alpha_for_target" in out:
        print(f"At tau = {out['tau']:g} the dataset-level within-class variance is "
              f"{out['target_within']:g} at alpha = {out['alpha_for_target']:.6g}.")
    elif "taus_for_target" in out:
        taus = ", ".join(f"{t:.6g}" for t in out["taus_for_target"])
        print(f"At alpha = {out['alpha']:g} the dataset-level within-class variance is "
              f"{out['target_within']:g} at tau = {taus}.")
    else:
        ends = out["collapsed_at_range_ends"]
        lo, hi = out["tau_range"]
        taus = ", ".join(f"{t:.6g}" for t in out["tau_c"]) or "none"
        print(f"At alpha = {out['alpha']:g} the dataset's classes are "
              f"{'collapsed' if ends[0] else 'not collapsed'} at tau = {lo:g} and "
              f"{'collapsed' if ends[1] else 'not collapsed'} at tau = {hi:g}; "
              f"tau_c (dataset-level) in that range: {taus}.")
    print(f"Note: {out['note']}.")
    return 0


def _guide_imbalanced(args, batch: Batch, out: dict) -> int:
    """The guide of unequal class sizes: per class, and the size-weighted target."""
    sizes = batch.sizes
    warnings = guide_warnings(out)
    if args.json:
        keys = ("alpha_c_per_class", "tau_c_per_class", "collapsed_at_range_ends_per_class",
                "alpha_range", "tau_range", "alpha", "class_sizes")
        print(_dumps({key: out[key] for key in keys if key in out} | {"warnings": warnings}))
        return 0
    print(f"loss {out['loss']}, class sizes {sizes}, p = {args.views}")
    for line in guide_lines(out):
        print(line)
    for warning in warnings:
        print(f"warning: {warning}")
    return 0


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.10g}"
    return "null" if value is None else str(value).lower()


def _table(rows) -> str:
    width = max(len(str(key)) for key, _ in rows)
    return "\n".join(f"{str(key):<{width}}  {val}" for key, val in rows)


def _formula(args) -> int:
    import sympy as sp

    from ..forms import form_of
    from ..spec import get_spec
    from ..ssem import collapse_boundaries, vertex_multipliers

    render = {"text": sp.sstr, "latex": sp.latex, "python": sp.pycode}[args.format]
    spec = get_spec(args.loss)
    forms = form_of(spec).closed_forms(spec)
    mus = vertex_multipliers(spec)
    roots = collapse_boundaries(spec)
    if args.json:
        items = {key: render(forms[key]) if key in forms else None
                 for key in ("reduced_loss", "alpha_c", "tau_c")}
        print(_dumps(items | {"collapse_multipliers": {n: render(e) for n, e in mus.items()},
                              "collapse_boundaries": {n: None if e is None else render(e)
                                                      for n, e in roots.items()}}))
        return 0
    print(f"# loss convention: {spec.name}, {spec.form} form  (symbols: m, k, p, alpha, tau, "
          "beta)")
    print(f"f(beta) = {render(forms['reduced_loss'])}")
    print(f"alpha_c(tau) = {render(forms['alpha_c'])}")
    if "tau_c" in forms:
        print(f"tau_c(alpha) = {render(forms['tau_c'])}")
        print(f"# tau_c = 0 for alpha <= {render(forms['alpha_c_tau0'])}; "
              f"no tau collapses for alpha >= {render(forms['alpha_c_tauinf'])}")
    else:
        print("# tau_c(alpha): no closed form; `ssem threshold --alpha` locates it")
    print("# global optimum: class collapse (v = c = 1, centroid 0) is optimal iff these KKT "
          "multipliers at that vertex are all >= 0 (p >= 2):")
    for name, expr in mus.items():
        print(f"mu_{name}(alpha, tau) = {render(expr)}")
    for name, root in roots.items():
        where = ("does not depend on alpha" if root is None else
                 f"vanishes at alpha = {render(root)}")
        print(f"# mu_{name} {where}")
    return 0


def _spec(args) -> int:
    from ..forms import form_of
    from ..optimum import established
    from ..spec import PRESETS, examples, get_spec, to_toml

    if args.action == "list":
        if args.loss is not None:
            raise ValueError("ssem spec list takes no loss")
        rows = [(name, "preset", spec.description) for name, spec in PRESETS.items()]
        rows += [(name, str(path), get_spec(path).description)
                 for name, path in examples().items() if name not in PRESETS]
        if args.json:
            print(_dumps([{"name": n, "source": s, "description": d} for n, s, d in rows]))
            return 0
        print(_table([(n, f"{s}: {d}" if d else s) for n, s, d in rows]))
        return 0
    if args.loss is None:
        raise ValueError("ssem spec show takes a loss: a preset, a shipped example or a file")
    spec = get_spec(args.loss)
    facts = ({"key": spec.key(), "closed_forms": "none: hard negatives make the loss not "
              "convex (ssem optimum gives the best symmetric point of a balanced batch)"}
             if spec.hard_negatives else
             {"key": spec.key(), "closed_forms": "none: a temperature per pair type (ssem "
              "optimum, regimes and threshold take it)"} if spec.temperatures else
             {"key": spec.key(), "closed_forms": "none: label levels (ssem optimum, regimes, "
              "threshold and phase take them with --hierarchy)"} if spec.levels else
             {"key": spec.key(), "closed_forms": "none: a cross-modal contrast (ssem optimum, "
              "regimes, threshold and phase take it with --pairs)"}
             if spec.contrast == "cross-modal" else
             {"key": spec.key(), **form_of(spec).summary(spec),
              "ssem_established": established(spec)})
    if args.json:
        print(_dumps({"spec": spec.canonical(), "words": _in_words(spec)} | facts))
        return 0
    print(to_toml(spec), end="")
    print("\n# " + "\n# ".join(_in_words(spec).splitlines()))
    print("# " + "\n# ".join(f"{key}: {value}" for key, value in facts.items()))
    return 0


def _in_words(spec) -> str:
    from ..forms import form_of

    words = form_of(spec).in_words(spec)
    if spec.scale != 1:
        params = ", ".join(f"{n} = {v}" for n, v in spec.parameters)
        words += (f"\nThe loss is multiplied by {spec.scale}" + (f" ({params})" if params else "")
                  + ": the scale changes every loss value, never the optimal geometry, the "
                  "thresholds or the regimes.")
    if spec.no_positive == "zero":
        words += ("\nAn anchor without a positive in a term counts as a loss of 0 in that "
                  "term's mean over all anchors.")
    if spec.views is not None:
        words += f"\nDefined for {spec.views} views per instance only."
    if spec.contrast == "cross-modal":
        words += ("\nAcross modalities only: on image-text pairs an image is contrasted with the "
                  "texts and a text with the images; view is an instance's other modality, "
                  "class and other the other modality's embeddings.")
    if spec.levels:
        lam = dict(spec.levels)
        words += (f"\nThe supervised term is summed over label levels: {lam['class']} x itself "
                  f"+ {lam['superclass']} x itself read at the superclasses (each superclass "
                  "one class: its positives are the anchor's views and its whole superclass).")
    return words


def _regimes_hierarchy(args, spec, setting) -> int:
    from ..optimum import regimes
    from ._hierarchy import print_regimes

    return print_regimes(args, spec, setting, regimes(spec, setting, tau=args.tau,
                                                      alpha=args.alpha))


def _regimes_paired(args, spec, setting) -> int:
    from ..optimum import regimes
    from ._paired import print_regimes

    return print_regimes(args, spec, setting, regimes(spec, setting, tau=args.tau,
                                                      alpha=args.alpha))


def _optimum_paired(args, spec, setting) -> int:
    from ..optimum import optimum
    from ._paired import print_optimum

    return print_optimum(args, spec, setting, optimum(spec, setting, args.alpha, args.tau))


def _optimum_hierarchy(args, spec, setting) -> int:
    from ..optimum import optimum
    from ._hierarchy import print_optimum

    return print_optimum(args, spec, setting, optimum(spec, setting, args.alpha, args.tau))


_optimum_fixed = _by_family({"balanced": _optimum_balanced, "imbalanced": _optimum_imbalanced,
                             "dataset": _optimum_dataset, "hierarchy": _optimum_hierarchy,
                             "paired": _optimum_paired})


def _optimum(args) -> int:
    from ..vocab import Learnable

    if isinstance(args.tau, Learnable):
        return _optimum_learned(args, *_resolve(args))
    return _optimum_fixed(args)


def _optimum_learned(args, spec, setting) -> int:
    """``ssem optimum --tau learnable[:CLAMP]``: the joint optimum over the embeddings and
    tau, for any setting."""

    opt, rows = _optimum_rows(args, spec, setting, "--dim takes a number for --tau: run ssem "
                              "optimum at the learned tau")
    if opt is None:
        return 0
    learned = opt.temperature
    where = ("at the clamp: the lowest loss searched is there, so training drives tau down "
             "to it" if learned.at_clamp else "at the top of the range searched: the loss is "
             "lowest there" if learned.at_top else "inside the range: the lowest loss searched "
             "lies there")
    print(_table([("loss", spec.name), ("setting", setting.describe()),
                  ("alpha", args.alpha), ("tau", f"learnable, >= {learned.clamp:g}")] + rows))
    print(f"\nlearned tau = {learned.tau:.6g}, {where} (searched on {len(learned.profile)} "
          f"points in log tau over [{learned.clamp:g}, {learned.top:g}], then golden section).")
    if learned.limit is not None:
        v = learned.limit.value
        trend = ("falls without bound" if v < 0 else "stays bounded" if v == 0 else
                 "grows without bound")
        scale = ("" if spec.scale == 1 else
                 "; the spec's scale multiplies it (the learned loss above includes it)")
        print(f"As tau -> 0, tau x (the optimum's unscaled loss) -> V* = {v} (exact, a linear "
              f"program): the unscaled loss {trend} as tau -> 0{scale}.")
    gone = [i for i, c in enumerate(opt.per_class) if c["collapsed"]]
    print("At the learned tau " + ("every class collapses." if opt.collapsed else
                                   f"classes {gone} collapse, the others keep their spread."
                                   if gone else "no class collapses."))
    if learned.at_clamp and isinstance(setting, Batch) and setting.is_balanced:
        from ..optimum import threshold

        th = threshold(spec, setting, tau=args.tau.clamp)
        if th.alpha_c is not None and th.collapse_when:
            print(f"At the clamp the classes collapse iff "
                  f"{th.collapse_when.replace('alpha_c', f'alpha_c(tau = {learned.clamp:g})')}"
                  f" = {th.alpha_c:.6g} (ssem threshold --tau learnable checks every alpha).")
    return 0
_regimes_fixed = _by_family({"balanced": _regimes_balanced, "imbalanced": _regimes_imbalanced,
                             "dataset": _regimes_dataset, "hierarchy": _regimes_hierarchy,
                             "paired": _regimes_paired})


def _regimes(args) -> int:
    from ..vocab import Learnable

    if isinstance(args.tau, Learnable):
        return _regimes_learned(args, *_resolve(args))
    return _regimes_fixed(args)


def _regimes_learned(args, spec, setting) -> int:
    """``ssem regimes --tau learnable[:CLAMP]``: the regimes along alpha of the joint optimum
    over the embeddings and tau, for any setting."""
    from ..optimum import regimes

    if args.dim is not None:
        raise ValueError("--dim takes a number for --tau: run ssem regimes at the learned tau")
    result = regimes(spec, setting, tau=args.tau)
    if args.json:
        print(_dumps(result.as_dict()))
        return 0
    clamp = float(args.tau.clamp)
    views = setting.views
    print(_table([("loss", spec.name), ("setting", setting.describe()),
                  ("scan", f"alpha at tau learnable, >= {clamp:g} (searched up to "
                   f"{float(args.tau.top):g})")]))
    bounds = result.boundaries
    print(f"\n{len(bounds)} boundar{'y' if len(bounds) == 1 else 'ies'} along alpha (to 1e-6):")
    for b in bounds:
        moved = ("" if b.tau_below == b.tau_above else
                 f"; tau* {b.tau_below} -> {b.tau_above}")
        print(f"  alpha = {b.at:.7g}: [{', '.join(b.below)}] -> [{', '.join(b.above)}]{moved}")
    print("\nRegimes (tau* read at a point inside each):")
    places = {"clamp": "at the clamp", "top": "at the top of the search",
              "interior": "inside the range"}
    for r in result.regimes:
        state = (_regime_words(r["active"], views) if "collapsed" in r else
                 f"classes {r['collapsed_classes']} collapsed" if r["collapsed_classes"]
                 else "no class collapsed")
        print(f"  alpha in [{r['from']:.6g}, {r['to']:.6g}]: {state}; tau* = {r['tau']:.6g}, "
              f"{places[r['tau_star']]}")
    return 0
_COMMANDS = {"threshold": _threshold, "optimum": _optimum, "regimes": _regimes, "phase": _phase,
             "crosscheck": _crosscheck, "export": _export, "guide": _guide, "formula": _formula,
             "spec": _spec, "explain": _explain, "diagnose": _diagnose,
             "dynamics": _dynamics}


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
