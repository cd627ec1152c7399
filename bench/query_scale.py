"""Query scale: seed N dossiers (default 1,000,000) in mixed states into a fresh PostgreSQL schema,
then time the queries officers and citizens make all day, and print their plans.

    python -m bench.query_scale [--scale smoke|full] [--dossiers N]

Seeding copies what the engine itself wrote: one dossier per state is driven through the real
service in process (filing, the handlers, the officers' decisions; LIENTHONG_PRINTING=off), every
row it left in process_instance, variable, task, identity_link, job, event_subscription, incident,
dossier, dossier_part and dossier_event is read back, and N copies are streamed in with COPY, each
with its own ids, dossier code (100 communes x 180 days) and times shifted to its own filing
moment. Open tasks keep the ids their workflow state holds, so a seeded task can be completed.
History tables (activity_instance, user_operation) and the SMS outbox are not seeded: none of the
measured queries reads them. Secondary indexes are dropped during the load and rebuilt after.

Measured (p50/p95, each as the engine call and as the HTTP route through the Flask app in
process, so without network): a group's inbox first page; a dossier's status by code
(DossierService.status); the incidents list; a group's overdue tasks (due < now). Then EXPLAIN
(ANALYZE, BUFFERS) of every SQL statement each one runs, captured as the code issues it.
"""
from __future__ import annotations

import base64
import argparse
import json
import os
import queue
import random
import re
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

from .common import BENCH_AUTH, FreshDatabase, emit, postgres_available, prepare, quiet_logs, save, scale, size, summary_ms, table

# state -> share of the seeded dossiers: about six months of national volume, ~2.5% still open.
MIX = {"completed": 0.95, "refused": 0.025, "birth-review": 0.01, "parts-review": 0.008,
       "awaiting-supplement": 0.004, "incident": 0.003}
OPEN_AGE_DAYS, CLOSED_AGE_DAYS = (0, 10), (3, 180)
TABLES = ("process_instance", "variable", "task", "identity_link", "job", "event_subscription", "incident",
          "dossier", "dossier_part", "dossier_event")
SERIALS = {"identity_link": "id", "event_subscription": "id", "dossier_event": "seq"}
GROUPS = ("tu-phap-ho-tich", "cong-an", "bhxh")
AGENCIES = 100
DAYS = 180
CHUNK = 2000  # dossiers per COPY round
COPY_CONNECTIONS = 2


# --- driving the templates through the real service ------------------------------------------------

def drive_templates(engine) -> dict[str, str]:
    """One dossier per state, by the service's own commands; {state: dossier code}."""
    from engine import models as m
    from engine import queries

    from .inprocess import Driver

    driver = Driver(engine)
    codes = {}
    for state in MIX:
        code = codes[state] = driver.file()
        if state == "incident":  # the identity check failed for good: an operator must act
            with engine.db.session() as session:
                job = session.get(m.Job, queries.jobs.first(session, instance_id=_instance(session, code)).id)
                job.attempt, job.exception_message = 5, "population register unavailable: connection refused"
            engine.set_job_retries(job.id, 0)
        elif state == "birth-review":
            driver.drain(lambda: driver.task(code, GROUPS[0]) is not None)
        elif state == "refused":
            driver.decide(code, GROUPS[0], "refuse", "Giấy chứng sinh không hợp lệ")
            driver.drain(lambda: driver.status(code)["state"] == "refused")
        elif state == "awaiting-supplement":
            driver.decide(code, GROUPS[0], "supplement", "Bổ sung bản chụp giấy chứng sinh")
            driver.drain(lambda: driver.status(code)["parts"][0]["state"] == "awaiting-supplement")
        elif state == "parts-review":
            driver.decide(code, GROUPS[0], "approve")
            driver.drain(lambda: driver.task(code, GROUPS[1]) is not None and driver.task(code, GROUPS[2]) is not None)
        else:
            driver.complete(code)
        driver.run_jobs()  # what the last command queued (SMS) settles
    return codes


def _instance(session, code: str) -> str:
    from dossiers.models import Dossier
    return session.get(Dossier, code).instance_id


# --- templates: the rows a dossier left, with the parts that vary marked ---------------------------

class Key(str):
    """A placeholder inside a template row."""


