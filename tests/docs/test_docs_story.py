"""The docs' running example, assembled and run: the tutorial and every how-to in one project.

The tutorial (docs/tutorial/) starts a project, ``lms``, with a ``courses`` app: ``Course``,
``Enrollment``, a price resolver, a receiver, and tests. Every how-to adds to those files
(the title convention is in tests/docs/blocks.py). ``test_the_docs_assemble_into_one_project``
does what a reader of all of them would do, in a temporary directory: ``startproject`` and
``startapp`` as the tutorial says, then every titled block of the tutorial (its "Stripe test
mode" route; tests/docs/test_tutorial_offline.py follows the offline one) and of each page of
``PAGES`` added to its file, in order; then ``makemigrations courses``, ``check``, and the
project's own tests, the ones the pages show, with ``pytest`` in a child process on this
environment's interpreter. It runs once per webhook processing mode: ``inline`` (the default)
and ``task``, which adds what "Process webhooks in the background" says (its django-tasks-db
tab); the test kit's ``post_event`` applies a queued event as the worker would. A change to a
page that breaks its code, or to the package that breaks a page, fails it.

A new how-to with Python blocks fails ``test_every_how_to_is_assembled_or_excluded`` until it
is listed in ``PAGES`` (assembled) or ``EXCLUDED`` (with the reason).

The project uses SQLite, as ``startproject`` makes it, unless the suite runs on PostgreSQL
(``APRANOVA_TEST_DB=postgres``): then the test points the project at the same server, with a
test database of its own per mode. That, and the Stripe keys in the environment of ``check``,
are the only things the test adds to what the docs say.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .blocks import DOCS, Block, blocks

TUTORIAL = [DOCS / "tutorial" / "first-payment.md", DOCS / "tutorial" / "test-a-receiver.md"]
TUTORIAL_TAB = "Stripe test mode"
HOW_TO = DOCS / "how-to"
MODES = ("inline", "task")
#: The tutorial's commands the test runs (the others install, start a server or call Stripe).
COMMANDS = ["django-admin startproject lms .", "python manage.py startapp courses",
            "python manage.py makemigrations courses", "python manage.py check"]
#: The keys of step 5 of the first part, in the environment of manage.py outside pytest.
KEYS = {"STRIPE_SECRET_KEY": "sk_test_story", "STRIPE_PUBLISHABLE_KEY": "pk_test_story",
        "STRIPE_WEBHOOK_SECRET": "whsec_story"}


@dataclass(frozen=True)
class Page:
    """A how-to assembled into the project, after the tutorial and the pages before it."""

    name: str  # docs/how-to/<name>.md
    modes: tuple[str, ...] = MODES
    tab: str | None = None  # the content tab followed where its blocks differ
    #: Its Python blocks without a title, by their first line: why each is not in the project.
    not_assembled: Mapping[str, str] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return HOW_TO / f"{self.name}.md"


#: The how-tos of the running example, in the order they are assembled. Add a new one here.
PAGES = [
    Page("server-side-prices"),
    Page("enrollment", not_assembled={
        "from django.db import transaction": "a pattern: send_receipt_email stands for your own task",
    }),
    Page("testing"),
    Page("refunds", not_assembled={
        "from decimal import Decimal": "for a view or a command of your own (support_agent is yours); "
                                       "tests/refunds runs refund_payment",
        "from django.db import transaction": "a pattern: send_refund_email stands for your own task",
    }),
    Page("discounts", not_assembled={
        "from decimal import Decimal": "rows made in a data migration or a command; "
                                       "tests/docs/test_discounts.py runs it",
    }),
    Page("stripe-checkout", not_assembled={
        "APRANOVA_PAYMENTS = {": "TAX taxes every payment (create-payment then needs billingAddress), which the "
                                 "running example does not; tests/webhooks/test_checkout_tax.py runs Checkout with it",
    }),
    Page("saved-cards"),
    Page("tax-and-receipts", not_assembled={
        "APRANOVA_PAYMENTS = {": "TAX taxes every payment (create-payment then needs billingAddress), which the "
                                 "earlier pages' tests do not send; the page's test turns TAX on for itself",
    }),
    Page("notify-students"),
    Page("background-webhooks", modes=("task",), tab="django-tasks-db (PostgreSQL)", not_assembled={
        "from django.db.models import Count, Min": "figures for your monitoring, wherever it runs",
    }),
]

#: How-tos with Python blocks that are not part of the running example, and why.
EXCLUDED = {
    "going-live": "production settings (a Redis cache, the live keys): the test has neither",
    "local-webhooks": "the Stripe CLI's secret, which the tutorial's settings already read",
    "offline-simulator": "the tutorial's offline tab, which tests/docs/test_tutorial_offline.py runs "
                         "and checks this page repeats",
    "revenue": "a report run in a shell on live data; tests/analytics covers analytics()",
    "rotate-webhook-secret": "two secrets from the environment during a rotation; tests/webhooks covers it",
}


def python_blocks(path: Path) -> list[Block]:
    return [block for block in blocks(path) if block.lang == "python"]


def first_line(block: Block) -> str:
    return block.text.lstrip("\n").splitlines()[0]


def tutorial_route() -> list[Block]:
    return [block for path in TUTORIAL for block in blocks(path) if block.tab in (None, TUTORIAL_TAB)]


def page_blocks(page: Page) -> list[Block]:
    """The page's blocks that go into the project: titled, in the followed tab or in none."""
    return [block for block in blocks(page.path) if block.lang in ("python", "ini") and block.title
            and not block.restates and block.tab in (None, page.tab)]


