"""What an operator and a load balancer ask the service: is it alive, is it ready, and its
Prometheus metrics.

* `/health/live`: the process answers (no database call: a slow database must not get a live
  process restarted). PUBLIC.
* `/health/ready`: the database answers and its schema is at the newest migration; 503 otherwise,
  so a load balancer sends no request to a process that would fail it. PUBLIC, and says nothing
  beyond ok / unavailable / behind.
* `/metrics`: the Prometheus text format. It needs `metrics.read` (operators; Prometheus scrapes
  with an operator's credentials or token): the counts by agency and group are not for anyone on
  the network, and "public on loopback only" breaks behind a reverse proxy, where every request
  comes from loopback.

Metrics: HTTP latency by route (this process), jobs by topic and outcome (the jobs this process's
worker ran), and, counted in the database at each scrape so every process answers for all the
workers: jobs waiting and the age of the oldest, open incidents, open and overdue tasks by group
and agency, dossiers by procedure and state, SMS in the outbox by state.
"""
from __future__ import annotations

import logging
import time

import marshmallow as ma
from flask import Flask, Response, current_app, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from dossiers.service import DossierService
from engine import queries
from identity.permissions import PUBLIC, requires

from .common import Blueprint, engine

log = logging.getLogger("lienthong.api.operations")
blp = Blueprint("operations", __name__, description="Health and metrics, for operators and load balancers")
_REGISTRY = "lienthong.metrics"


class HealthSchema(ma.Schema):
    status = ma.fields.String(metadata={"description": "ok | unavailable"})
    database = ma.fields.String(metadata={"description": "ok | unreachable (readiness only)"})
    schema = ma.fields.String(metadata={"description": "current | behind (readiness only)"})


@blp.route("/health/live", methods=["GET"])
@requires(PUBLIC)
@blp.response(200, HealthSchema, description="The process answers")
def live():
    """Liveness: the process answers requests."""
    return {"status": "ok"}


@blp.route("/health/ready", methods=["GET"])
@requires(PUBLIC)
@blp.response(200, HealthSchema, description="Ready: the database answers and its schema is current")
@blp.alt_response(503, schema=HealthSchema, description="Not ready: the database is unreachable or behind")
def ready():
    """Readiness: the database answers and its schema is at the newest migration."""
    try:
        current = engine().db.schema_is_current()
    except Exception as exc:  # noqa: BLE001 - any failure to reach the database means the same here
        log.warning("not ready: database unreachable", extra={"error": type(exc).__name__})
        return jsonify(status="unavailable", database="unreachable"), 503
    if not current:
        return jsonify(status="unavailable", database="ok", schema="behind"), 503
    return {"status": "ok", "database": "ok", "schema": "current"}


@blp.route("/metrics", methods=["GET"])
@requires("metrics.read")
@blp.doc(responses={"200": {"description": "Prometheus text exposition format",
                            "content": {"text/plain": {"schema": {"type": "string"}}}}})
def metrics():
    """Prometheus metrics of this process and of the database it shares with the others."""
    return Response(generate_latest(current_app.extensions[_REGISTRY]), mimetype=CONTENT_TYPE_LATEST)


class _DatabaseCollector:
    """Gauges counted in the database at each scrape."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        service = self.app.extensions["lienthong"]
        now = service.clock.now()
        waiting = GaugeMetricFamily("lienthong_jobs_waiting", "Jobs due and not taken by a worker", labels=["topic"])
        age = GaugeMetricFamily("lienthong_job_queue_age_seconds", "How long the oldest due job has waited",
                                labels=["topic"])
        incidents = GaugeMetricFamily("lienthong_incidents_open", "Open incidents", labels=["type"])
        tasks = GaugeMetricFamily("lienthong_tasks_open", "Open user tasks", labels=["group", "agency"])
        overdue = GaugeMetricFamily("lienthong_tasks_overdue", "Open user tasks past their due date",
                                    labels=["group", "agency"])
        dossiers = GaugeMetricFamily("lienthong_dossiers", "Dossiers", labels=["procedure", "state"])
        try:
            with service.db.reading() as session:
                for topic, count, oldest in queries.operations.waiting_jobs(session, now):
                    waiting.add_metric([topic], count)
                    age.add_metric([topic], max((now - _aware(oldest, now)).total_seconds(), 0))
                for kind, count in queries.operations.open_incidents(session):
                    incidents.add_metric([kind], count)
                for group, agency, count, late in queries.operations.open_tasks(session, now):
                    tasks.add_metric([group, agency], count)
                    overdue.add_metric([group, agency], late)
            for procedure, state, count in DossierService(service).counts_by_state():
                dossiers.add_metric([procedure, state], count)
        except Exception as exc:  # noqa: BLE001 - a scrape must not fail for the process metrics
            log.warning("metrics from the database unavailable", extra={"error": type(exc).__name__})
            return
        yield from (waiting, age, incidents, tasks, overdue, dossiers)


def _aware(moment, now):
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=now.tzinfo)


def install(app: Flask, service) -> None:
    """A registry of the app's own (several apps may share a process in tests), the request
    timing hooks, and a listener for the jobs this process runs."""
    registry = CollectorRegistry()
    app.extensions[_REGISTRY] = registry
    latency = Histogram("lienthong_http_request_duration_seconds", "HTTP request latency by route",
                        ["method", "route", "status"], registry=registry,
                        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
    jobs = Counter("lienthong_jobs", "Jobs run by this process, by topic (or job type) and outcome",
                   ["topic", "outcome"], registry=registry)
    job_seconds = Histogram("lienthong_job_duration_seconds", "Time a job took, by topic", ["topic"],
                            registry=registry)
    registry.register(_DatabaseCollector(app))

    def job_ran(topic: str, outcome: str, seconds: float) -> None:
        jobs.labels(topic, outcome).inc()
        job_seconds.labels(topic).observe(seconds)

    service.job_listeners.append(job_ran)

    @app.before_request
    def _start_timer():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        started = g.pop("metrics_started", None)
        if started is not None:
            route = request.url_rule.rule if request.url_rule is not None else "unmatched"
            latency.labels(request.method, route, str(response.status_code)).observe(time.perf_counter() - started)
        return response
