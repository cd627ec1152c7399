"""Starting like a service: a port in use, a database that does not answer and a bad setting each
end with one clear line and an exit code of their own, never a traceback (nor a password)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

LIENTHONG = str(Path(sys.executable).parent / "lienthong")


def _serve(tmp_path, *args, **environ):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'start.db'}", "LIENTHONG_LOG_FORMAT": "text",
           **environ}
    return subprocess.run([LIENTHONG, "serve", "--no-worker", "--workflows", str(tmp_path / "none"), *args],
                          env=env, capture_output=True, text=True, timeout=120)


def test_a_port_in_use(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _serve(tmp_path, "--port", str(port))
    assert result.returncode == 4, result.stderr
    assert f"lienthong cannot start: cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr and "is serving" not in result.stdout


def test_a_database_that_does_not_answer(tmp_path):
    result = _serve(tmp_path, "--port", "0", DATABASE_URL="postgresql://lienthong:s3cret-pw@127.0.0.1:1/lienthong")
    assert result.returncode == 3, result.stderr
    assert "lienthong cannot start: the database 127.0.0.1:1/lienthong does not answer" in result.stderr
    assert "Traceback" not in result.stderr and "s3cret-pw" not in result.stderr + result.stdout


def test_a_bad_setting_is_named(tmp_path):
    result = _serve(tmp_path, "--port", "0", LIENTHONG_JOB_LOCK_SECONDS="năm phút")
    assert result.returncode == 2, result.stderr
    assert "LIENTHONG_JOB_LOCK_SECONDS='năm phút' is not valid" in result.stderr
    assert "Traceback" not in result.stderr
    zone = _serve(tmp_path, "--port", "0", LIENTHONG_TIMEZONE="Asia/Hanoi_Nowhere")
    assert zone.returncode == 2 and "LIENTHONG_TIMEZONE" in zone.stderr and "Traceback" not in zone.stderr