# -- every page is accounted for -----------------------------------------------------------------


def test_every_how_to_is_assembled_or_excluded():
    with_python = {path.stem for path in HOW_TO.glob("*.md") if python_blocks(path)}
    assembled = [page.name for page in PAGES]
    assert len(assembled) == len(set(assembled)), "a page is listed twice in PAGES"
    assert set(assembled) & set(EXCLUDED) == set()
    missing = with_python - set(assembled) - set(EXCLUDED)
    assert missing == set(), (f"how-tos with Python blocks neither in PAGES (assembled into the running "
                              f"example) nor in EXCLUDED (with the reason): {sorted(missing)}")
    stale = (set(assembled) | set(EXCLUDED)) - with_python
    assert stale == set(), f"listed, but no such how-to with Python blocks: {sorted(stale)}"


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_each_python_block_is_assembled_restated_or_explained(page):
    untitled = {first_line(block): block for block in python_blocks(page.path) if not block.title}
    unexplained = [block.where for line, block in untitled.items() if line not in page.not_assembled]
    assert unexplained == [], (f"Python blocks without a title (so not in the project) and no reason in "
                               f"PAGES' not_assembled: {unexplained}")
    stale = set(page.not_assembled) - set(untitled)
    assert stale == set(), f"not_assembled names no untitled block of {page.path.name}: {sorted(stale)}"
    tabs = {block.tab for block in python_blocks(page.path) if block.title and block.tab}
    assert page.tab in tabs | {None} and (page.tab or not tabs), f"{page.name}: follow one of its tabs {tabs}"


def tutorial_files() -> dict[str, list[str]]:
    files: dict[str, list[str]] = {}
    for block in tutorial_route():
        if block.file:
            files.setdefault(block.file, []).extend(block.text.splitlines())
    return files


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_what_a_page_shows_from_the_tutorial_is_the_tutorials(page):
    """A "(from the tutorial)" block: its lines, but the ``...`` ones, are the tutorial's file's, in order."""
    files = tutorial_files()
    for block in blocks(page.path):
        if not block.restates:
            continue
        assert block.file in files, f"{block.where}: the tutorial has no {block.file}"
        lines = iter(files[block.file])
        for line in block.text.splitlines():
            if line.strip() in ("", "...", "...,"):
                continue
            assert line in lines, f"{block.where}: {line.strip()!r} is not, in order, in the tutorial's {block.file}"


# -- assembling and running ----------------------------------------------------------------------


