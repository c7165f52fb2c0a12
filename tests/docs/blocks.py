"""The code blocks and shell commands of the docs' Markdown, for the tests that run them
(tests/docs/test_tutorial_offline.py, tests/docs/test_docs_story.py, tests/docs/test_commands.py).

It reads what MkDocs renders: fenced blocks (```` ```lang title="path" ````), also inside
content tabs (``=== "Label"`` with the block indented under it), and ``$ `` command lines in
``console`` blocks, with ``\\`` continuations and the output lines that follow them.

The docs' one convention for code that belongs to the reader's project (the running example
the tutorial starts and every how-to builds on) is the block's title, which MkDocs shows above
the code:

* ```` ```python title="courses/receivers.py" ```` is code to **add at the end of** that file,
  the path relative to the project's root (``lms/settings.py``, ``courses/tests.py``). The
  tutorial creates the files (after ``startproject`` and ``startapp``); a how-to adds only what
  it adds: a receiver, a setting (``APRANOVA_PAYMENTS |= {...}``), a test. Later definitions
  win, as in Python.
* ```` ```python title="courses/pricing.py (from the tutorial)" ```` shows code the project
  already has, to explain it: it is not added again, and its lines (but the ``...`` ones, which
  stand for what is left out) must be the tutorial's, in order (``Block.restates``).
* A block without a title is an illustration (a fragment, a shell session, another
  framework's setup): the pages the story test assembles name each one with the reason it is
  not part of the project (tests/docs/test_docs_story.py, ``PAGES``).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

TAB = re.compile(r'^=== "(?P<label>[^"]+)"\s*$')
FENCE = re.compile(r'^(?P<indent>\s*)```(?P<lang>[\w-]*)(?P<attrs>[^`]*)$')
TITLE = re.compile(r'title="(?P<title>[^"]+)"')
RESTATED = "(from the tutorial)"


@dataclass
class Command:
    text: str  # the command as typed, continuations joined
    output: list[str] = field(default_factory=list)

    @property
    def words(self) -> list[str]:
        return shlex.split(self.text)


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    title: str | None
    tab: str | None  # the content tab the block is in, if any
    text: str

    @property
    def file(self) -> str | None:
        """The project file the block belongs to (its title without "(from the tutorial)")."""
        return self.title.removesuffix(RESTATED).strip() if self.title else None

    @property
    def restates(self) -> bool:
        """Whether the block shows the tutorial's code again rather than adding to it."""
        return bool(self.title and self.title.endswith(RESTATED))

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    def commands(self) -> list[Command]:
        """The ``$ `` lines of a console block, each with the output lines under it."""
        commands: list[Command] = []
        continued = False
        for line in self.text.splitlines():
            if continued:
                commands[-1].text += " " + line.strip().removesuffix("\\").strip()
                continued = line.rstrip().endswith("\\")
            elif line.startswith("$ "):
                commands.append(Command(line[2:].rstrip().removesuffix("\\").strip()))
                continued = line.rstrip().endswith("\\")
            elif commands and line.strip():
                commands[-1].output.append(line)
        return commands


def blocks(path: Path) -> list[Block]:
    """Every fenced block of ``path``, in order, with the content tab it sits in."""
    found: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    tab: str | None = None
    number = 0
    while number < len(lines):
        line = lines[number]
        if match := TAB.match(line):
            tab = match["label"]
        elif line.strip() and not line[0].isspace() and not FENCE.match(line):
            tab = None  # text back at the margin ends the tabs
        fence = FENCE.match(line)
        if fence:
            indent = len(fence["indent"])
            title = TITLE.search(fence["attrs"])
            body: list[str] = []
            number += 1
            while lines[number].strip() != "```":
                body.append(lines[number][indent:])
                number += 1
            found.append(Block(path, number - len(body), fence["lang"], title["title"] if title else None,
                               tab if indent else None, "\n".join(body) + "\n"))
        number += 1
    return found


def inline_commands(path: Path) -> list[tuple[str, str]]:
    """``(where, command)`` for commands quoted inline in the prose (`` `python manage.py …` ``)."""
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        for span in re.findall(r"`([^`]+)`", line):
            if re.search(r"(^|\s)(python )?manage\.py \w|^\./runtests|^tox -e|^example_project/run", span):
                found.append((f"{path.relative_to(ROOT)}:{number}", span))
    return found
