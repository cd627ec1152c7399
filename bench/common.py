"""What every benchmark shares: sizes per scale, a fresh database per run, CPU accounting read
from /proc, percentiles, the service stack (gunicorn + job workers), and printing tables."""
from __future__ import annotations

import itertools
import json
import os
import platform
import signal
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
RESULTS = Path(os.environ.get("BENCH_RESULTS") or ROOT / "var" / "bench")  # figures and logs of the last run
CLK_TCK = os.sysconf("SC_CLK_TCK")


_CHILDREN = itertools.count(1)


def distinct_child(declaration: dict) -> dict:
    """The declaration for a child not filed before in this run: the service refuses the same child
    (mother, name, date of birth) filed twice. The name gets a word of letters (names hold no digits)."""
    n, word = next(_CHILDREN), ""
    while n:
        n, rest = divmod(n - 1, 26)
        word = chr(ord("a") + rest) + word
    return {**declaration, "child": {**declaration["child"], "fullName": f"{declaration['child']['fullName']} {word.capitalize()}"}}


def scale(argv_scale: str | None = None) -> str:
    value = (argv_scale or os.environ.get("BENCH_SCALE") or "full").strip().lower()
    if value not in ("smoke", "full"):
        raise SystemExit(f"BENCH_SCALE must be smoke or full, not {value!r}")
    return value


def size(name: str, smoke, full, chosen: str):
    """A size for this scale; BENCH_<NAME> in the environment overrides it."""
    override = os.environ.get(f"BENCH_{name.upper()}")
    default = smoke if chosen == "smoke" else full
    if override is None:
        return default
    return type(default)(override) if not isinstance(default, (list, tuple)) else [int(x) for x in override.split(",")]


# --- databases -----------------------------------------------------------------------------------