class Template:
    def __init__(self, state: str, tables: dict[str, list[list]], base: datetime):
        self.state = state
        self.tables = tables  # table -> rows -> segments (text or Key)
        self.base = base
        self.keys = sorted({s for rows in tables.values() for row in rows for s in row if isinstance(s, Key)})


def read_template(conn, state: str, code: str, columns: dict[str, list[tuple[str, bool]]]) -> Template:
    """Every row of one dossier, rendered as COPY text with its ids, code and times as Keys."""
    cur = conn.cursor()
    instance_id, received = cur.execute("select instance_id, received_at from dossier where code = %s", (code,)).fetchone()
    where = {
        "process_instance": ("id = %s", instance_id), "variable": ("instance_id = %s", instance_id),
        "task": ("instance_id = %s", instance_id),
        "identity_link": ("task_id in (select id from task where instance_id = %s)", instance_id),
        "job": ("instance_id = %s", instance_id), "event_subscription": ("instance_id = %s", instance_id),
        "incident": ("instance_id = %s", instance_id), "dossier": ("code = %s", code),
        "dossier_part": ("dossier_code = %s", code), "dossier_event": ("dossier_code = %s", code),
    }
    raw = {}
    for name in TABLES:
        clause, value = where[name]
        names = [c for c, _ in columns[name]]
        order = SERIALS.get(name, names[0])
        raw[name] = [list(row) for row in cur.execute(f"select {', '.join(names)} from {name} where {clause} "
                                                      f"order by {order}", (value,))]
    # Every copy is of the same child: the unique index on standing subjects would refuse all but one.
    # The queries measured never read the subject, so the copies hold none (as dossiers filed before it).
    subject = [c for c, _ in columns["dossier"]].index("subject_key")
    for row in raw["dossier"]:
        row[subject] = None
    identifiers = {instance_id: "iid", code: "code"}
    for prefix, table_name, column in (("task", "task", "id"), ("job", "job", "id"), ("spiff", "job", "task_id"),
                                       ("incident", "incident", "id")):
        index = [c for c, _ in columns[table_name]].index(column)
        for n, row in enumerate(raw[table_name]):
            identifiers.setdefault(row[index], f"{prefix}{n}")
    pattern = re.compile("|".join(re.escape(i) for i in sorted(identifiers, key=len, reverse=True)))
    tables = {}
    for name in TABLES:
        rendered = []
        for row in raw[name]:
            segments: list[str] = []
            for (column, is_time), value in zip(columns[name], row):
                if segments:
                    segments.append("\t")
                if name in SERIALS and column == SERIALS[name]:
                    segments.append(Key(f"serial:{name}"))
                elif is_time and value is not None:
                    segments.append(Key(f"@{int((value - received).total_seconds())}"))
                else:
                    text = _copy_text(value)
                    last = 0
                    for match in pattern.finditer(text):
                        segments.append(text[last:match.start()])
                        segments.append(Key(identifiers[match.group(0)]))
                        last = match.end()
                    segments.append(text[last:])
            segments.append("\n")
            rendered.append(_merge(segments))
        tables[name] = rendered
    return Template(state, tables, received)


def _merge(segments: list[str]) -> list[str]:
    merged: list[str] = []
    for s in segments:
        if merged and not isinstance(s, Key) and not isinstance(merged[-1], Key):
            merged[-1] += s
        elif s != "" or isinstance(s, Key):
            merged.append(s)
    return merged


def _copy_text(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (dict, list)):
        from engine.variables import json_default
        value = json.dumps(value, ensure_ascii=False, default=json_default)
    elif isinstance(value, datetime):
        value = value.isoformat()
    elif isinstance(value, bytes):
        value = "\\\\x" + value.hex()
        return value
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def table_columns(conn) -> dict[str, list[tuple[str, bool]]]:
    """(column, is a timestamp) in table order, as the migrated schema has them."""
    found = {}
    for name in TABLES:
        rows = conn.execute("select column_name, data_type from information_schema.columns "
                            "where table_schema = current_schema() and table_name = %s order by ordinal_position",
                            (name,)).fetchall()
        found[name] = [(c, t.startswith("timestamp")) for c, t in rows]
    return found


# --- seeding -------------------------------------------------------------------------------------

def _uuid(slot: int, n: int) -> str:
    return f"{slot:08x}-5eed-4000-8000-{n:012x}"


