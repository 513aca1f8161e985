"""Running jobs: the cache of trained models, CPU thread pinning and the worker pool.

* The model cache: :func:`load_or_train` returns a trained model (:class:`Trained`),
  training only when ``(name, config)`` is not in memory or on disk under :func:`cache_dir`
  (``$SUBCLASS_LIB_CACHE``), keyed by a hash of the configuration and of the library's
  training source (:func:`library_fingerprint`), written atomically.
* Thread pinning: :func:`cpu_threads` runs CPU work on a fixed number of torch threads, so
  a seed's numbers do not depend on the machine's load; :func:`cli_threads` is the count
  of a command-line run.
* The worker pool: :func:`run_all` trains many :class:`Job` s (a recipe's description of a
  model to train) in spawned processes (:func:`default_workers`, ``$SUBCLASS_LIB_WORKERS``),
  skipping what is cached, longest first, each job's prerequisites (a student's teacher) before it.

The recipes in :mod:`subclass_lib.experiments` say what to train; this module runs it: it is
the only module that knows about threads and processes.
"""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import contextlib
import functools
import hashlib
import json
import multiprocessing as mp
import os
import signal
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import NamedTuple
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from . import __version__
from .files import atomic_write, to_jsonable
from .train import History, reader_seed, resolve_device

# ----------------------------------------------------------------------------- cache

def cache_dir() -> Path:
    """Folder of trained models: ``$SUBCLASS_LIB_CACHE``, default ``~/.cache/subclass_lib/models``."""
    env = os.environ.get("SUBCLASS_LIB_CACHE")
    return Path(env).expanduser() if env else Path("~/.cache/subclass_lib/models").expanduser()


_SOURCE_HASH: str | None = None


# Source that decides what a trained model is; figures and panels are left out so that
# editing a plot does not throw away every trained model.
_TRAINING_SOURCES = ("*.py", "experiments/*.py")
# ... and modules that never change a trained model (the command line, the claim checks, text tables,
# analysis and sweeps that only choose which configurations to train: each model is defined by its recipe
# module and its cache key)
_NOT_TRAINING = ("__main__.py", "claims.py", "base.py", "ls_kd_geometry.py", "hinton_sweeps.py", "subclass_seeds.py",
                 "subclass_students_sweeps.py")


def training_sources() -> list[Path]:
    """The source files whose bytes go into :func:`library_fingerprint`, sorted."""
    root = Path(__file__).parent
    return sorted(q for pattern in _TRAINING_SOURCES for q in root.glob(pattern) if q.name not in _NOT_TRAINING)


def library_fingerprint() -> str:
    """Hash of the library's version and training source: a change to that code invalidates the cache."""
    global _SOURCE_HASH
    if _SOURCE_HASH is None:
        h = hashlib.sha256(__version__.encode())
        root = Path(__file__).parent
        for p in training_sources():
            h.update(p.relative_to(root).as_posix().encode())
            h.update(p.read_bytes())
        _SOURCE_HASH = h.hexdigest()[:16]
    return _SOURCE_HASH


def _not_in_a_key(obj):
    raise ValueError(f"cannot use a {type(obj).__name__} in a cache key")


def cache_key(name: str, config) -> str:
    """Stable hash of a run's name, configuration (JSON-able or a dataclass), the library and the
    reader seed (:func:`subclass_lib.train.run_seed`; left out at 0, the book's own seeds)."""
    fields = {"name": name, "config": to_jsonable(config), "lib": library_fingerprint()}
    if reader_seed():
        fields["reader_seed"] = reader_seed()
    payload = json.dumps(fields, sort_keys=True, default=_not_in_a_key)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def cached_path(name: str, config) -> Path:
    """The file :func:`load_or_train` keeps the model of ``(name, config)`` in."""
    return cache_dir() / f"{name}-{cache_key(name, config)}.pt"


def is_cached(name: str, config) -> bool:
    """Whether :func:`load_or_train` would find ``(name, config)`` on disk (e.g. to decide
    which runs still need training before handing them to worker processes)."""
    return cached_path(name, config).exists()


