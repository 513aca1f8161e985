"""Training models from their specs: a :class:`Spec` says what a model is, :func:`train_many` trains what
the model cache (:mod:`subclass_lib.cache`) lacks, in joblib's workers (loky processes by default, kept between
calls, one thread a model), and returns the trained models. ``joblib.parallel_config(backend=...)`` hands the same
call to ``"sequential"`` or a cluster (``"dask"``, ``"ray"``; ``book/how_to_run.md``)."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

from torch import nn

from . import cache
from .cache import cache_dir, cache_key, clear_memory_cache, is_cached  # noqa: F401  (the runner's API)
from .threads import THREADS_ENV, available_cpus, check_threads, cpu_threads, pinned  # noqa: F401
from .threads import pinned_count, positive_int_env
from .train import History, progress_callback, resolve_device

WORKERS_ENV = "SUBCLASS_LIB_WORKERS"  # worker processes of train_many (default: every CPU)


@dataclass(frozen=True)
class Spec:
    """What one model is: a frozen dataclass whose fields are what the model depends on (its cache key, with
    ``name`` and ``version``, bumped when its training changes). ``build`` gives the seeded untrained model,
    ``fit`` trains it with :func:`subclass_lib.train.fit`, ``needs`` names the specs whose models ``fit``
    receives (a student's teacher), ``cost`` is a rough relative training time."""

    name: ClassVar[str] = "model"
    version: ClassVar[int] = 1

    def needs(self) -> tuple["Spec", ...]:
        return ()

    def cost(self) -> float:
        return 1.0

    def build(self) -> nn.Module:
        raise NotImplementedError

    def fit(self, model: nn.Module, needs: list, device: str, callback) -> History:
        raise NotImplementedError  # train in place, callback(model, epoch, epochs, history) after each epoch


class Trained(NamedTuple):
    model: nn.Module
    history: History
    from_cache: bool


def default_workers() -> int:
    return positive_int_env(WORKERS_ENV, None) or available_cpus()


def train(spec: Spec, *, device: str = "auto", use_cache: bool = True, needs: list | None = None,
          progress=None, label: str | None = None, on_epoch=None) -> Trained:
    """The model of ``spec``: from the cache, else trained here (its needs first, unless given) and stored;
    ``progress`` (:func:`~subclass_lib.train.progress_callback`, named ``label``) and ``on_epoch`` follow each epoch."""
    model = spec.build()
    hist = cache.load(spec, model) if use_cache else None
    if hist is not None:
        return Trained(model.eval(), hist, True)
    if needs is None:
        needs = [train(n, device=device, use_cache=use_cache).model for n in spec.needs()]
    report = progress_callback(progress, label or spec.name)

    def callback(model, epoch, epochs, hist):
        if report is not None:
            report(model, epoch, epochs, hist)
        if on_epoch is not None:
            on_epoch(spec, model, epoch, epochs, hist)

    with cpu_threads():
        hist = spec.fit(model, list(needs), device, callback)
    cache.store(spec, model, hist, on_disk=use_cache)
    return Trained(model.eval(), hist, False)


def _check_specs(specs) -> list:
    """``specs`` as a list, or a clear error if one of them is not a :class:`Spec`."""
    specs = list(specs)
    for s in specs:
        if not isinstance(s, Spec):
            raise ValueError(f"expected model specs (runner.Spec), got {type(s).__name__}")
    return specs


class NotCached(LookupError):
    """A model that :func:`from_cache` was asked for is not in the model cache."""


def from_cache(specs, *, hint: str = "train them first") -> list[Trained]:
    """The trained models of ``specs``, in order, read from the model cache only: nothing is trained.
    Raises :class:`NotCached`, whose message starts with ``hint`` (e.g. "run chapters 1-5 first") and
    names what the cache lacks, when any of them is missing or unreadable."""
    specs = _check_specs(specs)

    def missing(which):
        names = sorted({s.name for s in which})
        return NotCached(f"{hint} (the model cache {cache_dir()} lacks {len(which)} of the {len(specs)} "
                         f"models asked for: {', '.join(names)})")

    absent = [s for s in specs if not is_cached(s)]
    if absent:
        raise missing(absent)
    out = []
    for s in specs:
        model = s.build()
        hist = cache.load(s, model)
        if hist is None:
            raise missing([s])
        out.append(Trained(model.eval(), hist, True))
    return out


def _in_worker(spec: Spec, device: str, env: dict, caller: int) -> None:
    """One spec in a worker, with the caller's ``SUBCLASS_LIB_*`` settings, into the cache on disk."""
    child = os.getpid() != caller  # a worker process (loky's, or a cluster's), not the caller itself
    if child:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for k in [k for k in os.environ if k.startswith("SUBCLASS_LIB_")]:
            del os.environ[k]
        os.environ.update(env)
    try:
        train(spec, device=device)
    finally:
        if child:
            clear_memory_cache()


def _missing(specs) -> list[Spec]:
    """The specs not on disk and the missing specs they need, each once."""
    out, seen, stack = [], set(), list(specs)
    while stack:
        s = stack.pop(0)
        if cache_key(s) not in seen and not is_cached(s):
            seen.add(cache_key(s))
            out.append(s)
            stack.extend(s.needs())
    return out


def _fill(specs, device: str, workers: int, progress, on_epoch) -> None:
    """Train the missing specs into the cache in waves of those whose needs are cached (what others need
    and the longest first), the first one here when ``on_epoch`` follows it."""
    from joblib import Parallel, delayed
    from joblib.parallel import ThreadingBackend, get_active_backend

    todo = _missing(specs)
    total, done = len(todo), [0]

    def tick(_=None):
        done[0] += 1
        return progress and progress(0.9 * done[0] / total, f"{done[0]}/{total} trained")
    parallel = (resolve_device(device).type == "cpu" and workers >= 2
                and pinned_count() in (None, positive_int_env(THREADS_ENV, 1)))
    env = {k: v for k, v in os.environ.items() if k.startswith("SUBCLASS_LIB_")}
    while todo:
        keys = {cache_key(s) for s in todo}
        needed = {cache_key(n) for s in todo for n in s.needs()}
        ready = [s for s in todo if not any(cache_key(n) in keys for n in s.needs())]
        here = ready[:1] if on_epoch is not None else []
        rest = sorted(ready[len(here):], key=lambda s: (cache_key(s) not in needed, -s.cost()))
        results = iter(())
        if parallel and rest and len(ready) >= 2:
            if isinstance(get_active_backend()[0], ThreadingBackend):  # one random generator for all threads
                raise ValueError("the threading backend would not give a seed's numbers: use loky, sequential, "
                                 "dask or ray")
            results = Parallel(n_jobs=workers, batch_size=1, return_as="generator_unordered")(
                delayed(_in_worker)(s, device, env, os.getpid()) for s in rest)
        else:
            here = here + rest
        for s in here:
            tick(train(s, device=device, on_epoch=on_epoch))
        for r in results:
            tick(r)
        left = [s for s in todo if not is_cached(s)]
        if len(left) == len(todo):  # nothing reached the disk (e.g. a read-only cache): trained below
            return
        todo = left


def train_many(specs, *, device: str = "auto", workers: int | None = None, use_cache: bool = True,
               progress=None, on_epoch=None) -> list[Trained]:
    """The trained models of ``specs``, in order. What the cache lacks is trained first, duplicates
    once, needed specs before those that need them, in ``workers`` parallel workers (default
    :func:`default_workers`; one after another here on a GPU, with one worker or inside a
    :func:`~subclass_lib.threads.cpu_threads` block of another count). With ``on_epoch`` the first
    missing spec trains in this process, followed epoch by epoch, while the others train beside it.
    ``use_cache=False`` trains every spec (and need) once, here."""
    specs = _check_specs(specs)
    workers = check_threads(default_workers() if workers is None else workers, "workers")
    if use_cache:
        _fill(specs, device, workers, progress, on_epoch)
        return [train(s, device=device) for s in specs]
    done: dict[str, Trained] = {}

    def get(s: Spec) -> Trained:
        if cache_key(s) not in done:
            needs = [get(n).model for n in s.needs()]
            done[cache_key(s)] = train(s, device=device, use_cache=False, on_epoch=on_epoch, needs=needs)
        return done[cache_key(s)]

    return [get(s) for s in specs]