def postgres_url() -> str:
    return (os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("LIENTHONG_TEST_POSTGRES_URL")
            or "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def postgres_available() -> bool:
    try:
        import psycopg
        with psycopg.connect(_libpq(postgres_url()), connect_timeout=3):
            return True
    except Exception:  # noqa: BLE001 - unreachable, for whatever reason
        return False


def _libpq(url: str) -> str:
    """A SQLAlchemy URL as psycopg wants it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1).split("?", 1)[0]


class FreshDatabase:
    """A new SQLite file or a new PostgreSQL schema for one run, dropped afterwards.

    `url` carries everything a separate process needs (the PostgreSQL schema rides in the URL as
    libpq `options=-csearch_path=...`), so gunicorn and `lienthong worker` get it as DATABASE_URL."""

    def __init__(self, kind: str, label: str = "bench"):
        self.kind = kind
        if kind == "sqlite":
            self.folder = tempfile.mkdtemp(prefix=f"lienthong-{label}-")
            self.url = f"sqlite:///{self.folder}/lienthong.db"
            self.schema = None
        else:
            self.schema = f"{label}_{uuid.uuid4().hex[:10]}"
            self.url = f"{postgres_url().split('?', 1)[0]}?options={quote(f'-csearch_path={self.schema}')}"

    def create(self) -> "FreshDatabase":
        if self.schema:
            import psycopg
            with psycopg.connect(_libpq(postgres_url()), autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{self.schema}"')
        return self

    def connect(self):
        """A psycopg connection on the schema (PostgreSQL only)."""
        import psycopg
        return psycopg.connect(_libpq(postgres_url()), options=f"-csearch_path={self.schema}")

    def drop(self) -> None:
        if os.environ.get("BENCH_KEEP"):
            print(f"(kept {self.schema or self.folder}: BENCH_KEEP is set)")
            return
        if self.schema:
            import psycopg
            with psycopg.connect(_libpq(postgres_url()), autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        else:
            import shutil
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self):
        return self.create()

    def __exit__(self, *exc):
        self.drop()


# --- CPU accounting ------------------------------------------------------------------------------

def cpu_seconds(pid: int, children: bool = False) -> float:
    """User + system CPU of a process (and of its reaped children), from /proc; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLK_TCK


def postgres_cpu() -> float:
    """CPU of every PostgreSQL server process on this machine, including exited backends (the
    postmaster reaps them, so their time is in its children's counters)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if comm in ("postgres", "postmaster"):
            total += cpu_seconds(int(entry.name), children=True)
    return total


def own_cpu() -> float:
    return time.process_time()


# --- statistics ----------------------------------------------------------------------------------

def percentile(values, q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, int(round(q / 100 * (len(ordered) - 1)))))
    return ordered[index]


def summary_ms(values) -> dict:
    values = list(values)
    return {"n": len(values), "p50": percentile(values, 50) * 1000, "p95": percentile(values, 95) * 1000,
            "p99": percentile(values, 99) * 1000, "mean": (statistics.fmean(values) * 1000) if values else float("nan")}


def table(rows: list[list], headers: list[str]) -> str:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return str(value)


def machine() -> str:
    model = ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")), "")
    except OSError:
        pass
    return f"{os.cpu_count()} cores (nproc {os.cpu_count()}), {model or platform.processor()}, Python {platform.python_version()}"


def emit(benchmark: str, figures: dict) -> None:
    """One machine-readable line per benchmark (run_all collects them; the smoke tests look for them)."""
    print(f"BENCH-RESULT {benchmark} {json.dumps(figures, default=str, sort_keys=True)}", flush=True)


def save(benchmark: str, figures: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{benchmark}.json"
    path.write_text(json.dumps(figures, indent=2, default=str, sort_keys=True))
    return path


# --- the service stack ---------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_environment(database_url: str, **extra) -> dict:
    env = dict(os.environ)
    env.update({"DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)})
    env.update({k: str(v) for k, v in extra.items()})
    return env


# The benchmarks' clients log in as one administrator (Camunda's camunda-admin), created by
# prepare() with a password generated for this run.
BENCH_AUTH = ("bench", secrets.token_urlsafe(16))


def prepare(database_url: str, deploy: bool = True) -> None:
    """What a release step does once before the processes start: migrate, deploy workflows/, and
    the benchmark's account."""
    env = service_environment(database_url)
    subprocess.run([str(VENV_BIN / "lienthong"), "migrate"], env=env, check=True, cwd=ROOT, capture_output=True)
    subprocess.run([str(VENV_BIN / "lienthong"), "users", "add", BENCH_AUTH[0], "--role", "admin", "--password-stdin"],
                   env=env, check=True, cwd=ROOT, capture_output=True, input=BENCH_AUTH[1] + "\n", text=True)
    if deploy:
        subprocess.run([str(VENV_BIN / "lienthong"), "deploy", "workflows"], env=env, check=True, cwd=ROOT,
                       capture_output=True)


class Stack:
    """gunicorn (2 workers, gthread) serving bench.wsgi, plus separate `lienthong worker` processes.

    Separate workers, as the README's production section runs them: job work (handlers, printing
    at ~0.1 s of CPU per form) then never holds an API process's GIL while a request waits, the
    two scale apart, and gunicorn recycling or timing out a request worker never kills a job half
    way (a lost job waits for its lock to expire). BENCH_EMBEDDED_WORKER=1 instead runs one worker
    thread inside each gunicorn worker, for comparison."""

    def __init__(self, database_url: str, logs: Path, *, api_workers: int = 2, threads: int = 4,
                 job_workers: int = 2, **env):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.logs = logs
        self.embedded = os.environ.get("BENCH_EMBEDDED_WORKER") == "1"
        self.env = service_environment(database_url, BENCH_EMBEDDED_WORKER="1" if self.embedded else "0", **env)
        self.api_workers, self.threads = api_workers, threads
        self.job_workers = 0 if self.embedded else job_workers
        self.processes: list[subprocess.Popen] = []

    def start(self, timeout: float = 60) -> "Stack":
        self.logs.mkdir(parents=True, exist_ok=True)
        gunicorn = [str(VENV_BIN / "gunicorn"), "--workers", str(self.api_workers), "--worker-class", "gthread",
                    "--threads", str(self.threads), "--bind", f"127.0.0.1:{self.port}", "--chdir", str(ROOT),
                    "--timeout", "120", "--log-level", "warning", "bench.wsgi:app"]
        self._spawn(gunicorn, "gunicorn")
        for n in range(self.job_workers):
            self._spawn([str(VENV_BIN / "lienthong"), "worker"], f"worker-{n}")
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()  # `with stack:` never reaches __exit__ when __enter__ fails: no process is left behind
            raise
        return self

    def _spawn(self, command: list[str], name: str) -> None:
        log = open(self.logs / f"{name}.log", "ab")
        self.processes.append(subprocess.Popen(command, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                               start_new_session=True))

    def _wait_ready(self, timeout: float) -> None:
        import requests
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{process.args[0]} exited with {process.returncode}; see {self.logs}")
            try:
                if requests.get(self.base + "/engine-rest/version", auth=BENCH_AUTH, timeout=2).status_code == 200 and \
                        self._workers_started():
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the service did not answer within {timeout:.0f}s; see {self.logs}")

    def _workers_started(self) -> bool:
        for n in range(self.job_workers):
            path = self.logs / f"worker-{n}.log"
            if not path.exists() or b"worker started" not in path.read_bytes():
                return False
        return True

    def pids(self) -> list[int]:
        """Every process of the stack: gunicorn's master and workers, the job workers."""
        found = set()
        for process in self.processes:
            found.add(process.pid)
            found.update(_descendants(process.pid))
        return sorted(found)

    def cpu(self) -> float:
        # With their reaped children: a printing process replaced after its renders (forms/print_process.py)
        # is gone from pids() but its CPU is its parent's (the forkserver's) children's time.
        return sum(cpu_seconds(pid, children=True) for pid in self.pids())

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _descendants(pid: int) -> list[int]:
    children = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            children.extend(int(c) for c in text)
    except OSError:
        return []
    return children + [d for c in children for d in _descendants(c)]


@contextmanager
def quiet_logs():
    """In-process benchmarks: the engine's info lines would drown the figures."""
    import logging
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.setLevel(level)
