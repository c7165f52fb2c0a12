"""Write the pinned constraint files that every tox environment installs through.

Run by ``tox -e lock`` (``./runtests -e lock``)::

    python constraints/lock.py            # add what pyproject.toml asks for and is not pinned yet
    python constraints/lock.py --upgrade  # move every pin to the newest version that resolves
    python constraints/lock.py --check    # exit 1 when a file is not what pyproject.toml resolves to

One file per supported Django line (``django52.txt``, ``django60.txt``, ``django61.txt``): one
universal resolution (Python 3.11 to 3.13, every platform) of the package's runtime
dependencies, every extra and the dependency groups that run on that line, with Django held to
the line. ``build.txt`` pins the build backend, and ``tox.txt`` the tox that ``runtests``
installs. The package's own dependencies keep their ranges in pyproject.toml: hosts need them.

Without ``--upgrade`` uv keeps every version already in a file, so a run changes only what
pyproject.toml changed. ``tox -e latest`` shows what an upgrade would break before anyone runs
``--upgrade``.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# Django line -> (its range, the lowest Python it supports, the dependency groups of the tox
# environments that run on it).
LINES = {
    "django52": ("Django>=5.2,<6.0", "3.11", ["test", "browser"]),
    "django60": ("Django>=6.0,<6.1", "3.12", ["test", "engines", "mutation"]),
    "django61": ("Django>=6.1,<6.2", "3.12", ["test", "lint", "types", "docs", "packaging"]),
}
BUILD = ["hatchling>=1.25", "editables~=0.3"]  # [build-system] requires, and what hatchling asks for an editable build
TOX = ["tox>=4.22", "tox-uv>=1.11"]  # what runtests installs to run tox


def uv() -> str:
    found = shutil.which("uv")
    if found is None:
        sys.exit("lock.py needs uv on PATH (tox -e lock installs the pinned one)")
    return found


def compile_file(output: Path, requirements: list[str], groups: list[str], python: str, *, upgrade: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        extra = Path(tmp) / "requirements.in"
        extra.write_text("\n".join(requirements) + "\n", encoding="utf-8")
        command = [
            uv(), "pip", "compile", "--quiet", "--universal", "--python-version", python,
            "--no-header", "--annotation-style", "line", "--output-file", str(output), str(extra),
        ]
        if groups:  # the package, its extras and these groups
            command += ["pyproject.toml", "--all-extras"]
        for group in groups:
            command += ["--group", group]
        if upgrade:
            command.append("--upgrade")
        # The constraint files must not constrain their own resolution.
        env = {key: value for key, value in os.environ.items() if key not in {"UV_CONSTRAINT", "PIP_CONSTRAINT"}}
        subprocess.run(command, cwd=ROOT, check=True, env=env)  # noqa: S603 - our own command
    # uv names the temporary input in its annotations; say where the pins come from instead.
    text = output.read_text(encoding="utf-8").replace(str(extra), "lock.py")
    output.write_text(text, encoding="utf-8")


def write_all(directory: Path, *, upgrade: bool) -> None:
    for name, (django, python, groups) in LINES.items():
        compile_file(directory / f"{name}.txt", [django], groups, python, upgrade=upgrade)
    compile_file(directory / "build.txt", BUILD, [], "3.11", upgrade=upgrade)
    compile_file(directory / "tox.txt", TOX, [], "3.11", upgrade=upgrade)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--upgrade", action="store_true", help="move every pin to the newest version")
    mode.add_argument("--check", action="store_true", help="fail when a file is stale")
    args = parser.parse_args()
    if not args.check:
        write_all(HERE, upgrade=args.upgrade)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        names = [f"{name}.txt" for name in LINES] + ["build.txt", "tox.txt"]
        for name in names:
            if (HERE / name).exists():
                shutil.copy(HERE / name, scratch / name)
        write_all(scratch, upgrade=False)
        stale = [name for name in names if not (HERE / name).exists() or not filecmp.cmp(HERE / name, scratch / name)]
    if stale:
        print(f"stale constraint files: {', '.join(stale)}; run `./runtests -e lock` and commit them")
        return 1
    print("constraint files are up to date with pyproject.toml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
