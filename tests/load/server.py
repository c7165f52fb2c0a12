"""A real server for the load tests and the benchmarks.

``ServerUnderTest`` creates a fresh PostgreSQL database, migrates it in a subprocess, and
serves it with gunicorn (several worker processes) on a free loopback port; leaving the
``with`` block stops gunicorn and drops the database. Nothing here imports Django, so the
benchmarks can use it before they configure Django themselves.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
GUNICORN_CONF = Path(__file__).with_name("gunicorn_conf.py")
DB_NAME_ENV = "APRANOVA_LOAD_DB_NAME"
LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")
BOOTED = re.compile(r"Booting worker with pid: (\d+)")


def pg_params() -> dict[str, str]:
    """How to reach PostgreSQL: the same ``PG*`` variables and defaults as ``tests/settings.py``."""
    return {
        "host": os.environ.get("PGHOST", "127.0.0.1"),
        "port": os.environ.get("PGPORT", "5432"),
        "user": os.environ.get("PGUSER", "postgres"),
        "password": os.environ.get("PGPASSWORD", ""),
    }


def connect(dbname: str, **kwargs: object) -> psycopg.Connection:
    return psycopg.connect(dbname=dbname, connect_timeout=10, **pg_params(), **kwargs)  # type: ignore[arg-type]


def fresh_db_name(prefix: str = "apranova_load") -> str:
    return f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"


def create_database(name: str) -> None:
    with connect("postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(name: str) -> None:
    with connect("postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def subprocess_env(settings_module: str, db_name: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["DJANGO_SETTINGS_MODULE"] = settings_module
    env[DB_NAME_ENV] = db_name
    env["APRANOVA_TEST_DB"] = "postgres"
    env.pop("PYTHONDEVMODE", None)  # the server runs as in production, not in dev mode
    return env


def migrate(settings_module: str, db_name: str, timeout: float = 300) -> None:
    """``manage.py migrate`` in a subprocess, so the schema is committed for every process."""
    result = subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"],
        env=subprocess_env(settings_module, db_name), cwd=ROOT,
        capture_output=True, text=True, timeout=timeout, check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"migrate failed:\n{result.stdout}\n{result.stderr}")


def parent_pid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


class ServerUnderTest:
    """A migrated fresh database served by gunicorn on 127.0.0.1 (a free port).

    ``workers`` processes, each with ``threads`` threads (the ``gthread`` worker) or, with
    ``threads=1``, the ``sync`` worker. Every wait is bounded; ``stop`` ends only the
    processes this object started.
    """

    def __init__(
        self,
        settings_module: str = "tests.load.server_settings",
        *,
        workers: int = 3,
        threads: int = 4,
        wsgi: str = "tests.load.wsgi:application",
        db_name: str | None = None,
        probe_path: str = "/billing/v1/webhook/",
        timeout: int = 120,
    ) -> None:
        self.settings_module = settings_module
        self.workers = workers
        self.threads = threads
        self.wsgi = wsgi
        self.db_name = db_name or fresh_db_name()
        self.probe_path = probe_path
        self.worker_timeout = timeout
        self.host = "127.0.0.1"
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="apranova-load-")
        self.log_path = Path(self._dir.name) / "gunicorn.log"
        self._db_created = False

    # -- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> ServerUnderTest:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self, boot_timeout: float = 120) -> None:
        create_database(self.db_name)
        self._db_created = True
        migrate(self.settings_module, self.db_name)
        self.start_gunicorn(boot_timeout)

    def start_gunicorn(self, boot_timeout: float = 120, port: int = 0) -> None:
        worker_class = ["--worker-class", "gthread", "--threads", str(self.threads)] if self.threads > 1 else [
            "--worker-class", "sync"]
        command = [
            sys.executable, "-m", "gunicorn", self.wsgi,
            "--config", str(GUNICORN_CONF),
            "--bind", f"{self.host}:{port}",
            "--workers", str(self.workers), *worker_class,
            "--timeout", str(self.worker_timeout), "--graceful-timeout", "10",
            "--preload", "--log-level", "info", "--error-logfile", str(self.log_path),
        ]
        log_start = len(self.log())  # a restart appends to the same log
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                command, env=subprocess_env(self.settings_module, self.db_name), cwd=ROOT,
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            )
        self._wait_until_serving(time.monotonic() + boot_timeout, log_start)

    def restart_gunicorn(self, timeout: float = 30) -> None:
        """Stop gunicorn gracefully (SIGTERM: its workers finish their requests) and start it
        again on the same port; the database stays. Requests in between are refused."""
        process, self.process = self.process, None
        assert process is not None
        process.send_signal(signal.SIGTERM)
        process.wait(timeout)
        self.start_gunicorn(port=self.port)

    def _wait_until_serving(self, deadline: float, log_start: int = 0) -> None:
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited during boot:\n{self.log_tail()}")
            log = self.log()[log_start:]
            match = LISTENING.search(log)
            if match and len(self.worker_pids()) >= self.workers and self._responds(int(match.group(1))):
                self.port = int(match.group(1))
                return
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not start in time:\n{self.log_tail()}")

    def _responds(self, port: int) -> bool:
        conn = http.client.HTTPConnection(self.host, port, timeout=10)
        try:
            conn.request("GET", self.probe_path)
            return conn.getresponse().status < 500
        except OSError:
            return False
        finally:
            conn.close()

    def stop(self, timeout: float = 30) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # the session gunicorn started in
                process.wait(10)
        if self._db_created:
            self._db_created = False
            drop_database(self.db_name)
        self._dir.cleanup()

    # -- inspection ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def master_pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def worker_pids(self) -> list[int]:
        """The live worker processes of this gunicorn master (children in /proc)."""
        if self.process is None:
            return []
        pids = [int(p) for p in BOOTED.findall(self.log())]
        return [pid for pid in pids if parent_pid(pid) == self.process.pid]

    def is_worker(self, pid: int) -> bool:
        return self.process is not None and parent_pid(pid) == self.process.pid

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])