_MEMORY: dict[str, tuple[dict, dict]] = {}


class Trained(NamedTuple):
    """A trained model: what every ``train_*`` function of the book returns (the nets of
    chapters 1-3 as this; chapters 4-5 add their measurements to the same three fields)."""

    model: nn.Module
    history: History
    from_cache: bool  # loaded from memory or disk, not trained by this call


def load_or_train(
    name: str,
    config,
    make_model: Callable[[], nn.Module],
    train_fn: Callable[[nn.Module], History],
    use_cache: bool = True,
) -> Trained:
    """Return ``Trained(model, history, from_cache)`` for a configuration, training only if it is not cached.

    ``make_model()`` builds the (seeded) untrained model; ``train_fn(model)`` trains it in
    place and returns its :class:`History`. The result is kept in memory and on disk under
    :func:`cache_dir`, keyed by :func:`cache_key`. The file is written to a temporary name
    and renamed, so an interrupted run never leaves a half-written file that is later read;
    an unreadable cache file is ignored (with a warning) and retrained. ``from_cache`` is
    True when the model was loaded (from memory or disk), False when ``train_fn`` ran.
    ``train_fn`` runs on the pinned thread count of :func:`cpu_threads`.
    """
    key = cache_key(name, config)
    path = cached_path(name, config)
    model = make_model()
    if use_cache:
        state = _MEMORY.get(key)
        if state is None and path.exists():
            try:
                state = torch.load(path, map_location="cpu", weights_only=True)
                state = (state["model"], state["history"])
            except Exception as exc:  # corrupt or from an incompatible torch: retrain
                warnings.warn(f"ignoring unreadable cached model {path.name}: {exc}", stacklevel=2)
                state = None
        if state is not None:
            try:
                model.load_state_dict(state[0])
            except (RuntimeError, KeyError) as exc:
                warnings.warn(f"cached model {path.name} does not fit the model; retraining ({exc})",
                              stacklevel=2)
            else:
                _MEMORY[key] = state
                model.eval()
                return Trained(model, History.from_dict(state[1]), True)
    with cpu_threads():
        hist = train_fn(model)
    model.eval()
    store_cached(name, config, model, hist, on_disk=use_cache)
    return Trained(model, hist, False)


def store_cached(name: str, config, model: nn.Module, hist: History, on_disk: bool = True) -> None:
    """Keep ``model``'s current weights and ``hist`` as the trained model of ``(name, config)``,
    in memory and (``on_disk``) atomically on disk: what :func:`load_or_train` does after
    training, also usable for a checkpoint that is exactly another configuration's result."""
    state_dict = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    _MEMORY[cache_key(name, config)] = (state_dict, hist.to_dict())
    if on_disk:
        try:
            payload = {"model": state_dict, "history": hist.to_dict(), "name": name}
            atomic_write(cached_path(name, config), lambda f: torch.save(payload, f))
        except OSError as exc:
            print(f"note: could not write the model cache ({exc}); continuing without it", file=sys.stderr)


def keep_checkpoint(name: str, config, model: nn.Module, hist: History) -> None:
    """Keep a run's current state as the result of ``(name, config)`` unless that is cached
    already: for a per-epoch hook whose state at epoch k is exactly another configuration's
    result (chapter 4: with Adam at a constant rate, the first N/2 epochs of a run are an
    N/2-epoch run). The history is copied, so the run can go on recording."""
    if not is_cached(name, config):
        store_cached(name, config, model, History.from_dict(hist.to_dict()))


def clear_memory_cache() -> None:
    """Forget the in-memory copies (the files on disk stay)."""
    _MEMORY.clear()


# ----------------------------------------------------------------------------- threads

THREADS_ENV = "SUBCLASS_LIB_THREADS"


