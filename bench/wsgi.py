"""The service as a production WSGI server runs it: `gunicorn bench.wsgi:app`.

What `lienthong serve --no-worker` does, minus waitress: build the engine like
lienthong.cli.build_engine (handlers, forms, the dossier projection; the migration is a no-op
once the release step ran it) and the Flask app. Workflows are deployed once before gunicorn
starts (bench.common.prepare), never by each of its workers at the same moment.

Jobs run in separate `lienthong worker` processes (see bench.common.Stack for why);
BENCH_EMBEDDED_WORKER=1 runs one worker thread in each gunicorn worker instead.
"""
from __future__ import annotations

import os

from api.app import create_app
from engine.worker import Worker
from lienthong import logs
from lienthong.cli import build_engine

logs.configure()
engine = build_engine()
if os.environ.get("BENCH_EMBEDDED_WORKER") == "1":
    Worker(engine).start_in_background()
app = create_app(engine)