class Project:
    def __init__(self, root: Path, mode: str) -> None:
        self.root = root
        self.mode = mode
        keep = {k: v for k, v in os.environ.items()
                if not k.startswith(("DJANGO_", "STRIPE_", "APRANOVA_", "PYTEST_"))}
        self.env = {**keep, "PATH": str(Path(sys.executable).parent) + os.pathsep + keep.get("PATH", "")}
        self.sources: dict[str, list[str]] = {}  # file: where each block added to it comes from

    def run(self, command: str, env: Mapping[str, str] | None = None) -> str:
        words = command.split()
        if words[0] == "python":
            words[0] = sys.executable
        elif words[0] == "django-admin":
            words[:1] = [sys.executable, "-m", "django"]
        done = subprocess.run(words, cwd=self.root, env={**self.env, **(env or {})},  # noqa: S603 - our docs
                              capture_output=True, text=True, timeout=300, check=False)
        output = done.stdout + done.stderr
        assert done.returncode == 0, (f"`{command}` exited {done.returncode} in {self.mode} mode:\n{output}\n"
                                      f"{self.report()}")
        return output

    def add(self, block: Block) -> None:
        assert block.file
        path = self.root / block.file
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as file:
            file.write(f"\n# --- {block.where}\n{block.text}")
        self.sources.setdefault(block.file, []).append(block.where)

    def add_database(self) -> None:
        """On the suite's PostgreSQL when it runs there: the test's addition, not the docs'."""
        if os.environ.get("APRANOVA_TEST_DB") != "postgres":
            return
        name = f"{os.environ.get('APRANOVA_TEST_DB_NAME', 'test_apranova_payments')}_story_{self.mode}"
        with (self.root / "lms" / "settings.py").open("a", encoding="utf-8") as file:
            file.write(f"""
# --- tests/docs/test_docs_story.py: the suite's PostgreSQL
DATABASES = {{"default": {{
    "ENGINE": "django.db.backends.postgresql",
    "NAME": {os.environ.get("PGDATABASE", "postgres")!r},
    "USER": {os.environ.get("PGUSER", "postgres")!r},
    "PASSWORD": {os.environ.get("PGPASSWORD", "")!r},
    "HOST": {os.environ.get("PGHOST", "127.0.0.1")!r},
    "PORT": {os.environ.get("PGPORT", "5432")!r},
    "TEST": {{"NAME": {name!r}}},
}}}}
""")

    def report(self) -> str:
        return "Assembled from:\n" + "\n".join(f"  {file}: {', '.join(where)}" for file, where in self.sources.items())

    def assert_no_definition_is_repeated(self) -> None:
        """A function defined twice in one file: the first silently lost (a test never run, a
        receiver replaced), so the pages would disagree."""
        for file in self.sources:
            if not file.endswith(".py"):
                continue
            tree = ast.parse((self.root / file).read_text(encoding="utf-8"), file)
            names = [node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
            repeated = sorted({name for name in names if names.count(name) > 1})
            assert repeated == [], f"{file} defines {repeated} more than once.\n{self.report()}"

    def test_count(self) -> int:
        tree = ast.parse((self.root / "courses" / "tests.py").read_text(encoding="utf-8"))
        return sum(isinstance(node, ast.FunctionDef) and node.name.startswith("test") for node in tree.body)


def test_the_tutorial_shows_the_commands_the_test_runs():
    shown = [command.text for block in tutorial_route() if block.lang == "console" for command in block.commands()]
    assert [command for command in COMMANDS if command not in shown] == []


@pytest.mark.parametrize("mode", MODES)
def test_the_docs_assemble_into_one_project(tmp_path, mode):
    project = Project(tmp_path / "lms", mode)
    project.root.mkdir()
    project.run(COMMANDS[0])
    project.run(COMMANDS[1])
    for block in tutorial_route():
        if block.lang in ("python", "ini"):
            assert block.title, f"{block.where}: a tutorial block without a title (which file?)"
            assert not block.restates, f"{block.where}: the tutorial restates nothing"
            project.add(block)
    for page in PAGES:
        if mode in page.modes:
            for block in page_blocks(page):
                project.add(block)
    project.add_database()
    project.assert_no_definition_is_repeated()

    project.run(COMMANDS[2], KEYS)
    checked = project.run(COMMANDS[3], KEYS)
    assert "System check identified no issues" in checked, checked
    output = project.run("python -m pytest -p no:cacheprovider")

    expected = project.test_count()
    summary = output.strip().splitlines()[-1]
    assert re.fullmatch(rf"=* ?{expected} passed in [\d.]+s ?=*", summary), f"{summary}\n{output}\n{project.report()}"