class Seeder:
    def __init__(self, templates: dict[str, Template], total: int, now: datetime, seed: int = 6):
        self.templates = templates
        self.total = total
        self.now = now
        self.random = random.Random(seed)
        self.serials = {name: 1_000_000 for name in SERIALS}  # above anything the templates used
        self.slots: dict[str, int] = {}
        states = list(MIX)
        self.states = self.random.choices(states, weights=[MIX[s] for s in states], k=total)

    def _slot(self, key: str) -> int:
        return self.slots.setdefault(key, len(self.slots) + 1)

    def chunk(self, start: int, stop: int) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {name: [] for name in TABLES}
        for n in range(start, stop):
            state = self.states[n]
            template = self.templates[state]
            low, high = OPEN_AGE_DAYS if state in ("birth-review", "parts-review", "awaiting-supplement", "incident") \
                else CLOSED_AGE_DAYS
            received = self.now - timedelta(seconds=self.random.uniform(low * 86400, high * 86400))
            agency, rest = n % AGENCIES, n // AGENCIES
            day, sequence = rest % DAYS, rest // DAYS + 1
            values = {"iid": _uuid(1, n),
                      "code": f"H{20 + agency // 100:02d}.{agency % 100:02d}.001-"
                              f"{(self.now - timedelta(days=day)):%y%m%d}-{sequence:04d}"}
            times: dict[str, str] = {}
            for key in template.keys:
                if key in values:
                    continue
                if key.startswith("@"):
                    times[key] = (received + timedelta(seconds=int(key[1:]))).isoformat()
                elif not key.startswith("serial:"):
                    values[key] = _uuid(self._slot(key) + 1, n)
            values.update(times)
            for name, rows in template.tables.items():
                lines = out[name]
                for row in rows:
                    parts = []
                    for s in row:
                        if type(s) is Key:
                            if s.startswith("serial:"):
                                table_name = s[7:]
                                self.serials[table_name] += 1
                                parts.append(str(self.serials[table_name]))
                            else:
                                parts.append(values[s])
                        else:
                            parts.append(s)
                    lines.append("".join(parts))
        return out


def seed(database, templates: dict[str, Template], total: int, columns) -> dict:
    """Stream `total` dossiers in with COPY (a generator thread feeding a COPY thread)."""
    now = datetime.now(timezone.utc)
    seeder = Seeder(templates, total, now)
    counts = {name: 0 for name in TABLES}
    started = time.perf_counter()
    with database.connect() as conn:
        conn.execute("set synchronous_commit = off")
        conn.execute("set maintenance_work_mem = '1GB'")
        indexes = conn.execute(
            "select i.indexname, i.indexdef from pg_indexes i where i.schemaname = current_schema() "
            "and i.tablename = any(%s) and not exists (select 1 from pg_constraint c "
            "where c.conname = i.indexname and c.connamespace = (select oid from pg_namespace where nspname = current_schema()))",
            (list(TABLES),)).fetchall()
        for name, _ in indexes:
            conn.execute(f'drop index "{name}"')
        conn.commit()
        chunks: queue.Queue = queue.Queue(maxsize=4)

        def produce():
            try:
                for start in range(0, total, CHUNK):
                    chunks.put((start, seeder.chunk(start, min(total, start + CHUNK))))
            except BaseException as exc:  # noqa: BLE001 - handed to the COPY side, which raises it
                chunks.put(exc)
                return
            chunks.put(None)

        producer = threading.Thread(target=produce, daemon=True)
        producer.start()
        progress = {"done": 0, "error": None}
        lock = threading.Lock()

        def consume():  # one COPY connection each: PostgreSQL's side of the load is the heavier one
            with database.connect() as own:
                own.execute("set synchronous_commit = off")
                while True:
                    item = chunks.get()
                    if item is None or isinstance(item, BaseException):
                        chunks.put(item)  # let the other consumer see it too
                        if isinstance(item, BaseException):
                            progress["error"] = item
                        return
                    start, lines = item
                    with own.cursor() as cur:
                        for name in TABLES:
                            if lines[name]:
                                cols = ", ".join(c for c, _ in columns[name])
                                with cur.copy(f"copy {name} ({cols}) from stdin") as copy:
                                    copy.write("".join(lines[name]))
                    own.commit()
                    with lock:
                        for name in TABLES:
                            counts[name] += len(lines[name])
                        progress["done"] += min(total, start + CHUNK) - start
                        _progress("seeding", progress["done"], total, started)

        consumers = [threading.Thread(target=consume, daemon=True) for _ in range(COPY_CONNECTIONS)]
        for consumer in consumers:
            consumer.start()
        for consumer in consumers:
            consumer.join()
        if progress["error"] is not None:
            raise progress["error"]
        producer.join()
        _progress("seeding", total, total, started, end=True)
        loaded = time.perf_counter() - started
        rebuilt = time.perf_counter()
        for n, (name, definition) in enumerate(indexes, 1):
            print(f"\r  rebuilding index {n}/{len(indexes)}: {name:<40}", end="", file=sys.stderr, flush=True)
            conn.execute(definition)
            conn.commit()
        for name, column in SERIALS.items():
            conn.execute(f"select setval(pg_get_serial_sequence('{name}', '{column}'), (select max({column}) from {name}))")
        print(file=sys.stderr)
        conn.commit()
        conn.autocommit = True
        conn.execute("vacuum analyze")
    return {"rows": counts, "load_s": loaded, "index_s": time.perf_counter() - rebuilt,
            "total_s": time.perf_counter() - started, "states": {s: seeder.states.count(s) for s in MIX}}


