"""Running a plan's units in parallel: on local worker processes (one torch thread each) or
on Ray. Each unit (a batched group of free configurations, one network, one threshold search)
is a task; only the driver writes results.

A task whose worker dies (killed, out of memory, a lost node) is retried by Ray, up to
:data:`RETRIES` times; records are appended by the driver once, when a task returns, so a
retried task is never recorded twice. A task that still fails is reported, and the run stops
with an error naming it; what finished is on disk, and ``--resume`` trains the rest.

Ray is an optional extra: ``pip install 'ssem-symbolic[ray]'``.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

#: Ray retries a task whose worker died this many times
RETRIES = 3
#: seconds to wait for a Ray cluster's address to answer before saying it cannot be reached
CONNECT_TIMEOUT = 10.0


def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


def run_in_processes(execute: Callable, units: list, device: str, validity: bool,
                     finished: Callable[[list[dict]], None], jobs: int) -> None:
    """Every unit on a pool of ``jobs`` worker processes, each with one torch thread (many
    small problems run several times faster so than with a thread per core competing:
    BENCHMARKS.md, "Threads"); each unit's records go to ``finished`` as it returns, in the
    driver. A worker that dies is an error naming its unit; what finished is on disk."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("spawn")  # no forked torch state
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_one_thread) as pool:
        pending = {pool.submit(execute, kind, unit, device, validity): (kind, unit)
                   for kind, unit in units}
        try:
            while pending:
                done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for fut in done:
                    kind, unit = pending.pop(fut)
                    try:
                        recs = fut.result()
                    except BrokenProcessPool:
                        raise RuntimeError(f"a worker process died running the {kind} unit "
                                           f"({_name(unit)}); the finished ones are recorded, "
                                           "rerun with --resume for the rest") from None
                    finished(recs)
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise


def _reachable(address: str) -> None:
    """ValueError (one line) unless host:port answers a TCP connection within
    :data:`CONNECT_TIMEOUT` (Ray itself would retry the connection for minutes)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return  # "auto", or a form Ray reads itself
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise ValueError(f"cannot reach the Ray cluster at {address}: "
                         f"{exc.strerror or exc}") from None


def run_on_ray(execute: Callable, units: list, device: str, validity: bool,
               finished: Callable[[list[dict]], None], address: str | None = None) -> None:
    """Submit every unit as a task (one CPU each; one GPU each with ``device="cuda"``) and hand
    each task's records to ``finished`` as it returns. A local Ray instance is started (and
    stopped) unless one is running or ``address`` names a cluster."""
    try:
        import ray
    except ImportError:
        raise ValueError("the ray executor needs Ray: pip install 'ssem-symbolic[ray]'") from None
    started = False
    if not ray.is_initialized():
        if address is not None:
            _reachable(address)
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
        started = True
    try:
        task = ray.remote(num_cpus=1, num_gpus=1 if device == "cuda" else 0,
                          max_retries=RETRIES)(execute)
        pending = {task.remote(kind, unit, device, validity): (kind, unit)
                   for kind, unit in units}
        failed = []
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            ref = ready[0]
            kind, unit = pending.pop(ref)
            try:
                recs = ray.get(ref)
            except ray.exceptions.RayError as exc:
                failed.append(f"{kind} unit ({_name(unit)}): {type(exc).__name__}")
                continue
            finished(recs)
        if failed:
            raise RuntimeError(f"{len(failed)} Ray task(s) failed after {RETRIES} retries: "
                               f"{failed[0]}; the finished ones are recorded, rerun with "
                               "--resume for the rest")
    finally:
        if started:
            ray.shutdown()


def _name(unit) -> str:
    if isinstance(unit, list):
        return f"{len(unit)} configurations, first {unit[0].key()}"
    if isinstance(unit, dict):
        return ", ".join(f"{k}={v}" for k, v in unit.items() if k != "loss")
    return unit.key()
