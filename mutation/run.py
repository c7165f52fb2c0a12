"""Run mutmut over the modules that decide money, state or access, then print the kill rate per module and the
survivors (``tox -e mutation``, ``./runtests -e mutation``; docs/explanation/testing.md).

    python mutation/run.py             # from a clean state: deletes mutants/ first
    python mutation/run.py --resume    # reuse mutants/: test only the mutants without a result yet
    python mutation/run.py --report    # only print the report of the last run
    python mutation/run.py --diffs     # only the last run's report, with each survivor's diff
    python mutation/run.py --module coupons --max-children 2   # one unit of mutation/scope.py

What is mutated, and which tests pin each unit, is mutation/scope.py.

Exits 1 when a module kills fewer than ``--fail-under`` percent (95) of its mutants. Mutants
marked equivalent carry ``# pragma: no mutate (equivalent: <reason>)`` on their line in src/:
mutmut does not generate them, so they are out of the denominator; the report counts those lines.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: mutation/ is then not importable as a package
    sys.path.insert(0, str(ROOT))

from mutation.scope import PACKAGE, UNITS, Unit, unit_of  # noqa: E402

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


def meta_files(unit: Unit) -> list[Path]:
    """mutmut's record of the results, one per mutated file, in the last run's mutants/."""
    return [ROOT / "mutants" / "src" / PACKAGE / f"{path}.meta" for path in unit.files]


def results(unit: Unit) -> dict[str, int | None]:
    """The last run's exit code of each of ``unit``'s mutants (None: not tested yet)."""
    codes: dict[str, int | None] = {}
    for meta in meta_files(unit):
        if meta.exists():
            for mutant, code in json.loads(meta.read_text())["exit_code_by_key"].items():
                if unit_of(mutant) is unit:
                    codes[mutant] = code
    return codes


def unchecked(units: list[Unit]) -> list[str]:
    """The in-scope mutants of the last run that have no result yet (an interrupted run)."""
    return [mutant for unit in units for mutant, code in results(unit).items() if code is None]


def run_mutmut(max_children: int | None, names: list[str], cwd: Path = ROOT) -> float:
    # mutmut re-tests every mutant named on its command line, cached result or not.
    command = [sys.executable, "-m", "mutmut", "run"]
    if max_children:
        command += ["--max-children", str(max_children)]
    command += names
    started = time.monotonic()
    last_progress = 0.0
    # mutmut redraws a spinner line with \r; keep the log readable: its other lines, and the
    # progress line every 30 seconds.
    with subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:  # noqa: S603
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
                if line.startswith("🎉 "):  # a named mutant killed: the report counts them
                    continue
                print(line, flush=True)
        if buffer.strip() and not SPINNER.match(buffer):
            print(buffer)
    if proc.returncode:
        sys.exit(f"mutmut run exited with {proc.returncode}")
    return time.monotonic() - started


def collect(units: list[Unit]) -> dict[str, Module]:
    modules = {unit.name: Module(unit.name) for unit in units}
    for unit in units:
        module = modules[unit.name]
        for mutant, code in results(unit).items():
            module.mutants += 1
            if code in KILLED:
                module.killed += 1
            elif code in SURVIVED:
                module.survived.append(mutant)
            elif code in NO_TESTS:  # counted as survived: no test of its unit reaches it
                module.survived.append(f"{mutant} (no test: none of its unit's tests in mutation/scope.py reach it)")
            else:
                module.not_run.append(f"{mutant} (exit code {code})")
        for path in unit.files:
            source = (ROOT / "src" / PACKAGE / path).read_text()
            module.equivalent_lines += sum(1 for line in source.splitlines() if EQUIVALENT.search(line))
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
        if module.rate < fail_under or module.not_run or not module.mutants:
            failing.append(module.name)
    if wall is not None:
        print(f"\nwall time {wall / 60:.1f} min (mutant generation, stats, clean run, mutants)")
    print("equiv. = lines marked '# pragma: no mutate (equivalent: ...)' in the module: not generated")
    for module in modules.values():
        for mutant in module.survived:
            print(f"\nSURVIVED {mutant}")
            if diffs:
                print(show(mutant.partition(" ")[0]))
        for mutant in module.not_run:
            print(f"\nNOT RUN {mutant}")
    if failing:
        print(f"\nBelow {fail_under:.0f}% killed (or not run, or no mutants): {', '.join(failing)}")
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
    parser.add_argument(
        "--module",
        action="append",
        choices=[unit.name for unit in UNITS],
        help="run (or report) only this unit of mutation/scope.py; repeatable. Without --resume it "
        "keeps mutants/ and re-tests only this unit's mutants",
    )
    args = parser.parse_args()
    units = [unit for unit in UNITS if not args.module or unit.name in args.module]
    wall = None
    if not (args.report or args.diffs):  # --diffs reads the last run, like --report
        names = [pattern for unit in units for pattern in unit.patterns]
        if args.resume:
            names = unchecked(units)
        elif not args.module:
            shutil.rmtree(ROOT / "mutants", ignore_errors=True)
        if names:
            wall = run_mutmut(args.max_children, names)
    return report(collect(units), args.fail_under, args.diffs, wall)


if __name__ == "__main__":
    sys.exit(main())
