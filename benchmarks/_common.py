"""What every benchmark shares: a fresh PostgreSQL database, Django configured against it,
the machine's description, bulk loading with COPY, timing and the closing report."""

from __future__ import annotations

import contextlib
import io
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.load.loadgen import percentile  # noqa: E402
from tests.load.server import DB_NAME_ENV, create_database, drop_database, fresh_db_name  # noqa: E402

SETTINGS = "benchmarks.settings"


def command_line() -> str:
    """How to run this benchmark again, from the repository root."""
    script = Path(sys.argv[0]).resolve()
    try:
        script_text = str(script.relative_to(ROOT))
    except ValueError:
        script_text = str(script)
    return shlex.join(["python", script_text, *sys.argv[1:]])


@contextlib.contextmanager
def django_on_fresh_database(prefix: str) -> Iterator[str]:
    """Create a database, configure Django (``benchmarks.settings``) on it, migrate; drop it
    afterwards. Yields the database name."""
    name = fresh_db_name(prefix)
    create_database(name)
    try:
        os.environ[DB_NAME_ENV] = name
        os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
        os.environ["APRANOVA_TEST_DB"] = "postgres"
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0, interactive=False)
        yield name
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(name)


def copy_rows(model: Any, rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> int:
    """COPY ``rows`` (plain Python values: ``int``, ``str``, ``Decimal``, aware ``datetime``,
    ``dict`` for JSON) into ``model``'s table. Fields not in ``columns`` get their Python
    default, so a new field with a default does not break the benchmark."""
    from django.db import connection
    from django.db.models import JSONField

    def plain(field: Any, value: Any) -> Any:
        return json.dumps(value) if isinstance(field, JSONField) else value

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    named = [model._meta.get_field(c) for c in columns]
    missing = [f for f in fields if f not in named]
    extra = [plain(f, f.get_default()) for f in missing]
    json_at = [i for i, f in enumerate(named) if isinstance(f, JSONField)]
    table = connection.ops.quote_name(model._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(f.column) for f in [*named, *missing])
    count = 0
    connection.ensure_connection()
    with connection.connection.cursor() as raw, raw.copy(
        f"COPY {table} ({quoted}) FROM STDIN"
    ) as copy:
        for row in rows:
            values = [row[c] for c in columns]
            for i in json_at:
                values[i] = json.dumps(values[i])
            copy.write_row(values + extra)
            count += 1
    return count


def timed(function: Callable[[], Any], repeat: int) -> list[float]:
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return seconds


def ms(values: Sequence[float], q: float = 50) -> float:
    return percentile(values, q) * 1000


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def machine() -> dict[str, str]:
    """nproc, memory, CPU model, PostgreSQL, Python and Django versions, current load."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError, IndexError, ValueError):
        kib = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    postgres = "unknown"
    with contextlib.suppress(Exception):
        from tests.load.server import connect

        with connect("postgres") as conn:
            row = conn.execute("SHOW server_version").fetchone()
            postgres = row[0] if row else "unknown"
    import django

    return {
        "nproc": str(os.cpu_count()),
        "memory": memory,
        "cpu": cpu,
        "postgresql": postgres,
        "python": platform.python_version(),
        "django": django.get_version(),
        "load average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def report(title: str, lines: Iterable[str]) -> None:
    out = io.StringIO()
    print(f"== {title}", file=out)
    for key, value in {**machine(), "revision": git_revision()}.items():
        print(f"   {key}: {value}", file=out)
    for line in lines:
        print(line, file=out)
    print(f"   reproduce: {command_line()}", file=out)
    print(out.getvalue(), end="", flush=True)


def git_revision() -> str:
    """The commit measured, and whether the work tree had changes on top of it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True,  # noqa: S603,S607
                              text=True, check=False, timeout=30).stdout.strip()

    with contextlib.suppress(Exception):
        dirty = " (+ uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else ""
        return git("rev-parse", "--short", "HEAD") + dirty
    return "unknown"
