"""CPU threads: every model trains on a fixed number of torch threads (:func:`cpu_threads`), so a
seed's numbers do not depend on the machine's load; a command-line run uses every core
(:func:`command_line`). The setting is per thread of this process, so the threading backend of
:func:`subclass_lib.runner.train_many` is safe too."""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable

import torch

THREADS_ENV = "SUBCLASS_LIB_THREADS"


def positive_int_env(name: str, default: int | None) -> int | None:
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


def check_threads(n, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{what} must be a positive integer, got {n!r}")
    return n


def available_cpus() -> int:
    """The number of CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


_LOCAL = threading.local()


def _pinned() -> list[int]:
    if not hasattr(_LOCAL, "stack"):
        _LOCAL.stack = []
    return _LOCAL.stack


def pinned_count() -> int | None:
    """The thread count of the innermost :func:`cpu_threads` block of this thread (None: outside one)."""
    stack = _pinned()
    return stack[-1] if stack else None


@contextlib.contextmanager
def cpu_threads(n: int | None = None):
    """Run the enclosed CPU work with ``n`` torch threads (default: the count of an enclosing
    block, else ``$SUBCLASS_LIB_THREADS``, else 1), restoring the previous setting afterwards.

    One thread is the default because these models are small: on a shared 2-core machine two
    threads per process made a training step up to 10x slower whenever other processes were
    running, and the thread count slightly changes the floating-point results.
    """
    stack = _pinned()
    if n is None:
        n = stack[-1] if stack else positive_int_env(THREADS_ENV, 1)
    check_threads(n, "the number of threads")
    old = torch.get_num_threads()
    if n != old:
        torch.set_num_threads(n)
    stack.append(n)
    try:
        yield
    finally:
        stack.pop()
        if n != old:
            torch.set_num_threads(old)


def pinned(fn: Callable) -> Callable:
    """Decorator: run ``fn`` inside :func:`cpu_threads`, as training runs (for an evaluation whose
    numbers must not depend on the machine's load, e.g. the logits a student is trained on)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with cpu_threads():
            return fn(*args, **kwargs)
    return wrapper


def cli_threads(requested: int | None) -> int:
    """Threads of a command-line run: ``--threads``, else ``$SUBCLASS_LIB_THREADS``, else every CPU."""
    n = requested if requested is not None else positive_int_env(THREADS_ENV, None)
    return check_threads(available_cpus() if n is None else n, "--threads")


@contextlib.contextmanager
def command_line(threads: int | None = None):
    """The setting of one command-line run: every model on ``threads`` threads (default :func:`cli_threads`)."""
    with cpu_threads(cli_threads(threads)):
        yield