def _positive_int_env(name: str, default: int | None) -> int | None:
    """The positive integer in environment variable ``name`` (``default`` when unset)."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"{name} must be a positive integer, got {raw!r}")
    return n


_PINNED: list[int] = []  # thread counts of the enclosing cpu_threads(...) blocks


def _check_threads(n, what: str) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{what} must be a positive integer, got {n!r}")


def available_cpus() -> int:
    """The number of CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def cpu_threads(n: int | None = None):
    """Run the enclosed CPU work with ``n`` torch threads (default: the count of an enclosing
    ``cpu_threads`` block, else ``$SUBCLASS_LIB_THREADS``, else 1), restoring the previous
    setting afterwards. The command line wraps a single run in ``cpu_threads(all CPUs)``.

    One thread is the default because these models are small: on the book's shared 2-core
    machine two threads per process made a training step up to 10x slower whenever other
    processes were running (the threads wait for each other), and the thread count slightly
    changes the floating-point results, so a fixed count keeps a seed's numbers the same
    whatever the machine's load.
    """
    if n is None:
        n = _PINNED[-1] if _PINNED else _positive_int_env(THREADS_ENV, 1)
    _check_threads(n, "the number of threads")
    old = torch.get_num_threads()
    if n != old:
        torch.set_num_threads(n)
    _PINNED.append(n)
    try:
        yield
    finally:
        _PINNED.pop()
        if n != old:
            torch.set_num_threads(old)


def pinned(fn: Callable) -> Callable:
    """Decorator: run ``fn`` inside :func:`cpu_threads` (the pinned count), as training runs.
    For a recipe's evaluation whose numbers must not depend on the machine's load or cores
    (e.g. the teacher logits a student is trained on)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with cpu_threads():
            return fn(*args, **kwargs)
    return wrapper


@contextlib.contextmanager
def command_line(threads: int | None = None):
    """The setting of one command-line run: every model on ``threads`` threads (``--threads``;
    default :func:`cli_threads`), since one run has the machine to itself."""
    with cpu_threads(cli_threads(threads)):
        yield


def cli_threads(requested: int | None) -> int:
    """Threads of a command-line run: ``--threads``, else ``$SUBCLASS_LIB_THREADS``, else
    every CPU (one run has the machine to itself; the chapters' parallel workers use one
    thread each instead)."""
    n = requested if requested is not None else _positive_int_env(THREADS_ENV, None)
    n = available_cpus() if n is None else n
    _check_threads(n, "--threads")
    return n


# ----------------------------------------------------------------------------- worker pool

WORKERS_ENV = "SUBCLASS_LIB_WORKERS"


def default_workers() -> int:
    """Worker processes of :func:`run_all`: ``$SUBCLASS_LIB_WORKERS``, else the number
    of CPUs this process may use (each worker trains on one thread)."""
    n = _positive_int_env(WORKERS_ENV, None)
    return available_cpus() if n is None else n


_POOL: cf.ProcessPoolExecutor | None = None
_POOL_KEY: tuple | None = None


def _worker_pool(workers: int) -> cf.ProcessPoolExecutor:
    """The pool of ``workers`` spawned processes, started on first use and kept for later calls
    (starting a process and importing torch takes seconds, and a chapter hands work to the pool
    many times). A new pool replaces it when the worker count, the environment, ``sys.path`` or
    the library's training source changes, since the workers would otherwise run stale settings."""
    global _POOL, _POOL_KEY
    key = (workers, library_fingerprint(), tuple(sorted(os.environ.items())), tuple(sys.path))
    if _POOL is not None and _POOL_KEY != key:
        shutdown_workers()
    if _POOL is None:
        _POOL = cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                       initializer=_quiet_worker)
        _POOL_KEY = key
    return _POOL


