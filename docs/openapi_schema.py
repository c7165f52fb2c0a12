"""Write, or check, the OpenAPI schema kept in ``docs/reference/openapi.yaml``.

    python docs/openapi_schema.py           # regenerate the committed file
    python docs/openapi_schema.py --check   # fail, with a diff, when it is out of date

Needs the ``openapi`` extra (drf-spectacular). ``tox -e openapi`` runs the check.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "docs" / "reference" / "openapi.yaml"
UPDATE = "python docs/openapi_schema.py  (or: tox -e openapi -- --write)"


def generate(target: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "docs.openapi_settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("spectacular", file=str(target), validate=True, fail_on_warn=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("--write", action="store_true", help="write (the default)")
    args = parser.parse_args()
    if not args.check or args.write:
        generate(SCHEMA)
        print(f"wrote {SCHEMA.relative_to(ROOT)}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "openapi.yaml"
        generate(fresh)
        new = fresh.read_text(encoding="utf-8")
    old = SCHEMA.read_text(encoding="utf-8") if SCHEMA.exists() else ""
    if new == old:
        print(f"{SCHEMA.relative_to(ROOT)} is up to date")
        return 0
    sys.stdout.writelines(difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True),
        "docs/reference/openapi.yaml (committed)", "docs/reference/openapi.yaml (generated)",
    ))
    print(f"\nThe OpenAPI schema is out of date. Update it with:\n    {UPDATE}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
