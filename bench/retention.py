"""History and personal-data clean-up at scale: N ended dossiers (default 1,000,000) whose history
time to live and retention have passed, removed by the service's own clean-up in batches.

    python -m bench.retention [--scale smoke|full] [--dossiers N]

Seeding (PostgreSQL, server side with generate_series, so it takes minutes, not hours): a process
definition deployed with camunda:historyTimeToLive="P30D"; N instances ended 60 days ago, each
with ACTIVITIES activity instances and OPERATIONS user operations; N dossiers completed 60 days
ago with a declaration (~0.9 kB of JSON) and one 431-byte attachment. Then
dossiers.retention.clean_up runs with LIENTHONG_HISTORY_CLEANUP_BATCH (500, Camunda's default)
until nothing is left, each batch its own transaction.

Measured: rows removed per second (history rows and dossiers erased), batches, and the batch
durations (p50/p95/max): a batch holds its row locks only for its own duration, so the longest
batch is the longest any other command can wait on a clean-up lock. Meanwhile a probe thread
reads a dossier's status every 50 ms and reports its p95, the service's answer during the clean-up.
"""
from __future__ import annotations

import argparse
import threading
import time
from datetime import timedelta

from .common import FreshDatabase, emit, postgres_available, quiet_logs, save, scale, size, summary_ms, table

