"""Test what users install: build, check and install the distributions, then take a payment.

Run by ``tox -e packaging`` (not collected by pytest)::

    python tests/packaging/check_dist.py [--keep]

1. build the sdist and, from it, the wheel (``python -m build``);
2. ``twine check --strict`` both;
3. check the wheel: every file of the package (migrations, ``py.typed``, templates, static
   files) is in it, and its metadata carries the version from ``__init__.py``;
4. create a fresh virtualenv in a temporary directory, install the wheel there with the
   ``testing`` extra, and run ``smoke.py`` from that directory, far from ``src/``: it creates
   a throwaway project with a custom user model, migrates it and takes a payment against
   ``StripeMock``.
"""

from __future__ import annotations

import argparse
import email
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "django_apranova_payments"
SOURCE = ROOT / "src" / PACKAGE
REQUIRED_IN_WHEEL = [
    "migrations/__init__.py", "migrations/0001_initial.py", "py.typed", "testing/__init__.py",
    "simulator/apps.py", "simulator/migrations/__init__.py", "simulator/migrations/0001_initial.py",
    "simulator/static/simulator.js", "simulator/templates/authenticate.html",
]


def run(*command: str | Path, cwd: Path | None = None) -> None:
    print("$", " ".join(map(str, command)), flush=True)
    subprocess.run([str(part) for part in command], cwd=cwd, check=True)  # noqa: S603 - our own commands


def source_version() -> str:
    text = (SOURCE / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    assert match, "no __version__ in __init__.py"
    return match.group(1)


def package_files() -> set[str]:
    """Every file of the package in the working tree, as a path inside the wheel."""
    return {
        f"{PACKAGE}/{path.relative_to(SOURCE).as_posix()}"
        for path in SOURCE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in {".pyc", ".pyo"}
    }


def check_wheel(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = email.message_from_bytes(archive.read(metadata_name))
    missing = sorted({f"{PACKAGE}/{name}" for name in REQUIRED_IN_WHEEL} | package_files())
    missing = [name for name in missing if name not in names]
    assert not missing, f"files missing from the wheel: {missing}"
    strays = sorted(n for n in names if not n.startswith((f"{PACKAGE}/", metadata_name.split("/")[0])))
    assert not strays, f"unexpected top-level files in the wheel: {strays}"
    version = source_version()
    assert metadata["Version"] == version, f"wheel version {metadata['Version']} != __version__ {version}"
    extras = set(metadata.get_all("Provides-Extra") or [])
    assert {"testing", "openapi", "pdf"} <= extras, f"extras missing from the metadata: {extras}"
    print(f"wheel OK: version {version}, {len(names)} files, extras {sorted(extras)}")


def make_venv(venv: Path) -> Path:
    python = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    if shutil.which("uv"):
        run("uv", "venv", "--quiet", "--python", sys.executable, venv)
    else:
        run(sys.executable, "-m", "venv", venv)
    return python


def install(python: Path, requirement: str) -> None:
    if shutil.which("uv"):
        run("uv", "pip", "install", "--quiet", "--python", python, requirement)
    else:
        run(python, "-m", "pip", "install", "--quiet", requirement)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="apranova-packaging-"))
    ok = False
    try:
        dist = tmp / "dist"
        run(sys.executable, "-m", "build", "--outdir", dist, ROOT)
        built = sorted(dist.iterdir())
        run(sys.executable, "-m", "twine", "check", "--strict", *built)
        wheel = next(p for p in built if p.suffix == ".whl")
        check_wheel(wheel)

        python = make_venv(tmp / "venv")
        install(python, f"{wheel}[testing]")
        project = tmp / "project"
        project.mkdir()
        shutil.copy(Path(__file__).with_name("smoke.py"), project / "smoke.py")
        # -I: no PYTHONPATH, no user site, and not even the script's directory is implied.
        run(python, "-I", "smoke.py", cwd=project)
        ok = True
    finally:
        if ok and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")
    print(f"packaging OK in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
