"""CPU threads: every model trains on a fixed number of torch threads (:func:`cpu_threads`), so a
seed's numbers do not depend on the machine's load (a command-line run sets every core:
:func:`subclass_lib.cli.command_line`). The setting is kept per thread of this process."""

from __future__ import annotations

import contextlib
import functools
import os
import threading

import torch

THREADS_ENV = "SUBCLASS_LIB_THREADS"
_LOCAL = threading.local()


def positive_int_env(name: str, default: int | None) -> int | None:
    """The positive integer in environment variable ``name`` (``default`` when unset)."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return check_threads(int(raw) if raw.strip().lstrip("-").isdigit() else 0, name, raw)


def check_threads(n, what: str, shown=None) -> int:
    """``n`` if it is a positive integer, else a ``ValueError`` naming ``what`` (and showing ``shown``)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        value = n if shown is None else shown
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return n


def available_cpus() -> int:
    """The number of CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def pinned_count() -> int | None:
    """The thread count of the innermost :func:`cpu_threads` block of this thread (None: outside one)."""
    stack = getattr(_LOCAL, "stack", None)
    return stack[-1] if stack else None


@contextlib.contextmanager
def cpu_threads(n: int | None = None):
    """Run the enclosed CPU work with ``n`` torch threads (default: the count of an enclosing
    block, else ``$SUBCLASS_LIB_THREADS``, else 1), restoring the previous setting afterwards.
    One thread is the default: these models are small, on a shared 2-core machine two threads per
    process made a step up to 10x slower, and the thread count changes the last digits of a result."""
    stack = _LOCAL.__dict__.setdefault("stack", [])
    n = check_threads(n if n is not None else stack[-1] if stack else positive_int_env(THREADS_ENV, 1),
                      "the number of threads")
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


def pinned(fn):
    """Decorator: run ``fn`` inside :func:`cpu_threads`, as training runs (an evaluation whose numbers
    must not depend on the machine's load, e.g. the logits a student is trained on)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with cpu_threads():
            return fn(*args, **kwargs)
    return wrapper