def _progress(what: str, done: int, total: int, started: float, end: bool = False) -> None:
    elapsed = time.perf_counter() - started
    rate = done / elapsed if elapsed else 0
    eta = (total - done) / rate if rate else 0
    width = 30
    bar = "#" * int(width * done / total) + "." * (width - int(width * done / total))
    print(f"\r  {what} [{bar}] {done:>9,}/{total:,} dossiers  {rate:,.0f}/s  {elapsed:5.0f}s elapsed  ETA {eta:4.0f}s",
          end="\n" if end else "", file=sys.stderr, flush=True)


# --- measuring -----------------------------------------------------------------------------------

class Recorder:
    """The SQL statements an engine call issues, to EXPLAIN exactly those."""

    def __init__(self, sqlalchemy_engine):
        from sqlalchemy import event
        self.statements: list[tuple[str, object]] = []
        self.active = False
        event.listen(sqlalchemy_engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        if self.active:
            self.statements.append((statement, parameters))

    def capture(self, call):
        self.statements, self.active = [], True
        try:
            call()
        finally:
            self.active = False
        return [(s, p) for s, p in self.statements if s.lstrip().upper().startswith("SELECT")]


def measure(engine, app, codes: list[str], samples: int) -> tuple[dict, dict]:
    from dossiers.service import DossierService
    from engine import queries

    service = DossierService(engine)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(":".join(BENCH_AUTH).encode()).decode()
    rng = random.Random(7)
    now = datetime.now(timezone.utc)
    camunda_now = now.strftime("%Y-%m-%dT%H:%M:%S.000+0000")

    def inbox():
        with engine.db.reading() as session:
            return queries.tasks.list(session, candidate_group=rng.choice(GROUPS), first_result=0, max_results=15)

    def overdue():
        with engine.db.reading() as session:
            return queries.tasks.list(session, candidate_group=rng.choice(GROUPS), due_before=now, first_result=0,
                                      max_results=15)

    def incidents():
        with engine.db.reading() as session:
            return queries.incidents.list(session, first_result=0, max_results=15)

    def http(path):
        response = client.get(path)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        return response

    calls = {
        "inbox": (inbox, lambda: http(f"/engine-rest/task?candidateGroup={rng.choice(GROUPS)}&firstResult=0&maxResults=15")),
        "status": (lambda: service.status(rng.choice(codes)), lambda: http(f"/api/dossiers/{rng.choice(codes)}")),
        "incidents": (incidents, lambda: http("/engine-rest/incident?firstResult=0&maxResults=15")),
        "overdue": (overdue, lambda: http(f"/engine-rest/task?candidateGroup={rng.choice(GROUPS)}"
                                          f"&dueBefore={camunda_now}&firstResult=0&maxResults=15")),
    }
    figures = {}
    for name, (direct, over_http) in calls.items():
        for way, call in (("engine", direct), ("http", over_http)):
            for _ in range(min(10, samples)):
                call()  # warm: caches, connections
            times = []
            for _ in range(samples):
                started = time.perf_counter()
                call()
                times.append(time.perf_counter() - started)
            figures[f"{name}/{way}"] = summary_ms(times)
    recorder = Recorder(engine.db.engine)
    plans = {}
    for name, (direct, _) in calls.items():
        statements = recorder.capture(direct)
        plans[name] = []
        with engine.db.engine.connect() as conn:
            for statement, parameters in statements:
                text = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).scalars().all()
                plans[name].append({"sql": " ".join(statement.split()), "plan": text})
    return figures, plans


