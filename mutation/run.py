"""Run mutmut over the money and security modules, then print the kill rate per module and the
survivors (``tox -e mutation``, ``./runtests -e mutation``; docs/explanation/testing.md).

    python mutation/run.py             # from a clean state: deletes mutants/ first
    python mutation/run.py --resume    # reuse mutants/: test only the mutants without a result yet
    python mutation/run.py --report    # only print the report of the last run
    python mutation/run.py --diffs     # only the last run's report, with each survivor's diff

Exits 1 when a module kills fewer than ``--fail-under`` percent (95) of its mutants. Mutants
marked equivalent carry ``# pragma: no mutate (equivalent: <reason>)`` on their line in src/:
mutmut does not generate them, so they are out of the denominator; the report counts those lines.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "django_apranova_payments"

# module -> the mutant names run and counted. models: the event store (models/event_store.py:
# claim, record_failure, finish and their upsert, the event columns) and the per-user scope of
# payments (models/payments.py); not the reporting querysets or __str__.
SCOPE: dict[str, list[str]] = {
    "money": [f"{PACKAGE}.money.*"],
    "transitions": [f"{PACKAGE}.transitions.*"],
    "signing": [f"{PACKAGE}.signing.*"],
    "metadata": [f"{PACKAGE}.metadata.*"],
    "charges": [f"{PACKAGE}.charges.*"],
    "models": [
        f"{PACKAGE}.models.event_store.xǁWebhookEventQuerySetǁ*",
        f"{PACKAGE}.models.event_store.x_event_created_at__*",
        f"{PACKAGE}.models.event_store.x__event_columns__*",
        f"{PACKAGE}.models.payments.x_concrete_field__*",
        f"{PACKAGE}.models.payments.xǁPaymentQuerySetǁfor_user__*",
    ],
    "services": [f"{PACKAGE}.services.*"],
}

KILLED = {1, 3, 36, 37, 24, -24, 152, 255}  # a failing test, a timeout, caught by the type check
SURVIVED = {0}
NO_TESTS = {5, 33}
SPINNER = re.compile(r"^[⠁-⣿] ")
EQUIVALENT = re.compile(r"#\s*pragma:\s*no mutate")


@dataclass
class Module:
    name: str
    mutants: int = 0
    killed: int = 0
    survived: list[str] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)
    equivalent_lines: int = 0

    @property
    def rate(self) -> float:
        return 100.0 * self.killed / self.mutants if self.mutants else 100.0


def unchecked() -> list[str]:
    """The in-scope mutants of the last run that have no result yet (an interrupted run)."""
    names = []
    for name in SCOPE:
        meta = ROOT / "mutants" / "src" / PACKAGE / f"{name}.py.meta"
        if meta.exists():
            codes = json.loads(meta.read_text())["exit_code_by_key"]
            names += [mutant for mutant, code in codes.items() if code is None and in_scope(mutant) == name]
    return names


def run_mutmut(max_children: int | None, names: list[str]) -> float:
    # mutmut re-tests every mutant named on its command line, cached result or not.
    command = [sys.executable, "-m", "mutmut", "run"]
    if max_children:
        command += ["--max-children", str(max_children)]
    command += names
    started = time.monotonic()
    last_progress = 0.0
    # mutmut redraws a spinner line with \r; keep the log readable: its other lines, and the
    # progress line every 30 seconds.
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:  # noqa: S603
        assert proc.stdout is not None
        buffer = ""
        while chunk := proc.stdout.read(256):
            buffer += chunk
            *lines, buffer = re.split(r"[\r\n]", buffer)
            for line in lines:
                if not line.strip():
                    continue
                if SPINNER.match(line):
                    now = time.monotonic()
                    if now - last_progress >= 30:
                        last_progress = now
                        print(f"  [{now - started:5.0f} s] {line[2:]}", flush=True)
                    continue
                print(line, flush=True)
        if buffer.strip() and not SPINNER.match(buffer):
            print(buffer)
    if proc.returncode:
        sys.exit(f"mutmut run exited with {proc.returncode}")
    return time.monotonic() - started


def in_scope(mutant: str) -> str | None:
    for module, patterns in SCOPE.items():
        if any(fnmatch.fnmatchcase(mutant, pattern) for pattern in patterns):
            return module
    return None


def collect() -> dict[str, Module]:
    modules = {name: Module(name) for name in SCOPE}
    for name, module in modules.items():
        meta = ROOT / "mutants" / "src" / PACKAGE / f"{name}.py.meta"
        if not meta.exists():
            continue
        data = json.loads(meta.read_text())
        for mutant, code in data["exit_code_by_key"].items():
            if in_scope(mutant) != name:
                continue
            module.mutants += 1
            if code in KILLED:
                module.killed += 1
            elif code in SURVIVED or code in NO_TESTS:
                module.survived.append(mutant)
            else:
                module.not_run.append(f"{mutant} (exit code {code})")
        source = (ROOT / "src" / PACKAGE / f"{name}.py").read_text()
        module.equivalent_lines = sum(1 for line in source.splitlines() if EQUIVALENT.search(line))
    return modules


def show(mutant: str) -> str:
    done = subprocess.run(  # noqa: S603 (a fixed argv and a mutant name from the report)
        [sys.executable, "-m", "mutmut", "show", mutant], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return done.stdout


def report(modules: dict[str, Module], fail_under: float, diffs: bool, wall: float | None) -> int:
    print()
    print(f"{'module':<13}{'mutants':>8}{'killed':>8}{'survived':>9}{'not run':>8}{'equiv.':>8}{'rate':>8}")
    failing = []
    for module in modules.values():
        print(
            f"{module.name:<13}{module.mutants:>8}{module.killed:>8}{len(module.survived):>9}"
            f"{len(module.not_run):>8}{module.equivalent_lines:>8}{module.rate:>7.1f}%"
        )
        if module.rate < fail_under or module.not_run:
            failing.append(module.name)
    if wall is not None:
        print(f"\nwall time {wall / 60:.1f} min (mutant generation, stats, clean run, mutants)")
    print("equiv. = lines marked '# pragma: no mutate (equivalent: ...)' in the module: not generated")
    for module in modules.values():
        for mutant in module.survived:
            print(f"\nSURVIVED {mutant}")
            if diffs:
                print(show(mutant))
        for mutant in module.not_run:
            print(f"\nNOT RUN {mutant}")
    if failing:
        print(f"\nBelow {fail_under:.0f}% killed (or not run): {', '.join(failing)}")
        return 1
    print(f"\nEvery module kills at least {fail_under:.0f}% of its mutants.")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resume", action="store_true", help="reuse mutants/: test the mutants without a result")
    parser.add_argument("--report", action="store_true", help="print the last run's report, run nothing")
    parser.add_argument(
        "--diffs", action="store_true", help="print the last run's report with each survivor's diff; run nothing"
    )
    parser.add_argument("--fail-under", type=float, default=95.0)
    parser.add_argument("--max-children", type=int)
    args = parser.parse_args()
    wall = None
    if not (args.report or args.diffs):  # --diffs reads the last run, like --report
        names = [pattern for patterns in SCOPE.values() for pattern in patterns]
        if args.resume:
            names = unchecked()
        else:
            shutil.rmtree(ROOT / "mutants", ignore_errors=True)
        if names:
            wall = run_mutmut(args.max_children, names)
    return report(collect(), args.fail_under, args.diffs, wall)


if __name__ == "__main__":
    sys.exit(main())
