"""Training models from their specs: :class:`Spec` says what a model is, :func:`train_many` trains
what the model cache lacks (in parallel where the machine allows) and returns the trained models.

A spec is a frozen dataclass whose fields are exactly what its model depends on; they are its
cache key (:mod:`subclass_lib.cache`). Its methods build the untrained model, train it with
:func:`subclass_lib.train.fit`, and name the specs it needs (a student names its teacher).

Workers come from joblib (loky processes by default: they stay up between calls, one BLAS
thread each). ``joblib.parallel_config(backend=...)`` hands the same call to another engine:
``"sequential"`` on one machine, ``"dask"`` or ``"ray"`` on a cluster (``book/how_to_run.md``);
``"threading"`` is refused (threads share torch's random generator). Every model trains on :func:`~subclass_lib.threads.cpu_threads`, so
its numbers are the same wherever it trains.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

from torch import nn

from . import cache
from .cache import cache_dir, cache_key, clear_memory_cache, is_cached  # noqa: F401  (the runner's API)
from .threads import available_cpus, check_threads, cli_threads, command_line, cpu_threads, pinned  # noqa: F401
from .threads import THREADS_ENV, pinned_count, positive_int_env  # noqa: F401
from .train import History, resolve_device

WORKERS_ENV = "SUBCLASS_LIB_WORKERS"
#: Callback of a model trained in this process: ``on_epoch(spec, model, epoch, epochs, history)``.
EpochFn = Callable[["Spec", nn.Module, int, int, History], None]


@dataclass(frozen=True)
class Spec:
    """What one model is. Subclasses are frozen dataclasses that set ``name`` (the cache file's
    prefix), bump ``version`` when their training code changes what the model becomes, and define
    :meth:`build` and :meth:`fit`; :meth:`needs` and :meth:`cost` are optional."""

    name: ClassVar[str] = "model"
    version: ClassVar[int] = 1

    def needs(self) -> tuple["Spec", ...]:
        """Specs whose trained models :meth:`fit` receives, in order (a student's teacher)."""
        return ()

    def cost(self) -> float:
        """Rough relative training time: the longest start first."""
        return 1.0

    def build(self) -> nn.Module:
        """The untrained (seeded) model."""
        raise NotImplementedError

    def fit(self, model: nn.Module, needs: Sequence[nn.Module], device: str, callback) -> History:
        """Train ``model`` in place with ``fit(..., callback=callback)`` and return its history."""
        raise NotImplementedError


class Trained(NamedTuple):
    """A trained model: its weights, its history and whether it came from the cache."""

    model: nn.Module
    history: History
    from_cache: bool


def default_workers() -> int:
    """Worker processes of :func:`train_many`: ``$SUBCLASS_LIB_WORKERS``, else every CPU."""
    n = positive_int_env(WORKERS_ENV, None)
    return available_cpus() if n is None else n


def _check_specs(specs) -> list[Spec]:
    specs = list(specs)
    for s in specs:
        if not isinstance(s, Spec):
            raise ValueError(f"expected model specs (runner.Spec), got {type(s).__name__}")
    return specs


def train(spec: Spec, *, device: str = "auto", use_cache: bool = True, needs: Sequence[nn.Module] | None = None,
          progress: Callable[[float, str], None] | None = None, on_epoch: EpochFn | None = None) -> Trained:
    """The model of ``spec``: from the cache, else trained in this process (its needs loaded or trained
    first, unless given as ``needs``), stored, and returned. ``progress(fraction, text)`` and
    ``on_epoch`` are called after every epoch of a training."""
    model = spec.build()
    if use_cache:
        hist = cache.load(spec, model)
        if hist is not None:
            model.eval()
            return Trained(model, hist, True)
    if needs is None:
        needs = [train(n, device=device, use_cache=use_cache).model for n in spec.needs()]

    def callback(model, epoch, epochs, hist):
        if progress is not None:
            progress(epoch / epochs, f"{spec.name}: epoch {epoch}/{epochs}")
        if on_epoch is not None:
            on_epoch(spec, model, epoch, epochs, hist)

    with cpu_threads():
        hist = spec.fit(model, list(needs), device, callback)
    model.eval()
    cache.store(spec, model, hist, on_disk=use_cache)
    return Trained(model, hist, False)


def _in_worker(spec: Spec, device: str, env: dict) -> None:
    """One spec in a worker: the caller's settings (cache folder, reader seed, threads) first; its
    result goes to the cache on disk, and a worker process forgets its in-memory copies."""
    child = mp.parent_process() is not None
    if child:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops it, quietly
        os.environ.update(env)
        for k in [k for k in os.environ if k.startswith("SUBCLASS_LIB_") and k not in env]:
            del os.environ[k]
    try:
        train(spec, device=device)
    finally:
        if child:
            clear_memory_cache()


def _missing(specs: Sequence[Spec]) -> list[Spec]:
    """The specs not on disk and the missing specs they need, each once."""
    out, seen = [], set()
    stack = list(specs)
    while stack:
        s = stack.pop(0)
        k = cache_key(s)
        if k not in seen and not is_cached(s):
            seen.add(k)
            out.append(s)
            stack.extend(s.needs())
    return out


def _fill(specs: Sequence[Spec], device: str, workers: int, progress, on_epoch: EpochFn | None) -> int:
    """Train every missing spec into the cache in waves (each wave: what has its needs cached),
    longest first, the first one here when ``on_epoch`` follows it. Returns how many trained."""
    todo = _missing(specs)
    total, done = len(todo), 0
    parallel = (resolve_device(device).type == "cpu" and workers >= 2
                and pinned_count() in (None, positive_int_env(THREADS_ENV, 1)))
    env = {k: v for k, v in os.environ.items() if k.startswith("SUBCLASS_LIB_")}
    while todo:
        keys = {cache_key(s) for s in todo}
        ready = [s for s in todo if not any(cache_key(n) in keys for n in s.needs())]
        needed = {cache_key(n) for s in todo for n in s.needs()}
        here = [ready[0]] if on_epoch is not None else []
        rest = sorted(ready[len(here):], key=lambda s: (cache_key(s) not in needed, -s.cost()))
        if parallel and len(rest) + len(here) >= 2 and rest:
            from joblib import Parallel, delayed
            from joblib.parallel import ThreadingBackend, get_active_backend

            if isinstance(get_active_backend()[0], ThreadingBackend):
                raise ValueError("the threading backend trains models in threads that share torch's random "
                                 "generator, so seeds would not give their numbers: use loky (the default), "
                                 "sequential, dask or ray")
            run = Parallel(n_jobs=workers, batch_size=1, return_as="generator_unordered")
            results = run(delayed(_in_worker)(s, device, env) for s in rest)
        else:
            here, results = here + rest, iter(())
        for s in here:
            train(s, device=device, on_epoch=on_epoch)
            done += 1
            if progress is not None:
                progress(0.9 * done / total, f"{done}/{total} trained")
        for _ in results:
            done += 1
            if progress is not None:
                progress(0.9 * done / total, f"{done}/{total} trained")
        left = [s for s in todo if not is_cached(s)]
        if len(left) == len(todo):  # nothing reached the disk (e.g. a read-only cache): train_many trains here
            break
        todo = left
    return total


def train_many(specs: Sequence[Spec], *, device: str = "auto", workers: int | None = None, use_cache: bool = True,
               progress: Callable[[float, str], None] | None = None, on_epoch: EpochFn | None = None) -> list[Trained]:
    """The trained models of ``specs``, in order. What the cache lacks is trained first, duplicates
    once, needed specs before the specs that need them, in ``workers`` parallel workers (default
    :func:`default_workers`; on a GPU, with one worker or inside a :func:`cpu_threads` block of
    another count, one after another here). With ``on_epoch`` the first missing spec trains in
    this process, its callback called after every epoch, while the others train beside it.
    ``use_cache=False`` retrains every spec here (and its needs)."""
    specs = _check_specs(specs)
    n = check_threads(default_workers() if workers is None else workers, "workers")
    if not use_cache:  # each spec (and need) trained once, here
        done: dict[str, Trained] = {}

        def get(s: Spec) -> Trained:
            if cache_key(s) not in done:
                done[cache_key(s)] = train(s, device=device, use_cache=False, on_epoch=on_epoch,
                                           needs=[get(n).model for n in s.needs()])
            return done[cache_key(s)]

        return [get(s) for s in specs]
    _fill(specs, device, n, progress, on_epoch)
    return [train(s, device=device) for s in specs]
