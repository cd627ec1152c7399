"""Printing runs in a child process of its own, replaced after a number of renders.

WeasyPrint (with Pango and fontTools) keeps memory it never gives back: measured independently,
`lienthong serve` grew from 100 MB to 512 MB RSS over 500 dossiers with printing on. Rendering in
a child bounds that: the child is a fresh interpreter (forkserver: nothing of the parent's threads
or connections), renders `LIENTHONG_PRINT_RENDERS_PER_PROCESS` declarations (default 200) and is
replaced, and the process that asked (an API process with its embedded worker, or a `lienthong
worker`) never imports WeasyPrint at all. A child that dies mid-render (killed for memory) fails
that render; the job is retried like any technical failure, and the next render gets a new child.
"""
from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

RENDERS_PER_PROCESS = "LIENTHONG_PRINT_RENDERS_PER_PROCESS"
_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_owner: int | None = None  # the pid that made the pool: a forked process (gunicorn's workers) makes its own


def renders_per_process() -> int:
    value = os.environ.get(RENDERS_PER_PROCESS, "200").strip()
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{RENDERS_PER_PROCESS} must be a whole number ≥ 1, not {value!r}")
    return int(value)


def _executor() -> ProcessPoolExecutor:
    global _pool, _owner
    with _lock:
        if _pool is None or _owner != os.getpid():
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("forkserver"),
                                        max_tasks_per_child=renders_per_process())
            _owner = os.getpid()
        return _pool


def run(function: Callable, *args, **kwargs):
    """function(*args, **kwargs) in the printing process (a module-level function: it is pickled by name)."""
    pool = _executor()
    try:
        return pool.submit(function, *args, **kwargs).result()
    except BrokenProcessPool:
        global _pool
        with _lock:
            if _pool is pool:
                _pool = None
        raise RuntimeError("the printing process ended while rendering; the next render starts a new one") from None


def child_pid() -> int:
    """The printing process's pid (for the benchmark's RSS figures and the tests)."""
    return run(os.getpid)
