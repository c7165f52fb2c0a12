"""Mutate only the functions a branch changed, within the mutation scope (``tox -e mutation-changed``).

    python mutation/changed.py                    # against git merge-base HEAD origin/main (or main)
    python mutation/changed.py --base v0.3.0      # against another ref
    python mutation/changed.py --list             # print the changed functions, run nothing

The diff is ``git diff <base>``: the commits since the base and what is not committed yet. A
function is changed when a line of it (its decorators included) is added, altered or removed
there. Only the functions that ``mutation/scope.py`` counts are mutated, with only the tests of
their units; the rest of the suite is not run. When nothing in the scope changed (a clean
checkout of main) it says so and exits 0 at once. Otherwise it exits 1 when a unit kills fewer
than ``--fail-under`` percent (95) of the changed functions' mutants, and prints the survivors.

mutmut reads its settings from pyproject.toml in the directory it runs in, so the run happens in
``mutants-changed/``: a copy of src/, tests/ and mutation/ with a pyproject.toml whose
``[tool.mutmut]`` mutates only the changed files and selects only their units' tests.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: mutation/ is then not importable as a package
    sys.path.insert(0, str(ROOT))

from mutation.run import KILLED, run_mutmut  # noqa: E402
from mutation.scope import PACKAGE, SOURCE, UNITS, Unit, unit_of, unit_of_file  # noqa: E402

WORK = ROOT / "mutants-changed"
GIT = shutil.which("git") or "git"
HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


def changed_lines(diff: str) -> dict[str, set[float]]:
    """The lines of each file that a ``git diff -U0`` changed, numbered in the new file.

    Keys are the new paths as git prints them (``src/…/coupons.py``). A hunk that only removes
    lines is recorded as ``n + 0.5``: the gap after line n of the new file, where they were.
    A deleted file has no new lines and is left out.
    """
    lines: dict[str, set[float]] = {}
    path: str | None = None
    for line in diff.splitlines():
        if line.startswith("+++ "):
            target = line[4:].strip()
            path = target[2:] if target.startswith("b/") else None  # /dev/null: the file was deleted
            continue
        match = HUNK.match(line)
        if match is None or path is None:
            continue
        start = int(match.group(1))
        count = 1 if match.group(2) is None else int(match.group(2))
        touched = lines.setdefault(path, set())
        if count:
            touched.update(range(start, start + count))
        else:
            touched.add(start + 0.5)
    return lines


def function_spans(source: str) -> dict[str, tuple[int, int]]:
    """The first and last line of every function mutmut mutates on its own, by mutmut's name.

    mutmut mutates the module's functions (``x_name``) and the methods of its classes
    (``xǁClassǁname``); a function nested in one of them is part of it. The span starts at the
    first decorator.
    """
    spans: dict[str, tuple[int, int]] = {}

    def span(node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[int, int]:
        first = min([node.lineno] + [decorator.lineno for decorator in node.decorator_list])
        return first, node.end_lineno or node.lineno

    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            spans[f"x_{node.name}"] = span(node)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    spans[f"xǁ{node.name}ǁ{item.name}"] = span(item)
    return spans


def changed_functions(source: str, lines: Iterable[float]) -> set[str]:
    """mutmut's names of the functions of ``source`` that contain one of ``lines``.

    Lines removed just before a function (a decorator) or just after its last line (its last
    statements) count for it: the diff cannot tell those from lines between two functions.
    """
    touched = set(lines)
    return {
        name
        for name, (first, last) in function_spans(source).items()
        if any(first - 0.5 <= line <= last + 0.5 for line in touched)
    }


def in_scope(changes: dict[str, set[float]], read: Callable[[str], str] | None = None) -> dict[str, list[str]]:
    """For each file of the scope that changed, the mutant-name globs of its changed functions.

    ``changes`` is ``changed_lines``' answer; ``read`` gives a file's text from its path (the
    working tree by default). Functions that no unit counts are left out (the reporting
    querysets next to ``for_user``, a coupon model's ``clean``).
    """
    if read is None:
        read = lambda path: (ROOT / path).read_text()  # noqa: E731
    globs: dict[str, list[str]] = {}
    for path, lines in sorted(changes.items()):
        if not path.startswith(SOURCE) or unit_of_file(path[len(SOURCE) :]) is None:
            continue
        module = path[len(SOURCE) :].removesuffix(".py").replace("/", ".")
        names = sorted(
            f"{PACKAGE}.{module}.{function}__mutmut_*"
            for function in changed_functions(read(path), lines)
            if unit_of(f"{PACKAGE}.{module}.{function}__mutmut_1") is not None
        )
        if names:
            globs[path] = names
    return globs


def base_ref(given: str | None) -> str | None:
    """The commit to compare with: ``--base``, else the merge-base with origin/main, else main."""
    candidates = [given] if given else ["origin/main", "main"]
    for ref in candidates:
        done = subprocess.run(  # noqa: S603 (fixed argv)
            [GIT, "merge-base", "HEAD", ref], cwd=ROOT, capture_output=True, text=True, check=False
        )
        if done.returncode == 0:
            return done.stdout.strip()
    if given:
        sys.exit(f"mutation-changed: no merge-base between HEAD and {given!r}")
    return None


def git_diff(base: str) -> str:
    return subprocess.run(  # noqa: S603 (fixed argv and a commit id)
        [GIT, "diff", "-U0", "--no-color", "--no-ext-diff", base, "--", SOURCE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def existing_globs(globs: dict[str, list[str]]) -> dict[str, list[str]]:
    """The globs that name at least one mutant: mutmut generates none for a function with nothing
    to mutate (or marked ``# pragma: no mutate``), and stops when a name matches no mutant."""
    from mutmut.mutation.file_mutation import mutate_file_contents

    kept: dict[str, list[str]] = {}
    for path, names in globs.items():
        module = path[len(SOURCE) :].removesuffix(".py").replace("/", ".")
        mutants = [
            f"{PACKAGE}.{module}.{name}" for name in mutate_file_contents(path, (ROOT / path).read_text()).mutant_names
        ]
        alive = [glob for glob in names if any(fnmatch.fnmatchcase(mutant, glob) for mutant in mutants)]
        if alive:
            kept[path] = alive
    return kept


def toml_list(values: Iterable[str]) -> str:
    return "[\n" + "".join(f"    {json.dumps(value, ensure_ascii=False)},\n" for value in values) + "]"


def prepare(paths: list[str], units: list[Unit]) -> None:
    """``mutants-changed/``: src/, tests/, mutation/ and a pyproject.toml mutating only ``paths``."""
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("src", "tests", "mutation"):
        shutil.copytree(ROOT / folder, WORK / folder, ignore=ignore)
    tests = sorted({f"tests/{entry}" for unit in units for entry in unit.tests})
    pyproject = (ROOT / "pyproject.toml").read_text()
    pyproject = re.sub(r"(?ms)^only_mutate = \[.*?^\]", lambda _: "only_mutate = " + toml_list(paths), pyproject)
    pyproject = re.sub(r"(?m)^also_copy = .*$", lambda _: 'also_copy = ["mutation/"]', pyproject)
    pyproject = re.sub(
        r"(?ms)^pytest_add_cli_args_test_selection = \[.*?^\]",
        lambda _: "pytest_add_cli_args_test_selection = " + toml_list(tests),
        pyproject,
    )
    (WORK / "pyproject.toml").write_text(pyproject)


def results(paths: list[str], globs: list[str]) -> dict[str, int | None]:
    codes: dict[str, int | None] = {}
    for path in paths:
        meta = WORK / "mutants" / f"{path}.meta"
        if meta.exists():
            for mutant, code in json.loads(meta.read_text())["exit_code_by_key"].items():
                if any(fnmatch.fnmatchcase(mutant, glob) for glob in globs):
                    codes[mutant] = code
    return codes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", help="the ref to compare with (default: merge-base with origin/main, else main)")
    parser.add_argument("--list", action="store_true", help="print the changed functions in the scope; run nothing")
    parser.add_argument("--fail-under", type=float, default=95.0)
    parser.add_argument("--max-children", type=int, default=2)
    args = parser.parse_args()

    base = base_ref(args.base or os.environ.get("MUTATION_BASE") or None)
    if base is None:
        print("mutation-changed: neither origin/main nor main is known here; nothing to compare with (--base REF)")
        return 0
    globs = in_scope(changed_lines(git_diff(base)))
    print(f"mutation-changed: against {base[:12]}", flush=True)
    if not args.list:
        globs = existing_globs(globs)
    if not globs:
        print("mutation-changed: no function in the mutation scope changed; nothing to mutate")
        return 0
    for path, names in globs.items():
        print(f"  {path}")
        for name in names:
            print(f"    {name.rpartition('.')[2].removesuffix('__mutmut_*')}", flush=True)
    if args.list:
        return 0

    names = [name for group in globs.values() for name in group]
    units = sorted({unit_of(name.replace("*", "1")) for name in names}, key=UNITS.index)  # type: ignore[arg-type]
    prepare(list(globs), units)
    wall = run_mutmut(args.max_children, names, cwd=WORK)  # exits when mutmut fails

    codes = results(list(globs), names)
    failing = []
    print(f"\n{'unit':<13}{'mutants':>8}{'killed':>8}{'rate':>8}")
    for unit in units:
        mine = {mutant: code for mutant, code in codes.items() if unit_of(mutant) is unit}
        killed = sum(1 for code in mine.values() if code in KILLED)
        rate = 100.0 * killed / len(mine) if mine else 100.0
        print(f"{unit.name:<13}{len(mine):>8}{killed:>8}{rate:>7.1f}%")
        for mutant, code in sorted(mine.items()):
            if code not in KILLED:
                print(f"  SURVIVED {mutant} (exit code {code}): cd mutants-changed && mutmut show {mutant}")
        if rate < args.fail_under:
            failing.append(unit.name)
    print(f"\nwall time {wall / 60:.1f} min")
    if failing:
        print(f"Below {args.fail_under:.0f}% killed: {', '.join(failing)}")
        return 1
    print(f"Every changed unit kills at least {args.fail_under:.0f}% of its changed functions' mutants.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