def sizes(database, kind: str = "r") -> dict:
    """Bytes per table (kind r: with its indexes and TOAST) or per index (kind i)."""
    function = "pg_total_relation_size" if kind == "r" else "pg_relation_size"
    with database.connect() as conn:
        rows = conn.execute(f"select c.relname, {function}(c.oid) from pg_class c "
                            "where c.relnamespace = (select oid from pg_namespace where nspname = current_schema()) "
                            "and c.relkind = %s order by 2 desc", (kind,)).fetchall()
    return {name: size for name, size in rows}


def run(chosen: str, dossiers: int | None = None) -> dict:
    if not postgres_available():
        raise SystemExit("query_scale needs PostgreSQL (BENCH_POSTGRES_URL or LIENTHONG_TEST_POSTGRES_URL)")
    total = dossiers or size("query_dossiers", 300, 1_000_000, chosen)
    samples = size("query_samples", 20, 300, chosen)
    print(f"== query scale ({chosen}): {total:,} dossiers on PostgreSQL, {samples} samples per query")
    os.environ.setdefault("LIENTHONG_PRINTING", "off")
    os.environ["LIENTHONG_BHYT_CARD_DELAY_SECONDS"] = "0"
    with FreshDatabase("postgresql", "bench_scale") as database:
        prepare(database.url)
        from api.app import create_app
        from lienthong.cli import build_engine

        with quiet_logs():
            engine = build_engine(database.url)
            codes = drive_templates(engine)
            with database.connect() as conn:
                columns = table_columns(conn)
                templates = {state: read_template(conn, state, code, columns) for state, code in codes.items()}
            seeded = seed(database, templates, total, columns)
            print(f"  seeded {total:,} dossiers in {seeded['total_s']:.0f}s (COPY {seeded['load_s']:.0f}s, "
                  f"indexes {seeded['index_s']:.0f}s): " + ", ".join(f"{n:,} {t}" for t, n in seeded["rows"].items()))
            with database.connect() as conn:
                sample_codes = [r[0] for r in conn.execute(
                    "select code from dossier tablesample system (1) limit 5000").fetchall()] or list(codes.values())
            figures, plans = measure(engine, create_app(engine), sample_codes, samples)
            db_sizes = sizes(database)
            index_sizes = sizes(database, "i")
            engine.db.dispose()
    print("\nquery latency (ms)")
    print(table([[name, f["n"], f["p50"], f["p95"], f["p99"]] for name, f in figures.items()],
                ["query", "n", "p50", "p95", "p99"]))
    print("\nplans (EXPLAIN ANALYZE, BUFFERS) of every statement each query runs")
    for name, statements in plans.items():
        for s in statements:
            print(f"\n-- {name}: {s['sql'][:400]}")
            print("\n".join("   " + line for line in s["plan"]))
    print("\nlargest tables (bytes with indexes and TOAST)")
    print(table([[name, f"{b / 2**20:,.1f} MiB", f"{b / total:,.0f}"] for name, b in list(db_sizes.items())[:12]],
                ["table", "size", "bytes/dossier"]))
    print("\nlargest indexes")
    print(table([[name, f"{b / 2**20:,.1f} MiB", f"{b / total:,.0f}"] for name, b in list(index_sizes.items())[:8]],
                ["index", "size", "bytes/dossier"]))
    result = {"dossiers": total, "seeding": seeded, "latency_ms": figures, "plans": plans, "table_bytes": db_sizes,
              "index_bytes": index_sizes}
    emit("query_scale", {"dossiers": total, "seed_s": seeded["total_s"],
                         "p95_ms": {k: round(v["p95"], 2) for k, v in figures.items()}})
    save("query_scale", result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=["smoke", "full"])
    parser.add_argument("--dossiers", type=int)
    args = parser.parse_args()
    run(scale(args.scale), args.dossiers)


if __name__ == "__main__":
    main()
