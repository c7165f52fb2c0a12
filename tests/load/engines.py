"""Worker processes of a real task engine for the load tests in task mode.

``Workers`` starts ``count`` workers of one engine (``tests/load/task_settings.py``) against
a ``ServerUnderTest``'s database and queue, each its own process in its own session: the
``django-tasks-db`` ``db_worker`` command (the task runs in that process), or a Celery worker
with one prefork child (the task runs in the child; its master starts a new child when it
dies, and gives the task back to the broker: ``task_acks_late``,
``task_reject_on_worker_lost``). ``kill`` SIGKILLs the process running a task (a
``db_worker`` is replaced by a new one); ``stop`` ends the rest. The CPU time of every
worker, killed ones included, is collected when each is reaped (``os.wait4``).

Celery's ``solo`` pool was tried first: with ``acks_late`` and a prefetch of one it stalled
for seconds at a time between tasks on this machine, so the prefork pool it is.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.load.server import ROOT, ServerUnderTest, parent_pid, subprocess_env

SETTINGS = "tests.load.task_settings"


class Workers:
    def __init__(self, server: ServerUnderTest, engine: str, queue: str, count: int = 2,
                 settings: str = SETTINGS) -> None:
        self.server = server
        self.settings = settings
        self.engine = engine
        self.queue = queue
        self.count = count
        self.processes: list[subprocess.Popen[bytes]] = []
        self.cpu_seconds = 0.0  # user + system time of the workers reaped so far
        self.started = 0
        self.log_path = Path(server.log_path).with_name(f"{engine}-workers.log")

    def env(self) -> dict[str, str]:
        env = subprocess_env(self.settings, self.server.db_name)
        env.update(APRANOVA_TASK_ENGINE=self.engine, APRANOVA_TASK_QUEUE=self.queue)
        return env

    def command(self) -> list[str]:
        self.started += 1
        if self.engine == "db":
            return [sys.executable, "-m", "django", "db_worker", "--queue-name", self.queue, "--interval", "0.05",
                    "--no-startup-delay", "--worker-id", f"load-{self.started}"]
        return [sys.executable, "-m", "celery", "-A", "tests.load.celery_app", "worker", "-P", "prefork",
                "--concurrency", "1", "-Q", self.queue, "-n", f"load-{self.started}-{self.queue}@%h",
                "--without-gossip", "--without-mingle", "-l", "WARNING"]

    def start(self) -> Workers:
        for _ in range(self.count):
            self._start_one()
        return self

    def _start_one(self) -> None:
        with open(self.log_path, "ab") as log:
            self.processes.append(subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                self.command(), env=self.env(), cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True,
            ))

    def pids(self) -> list[int]:
        """The processes that run tasks: the workers, and a Celery worker's pool children."""
        masters = [p.pid for p in self.processes]
        return masters + [pid for pid in _all_pids() if parent_pid(pid) in masters]

    def kill(self, pid: int) -> None:
        """SIGKILL ``pid``, a process running a task (only ever one of ours). A ``db_worker``
        is replaced by a new one; a Celery pool child by its master."""
        masters = [p for p in self.processes if p.pid == pid]
        if not masters:
            assert pid in self.pids(), "only ever kill a worker of our own"
            os.kill(pid, signal.SIGKILL)
            return
        os.kill(pid, signal.SIGKILL)
        self._reap(masters[0], 0)
        self.processes.remove(masters[0])
        self._start_one()

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM every worker (each finishes its task), SIGKILL those still there after
        ``timeout``."""
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes:
            while not self._reap(process, os.WNOHANG):
                if time.monotonic() > deadline:
                    os.killpg(process.pid, signal.SIGKILL)
                    self._reap(process, 0)
                    break
                time.sleep(0.1)
        self.processes = []

    def _reap(self, process: subprocess.Popen[bytes], flags: int) -> bool:
        """Wait for ``process`` (``flags``: 0 to block, ``os.WNOHANG`` not to) and add its CPU
        time; whether it was reaped."""
        pid, status, usage = os.wait4(process.pid, flags)
        if not pid:
            return False
        self.cpu_seconds += usage.ru_utime + usage.ru_stime
        process.returncode = os.waitstatus_to_exitcode(status)
        return True

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]