def _quiet_worker() -> None:
    """A worker ignores Ctrl-C and a kernel's interrupt: the parent stops it (else every idle worker
    prints a KeyboardInterrupt traceback when a notebook's kernel shuts down)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def shutdown_workers() -> None:
    """Stop the worker processes of :func:`run_in_workers` (they also stop when this process exits)."""
    global _POOL, _POOL_KEY
    pool, _POOL, _POOL_KEY = _POOL, None, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


atexit.register(shutdown_workers)


def _run_job(fn: Callable, job: tuple) -> None:
    """One job in a worker: its result is in the model cache on disk, so the worker's in-memory
    copies are dropped afterwards (a long-lived worker would otherwise keep every model)."""
    try:
        fn(*job)
    finally:
        clear_memory_cache()


def _workers_usable(workers: int) -> bool:
    """Whether a pool of ``workers`` gives anything and the numbers of this process: at least two
    workers, and not inside a :func:`cpu_threads` block whose count differs from the workers' one
    thread (a command-line run on every core: the workers would give other numbers)."""
    return workers >= 2 and not (_PINNED and _PINNED[-1] != _positive_int_env(THREADS_ENV, 1))


def run_in_workers(fn: Callable, jobs: Sequence[tuple], workers: int, *, after: Sequence | None = None,
                   progress: Callable | None = None, what: str | None = None) -> bool:
    """Run ``fn(*job)`` for every job in a pool of ``workers`` spawned processes (for work that
    leaves its result in the model cache; ``fn`` must be importable by the workers), in order, job
    ``i`` only after the jobs whose indices are in ``after[i]`` have finished (a student after its
    teacher; the other jobs keep the other workers busy meanwhile). The pool stays up between
    calls (:func:`shutdown_workers` stops it). Returns False, having run nothing, when there is
    nothing to gain (fewer than two jobs or workers) or when called inside a :func:`cpu_threads`
    block whose thread count differs from the workers' (a command-line run on every core: the
    workers would give other numbers); if the pool breaks (e.g. a script without a ``__main__``
    guard) warns and returns False after whatever finished, so the caller simply does the rest
    itself. A job's own exception (e.g. ValueError) is raised, and the jobs not yet started are
    cancelled."""
    jobs = list(jobs)
    waits = [set(a) for a in after] if after is not None else [set() for _ in jobs]
    if len(waits) != len(jobs) or any(not w <= set(range(len(jobs))) - {i} for i, w in enumerate(waits)):
        raise ValueError("after must give, for each job, indices of other jobs")
    if len(jobs) < 2 or not _workers_usable(workers):
        return False
    if what:
        print(f"training {len(jobs)} {what} in {min(workers, len(jobs))} worker processes", flush=True)
    done = 0
    running: dict[cf.Future, int] = {}
    started: set[int] = set()
    try:
        pool = _worker_pool(workers)

        def start_ready():
            for i, job in enumerate(jobs):
                if i not in started and not waits[i]:
                    started.add(i)
                    running[pool.submit(_run_job, fn, job)] = i

        start_ready()
        while running:
            finished, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for fut in finished:
                i = running.pop(fut)
                fut.result()
                done += 1
                for w in waits:
                    w.discard(i)
                if progress is not None:
                    progress(0.9 * done / len(jobs), f"{done}/{len(jobs)} trained")
            start_ready()
        if done < len(jobs):
            raise ValueError("after: the jobs wait for each other in a cycle")
    except cf.process.BrokenProcessPool as exc:
        shutdown_workers()
        warnings.warn(f"parallel training failed ({exc}); training the rest in this process. "
                      "In a script, call this under `if __name__ == \"__main__\":`.", stacklevel=3)
        return False
    except BaseException:
        for fut in running:
            fut.cancel()
        raise
    return True


# ----------------------------------------------------------------------------- jobs

@dataclass(frozen=True)
class Job:
    """A recipe's description of a model (or a few) to train into the model cache.

    ``fn(*args, **kwargs)`` trains or loads it in whichever process runs it (it must be a
    module-level function, so that a worker can import it); ``entries`` are the
    ``(name, config)`` cache entries it fills (the job is done when all of them are cached);
    ``cost`` is its rough relative length (the longest jobs start first); ``needs`` are jobs
    that must be in the cache before it starts (a student's teacher).
    """

    fn: Callable
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    entries: tuple = ()
    cost: float = 1.0
    needs: tuple = ()

    @property
    def key(self) -> tuple:
        """What identifies the job: the cache keys of its entries."""
        return tuple(cache_key(name, config) for name, config in self.entries)

    def done(self) -> bool:
        """Whether every entry is in the model cache on disk."""
        return all(is_cached(name, config) for name, config in self.entries)

    def run(self) -> None:
        """Train (or load) it in this process."""
        self.fn(*self.args, **self.kwargs)


def _call(fn: Callable, args: tuple, kwargs: dict) -> None:
    fn(*args, **kwargs)


def start_in_worker(job: Job, device: str = "auto") -> cf.Future | None:
    """Start ``job`` (whose needs are cached) in the worker pool and return at once with its future, for a
    caller that trains another model alongside it in this process (a slider panel's student, whose
    progress it shows): both on one thread, so the numbers are those of :func:`run_all`. ``None`` when
    nothing was started: the job is cached, its needs are not, or the pool is not used (not the CPU, fewer
    than two workers, or inside a :func:`cpu_threads` block of another count); the caller then trains it
    itself when it asks for it. Call ``.result()`` before loading the job's models."""
    if (job.done() or _missing(list(job.needs)) or resolve_device(device).type != "cpu"
            or not _workers_usable(default_workers())):
        return None
    return _worker_pool(default_workers()).submit(_run_job, _call, (job.fn, job.args, job.kwargs))


def _missing(jobs: Sequence[Job]) -> list[Job]:
    """The jobs not in the cache, each once, longest first (stable for equal costs)."""
    out, seen = [], set()
    for job in jobs:
        if not isinstance(job, Job):
            raise ValueError(f"expected runner.Job objects, got {type(job).__name__}")
        if job.key not in seen and not job.done():
            seen.add(job.key)
            out.append(job)
    return sorted(out, key=lambda j: -j.cost)


def run_all(jobs: Sequence[Job], *, workers: int | None = None, device: str = "auto", here: bool = False,
            progress: Callable | None = None, what: str | None = None) -> int:
    """Train every job that is not in the model cache, in the worker pool (one thread per worker,
    so the numbers are those of a run in this process), and return how many the workers trained.

    Jobs are deduplicated (by cache key) and started longest first; a job's missing ``needs`` are
    trained too, and the job starts when they are done (meanwhile the jobs that need nothing keep
    the other workers busy). The caller then loads every model from the cache. On a GPU, with one
    worker or with fewer than two jobs to train nothing runs in workers: with ``here=True`` the
    missing jobs (needs first) are then trained in this process, one after another; else they are
    left to the caller (which trains them when it asks for them). ``progress(fraction, text)``
    follows the jobs; ``what`` (e.g. ``"teacher(s)"``) prints a line when workers start.
    """
    n = default_workers() if workers is None else workers
    _check_threads(n, "workers")
    todo = _missing(jobs)
    keys = {job.key for job in todo}
    needs = [need for need in _missing([need for job in todo for need in job.needs]) if need.key not in keys]
    if any(need.needs for need in needs):  # needs of needs: those first (a chain of three is rare)
        run_all(needs, workers=n, device=device, here=True)
        needs = [need for need in needs if not need.done()]
    needed = {need.key for task in needs + todo for need in task.needs}
    tasks = sorted(needs + todo, key=lambda task: task.key not in needed)  # what others wait for first
    index = {task.key: i for i, task in enumerate(tasks)}
    after = [{index[need.key] for need in task.needs if need.key in index} for task in tasks]
    parallel = (resolve_device(device).type == "cpu"
                and run_in_workers(_call, [(t.fn, t.args, t.kwargs) for t in tasks], n, after=after,
                                   progress=progress, what=what))
    if parallel:
        return len(tasks)
    if here:
        left = list(range(len(tasks)))
        while left:  # in order, each job after the jobs it needs
            i = next((i for i in left if not after[i] & set(left)), left[0])
            left.remove(i)
            if not tasks[i].done():
                tasks[i].run()
            if progress is not None:
                progress(0.9 * (len(tasks) - len(left)) / len(tasks), f"{len(tasks) - len(left)}/{len(tasks)} trained")
    return 0
