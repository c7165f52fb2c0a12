"""The install lines of the README and the docs: until the first release they install from a
clone (``./django-apranova-payments`` or ``../django-apranova-payments``), and every extra
they name is one ``pyproject.toml`` declares."""

from __future__ import annotations

import re
import tomllib

from .blocks import DOCS, ROOT

PAGES = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
INSTALL = re.compile(r'pip install (?:-e )?"?(?P<target>\.{0,2}/?django-apranova-payments)(?:\[(?P<extras>[\w,]+)\])?')


def install_lines() -> list[tuple[str, str, str | None]]:
    found = []
    for page in PAGES:
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
            found += [(f"{page.relative_to(ROOT)}:{number}", m["target"], m["extras"]) for m in INSTALL.finditer(line)]
    return found


def test_every_extra_named_is_declared():
    declared = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
                   ["optional-dependencies"])
    named = {(where, extra) for where, _, extras in install_lines() if extras for extra in extras.split(",")}
    assert named and {(where, extra) for where, extra in named if extra not in declared} == set()


def test_the_readme_and_the_tutorial_install_from_a_clone_first():
    for page in ("README.md", "docs/tutorial/first-payment.md"):
        targets = [target for where, target, _ in install_lines() if where.startswith(page + ":")]
        assert targets[0] in ("./django-apranova-payments", "../django-apranova-payments"), (page, targets)
        assert "django-apranova-payments" in targets, f"{page}: the PyPI line for after the first release"
        text = (ROOT / page).read_text(encoding="utf-8")
        assert "git clone https://github.com/apranova/django-apranova-payments.git" in text