ACTIVITIES, OPERATIONS = 6, 2
DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  id="Definitions_Retention" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="retention_bench" isExecutable="true" camunda:historyTimeToLive="P30D">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="EndEvent_1" />
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>Flow_1</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def seed(fresh: FreshDatabase, definition_id: str, dossiers: int) -> float:
    """The rows, written by PostgreSQL itself; answers the seconds it took."""
    import json

    from .inprocess import PDF

    declaration = json.dumps({"parts": ["birth", "residence", "bhyt"], "child": {"fullName": "Nguyễn Minh Khang",
                              "dateOfBirth": "2024-05-20"}, "mother": {"fullName": "Trần Thị Bình", "idNumber": "087190001234",
                              "residence": "Ấp 1, xã Mỹ An, Đồng Tháp"}, "requester": {"fullName": "Nguyễn Văn An",
                              "idNumber": "087084000999", "phone": "0912345678", "residence": "Ấp 1, xã Mỹ An, Đồng Tháp"},
                              "note": "x" * 400}, ensure_ascii=False)
    began = time.perf_counter()
    with fresh.connect() as conn:
        conn.execute("SET synchronous_commit = off")
        ended = "now() - interval '60 days'"
        conn.execute(f"""INSERT INTO process_instance (id, definition_id, definition_key, business_key, state, start_time,
                         end_time, start_activity_id, bindings, revision)
                         SELECT 'pi-' || g, %s, 'retention_bench', 'D-' || g, 'COMPLETED', {ended} - interval '1 day',
                                {ended}, 'StartEvent_1', '{{}}'::json, 1 FROM generate_series(1, %s) g""",
                     (definition_id, dossiers))
        conn.execute(f"""INSERT INTO activity_instance (id, instance_id, definition_id, definition_key, activity_id,
                         activity_name, activity_type, start_time, end_time, canceled)
                         SELECT 'ai-' || g, 'pi-' || ((g - 1) / {ACTIVITIES} + 1), %s, 'retention_bench', 'Task_' || (g %% {ACTIVITIES}),
                                'Một bước', 'userTask', {ended} - interval '1 day', {ended}, false
                         FROM generate_series(1, %s) g""", (definition_id, dossiers * ACTIVITIES))
        conn.execute(f"""INSERT INTO user_operation (timestamp, user_id, operation_type, entity_type, instance_id, details)
                         SELECT {ended}, 'can-bo', 'Complete', 'Task', 'pi-' || ((g - 1) / {OPERATIONS} + 1), '{{}}'::json
                         FROM generate_series(1, %s) g""", (dossiers * OPERATIONS,))
        conn.execute(f"""INSERT INTO dossier (code, procedure, agency_code, instance_id, state, received_at, completed_at,
                         delivery, phone, declaration)
                         SELECT 'D-' || g, 'birth', 'H19.87.001', 'pi-' || g, 'completed', {ended} - interval '5 days',
                                {ended}, 'electronic', '0912345678', %s::json FROM generate_series(1, %s) g""",
                     (declaration, dossiers))
        conn.execute(f"""INSERT INTO dossier_attachment (id, dossier_code, kind, filename, media_type, size, sha256, content, created)
                         SELECT 'at-' || g, 'D-' || g, 'giay-chung-sinh', 'gcs.pdf', 'application/pdf', %s, repeat('0', 64), %s,
                                {ended} - interval '5 days' FROM generate_series(1, %s) g""", (len(PDF), PDF, dossiers))
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - began


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("smoke", "full"))
    parser.add_argument("--dossiers", type=int)
    args = parser.parse_args(argv)
    chosen = scale(args.scale)
    dossiers = args.dossiers or size("retention_dossiers", 2_000, 1_000_000, chosen)
    if not postgres_available():
        raise SystemExit("bench.retention needs PostgreSQL (BENCH_POSTGRES_URL)")
    from dossiers.retention import RetentionSettings, clean_up
    from dossiers.service import DossierService
    from engine.db import Database
    from engine.service import ProcessEngine

    with quiet_logs(), FreshDatabase("postgresql", "retention") as fresh:
        db = Database(fresh.url)
        db.migrate()
        engine = ProcessEngine(db)
        deployed = engine.deploy({"retention_bench.bpmn": DIAGRAM.encode()}, name="retention-bench")
        seconds_seeding = seed(fresh, deployed.definitions[0].id, dossiers)
        print(f"seeded {dossiers:,} ended dossiers and their history in {seconds_seeding:.0f} s", flush=True)

        service, probes, stop = DossierService(engine), [], threading.Event()

        def probe():  # what a citizen reading a dossier's status gets meanwhile
            code = f"D-{dossiers}"
            while not stop.wait(0.05):
                began = time.perf_counter()
                service.status(code)
                probes.append((time.perf_counter() - began) * 1000)

        prober = threading.Thread(target=probe, daemon=True)
        prober.start()
        settings = RetentionSettings(retention=timedelta(days=30))
        began = time.perf_counter()
        report = clean_up(engine, settings)
        took = time.perf_counter() - began
        stop.set()
        prober.join()
        db.dispose()

    rows = report.history.rows + report.dossiers
    batches = report.history.batch_ms
    figures = {
        "dossiers": dossiers, "batch_size": settings.batch_size, "seconds": round(took, 1),
        "seed_seconds": round(seconds_seeding, 1),
        "history_rows_removed": report.history.rows, "instances_removed": report.history.instances,
        "dossiers_erased": report.dossiers, "rows_per_s": round(rows / took), "instances_per_s": round(report.history.instances / took),
        "history_batch_ms": summary_ms([ms / 1000 for ms in batches]), "dossier_batches": report.dossier_batches,
        "longest_batch_ms": round(max(report.history.longest_batch_ms, report.longest_dossier_batch_ms), 1),
        "status_probe_ms": summary_ms([ms / 1000 for ms in probes]) if probes else None,
    }
    print(table([
        ["instances removed", f"{report.history.instances:,}"], ["history rows removed", f"{report.history.rows:,}"],
        ["dossiers erased", f"{report.dossiers:,}"], ["took", f"{took:.1f} s"],
        ["rows removed per second", f"{figures['rows_per_s']:,}"],
        ["history batches (p50/p95/max ms)", f"{report.history.batches}: {figures['history_batch_ms']}"],
        ["longest batch (ms)", figures["longest_batch_ms"]],
        ["a dossier's status meanwhile (ms)", figures["status_probe_ms"]],
    ], ["bench.retention", f"{dossiers:,} dossiers, batches of {settings.batch_size}"]))
    assert report.history.instances == dossiers and report.dossiers == dossiers, "the clean-up left rows behind"
    save("retention", figures)
    emit("retention", figures)
    return figures


if __name__ == "__main__":
    main()
