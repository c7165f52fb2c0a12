"""Every command the tutorial, the how-tos and the READMEs show exists and takes the options
they give it.

Each ``$`` line of a console block and each command quoted inline (`` `python manage.py …` ``,
`` `./runtests -e …` ``) is checked by what it runs:

* ``manage.py NAME …`` and ``django-admin NAME …``: the management command exists (the
  package's, Django's, the example project's) and its parser accepts the documented
  arguments, as ``manage.py`` would parse them;
* ``./runtests -e ENV``, ``tox -e ENV``: ENV is an environment of tox.ini;
* ``example_project/run``: the script is there and executable.

The offline route of the tutorial is also run for real, output included, by
tests/docs/test_tutorial_offline.py. What is not checked here, and why, is in ``NOT_CHECKED``: a
new kind of command in the docs fails this test until it is checked or listed there.
"""

from __future__ import annotations

import configparser
import itertools
import os
import re
import shlex
from pathlib import Path

import pytest
from django.core.management import get_commands, load_command_class

from .blocks import DOCS, ROOT, blocks, inline_commands

PAGES = [*sorted((DOCS / "tutorial").glob("*.md")), *sorted((DOCS / "how-to").glob("*.md")),
         ROOT / "README.md", ROOT / "example_project" / "README.md"]
EXAMPLE_COMMANDS = ROOT / "example_project" / "courses" / "management" / "commands"

#: Programs whose commands are not checked here, with the reason.
NOT_CHECKED = {
    "stripe": "the Stripe CLI needs a Stripe account and the network",
    "curl": "requests to the reader's own server: the offline tutorial test runs them",
    "pytest": "runs the reader's tests: the offline tutorial test runs them",
    "pip": "installs from PyPI (network); the test environment has the package",
    "python -m": "python -m venv/pip/…: the reader's environment",
    "python -c": "a one-line script (the webhook secret); the offline tutorial test runs it",
    "source": "activates the reader's virtualenv",
    "mkdir": "the reader's directory",
    "export": "sets an environment variable; the offline tutorial test runs the offline ones",
    "mkdocs": "builds or serves the docs: tox -e docs builds them",
    "git": "the reader's clone",
    "cd": "the reader's directory",
}
ENV_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=\S*$")


def documented_commands() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        found += [(block.where, command.text) for block in blocks(page) if block.lang in ("console", "shell")
                  for command in block.commands()]
        found += [(f"{where} (inline)", text) for where, text in inline_commands(page)]
    return found


COMMANDS = documented_commands()


def tox_environments() -> set[str]:
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "tox.ini")
    names = {section.removeprefix("testenv:") for section in config.sections() if section.startswith("testenv:")}
    labelled = [name.strip() for line in config["tox"].get("labels", "").splitlines() if "=" in line
                for name in line.split("=", 1)[1].split(",")]
    for line in [*config["tox"]["env_list"].split(), *labelled]:
        factors = [part.strip("{}").split(",") for part in re.findall(r"\{[^}]*\}|[^-{}]+", line)]
        combos = [""]
        for options in factors:
            combos = [f"{done}-{option}" if done else option for done in combos for option in options]
        names.update(combos)
    return names


def words_of(command: str) -> list[str]:
    """The command's words, without leading ``VAR=value`` assignments."""
    words = shlex.split(command.split(" && ")[0])
    while words and ENV_ASSIGNMENT.match(words[0]):
        words.pop(0)
    return words


def program_of(words: list[str]) -> str:
    if words[:2] in (["python", "-m"], ["python", "-c"]):
        return " ".join(words[:2])
    if words[0] == "python" and len(words) > 1:
        return words[1]
    return words[0]


def test_the_docs_show_commands():
    programs = {program_of(words_of(text)) for _, text in COMMANDS}
    assert {"manage.py", "django-admin", "./runtests", "example_project/run", "stripe"} <= programs


@pytest.mark.parametrize(("where", "text"), COMMANDS, ids=[f"{w} {t[:60]}" for w, t in COMMANDS])
def test_documented_command(where, text):
    words = words_of(text)
    program = program_of(words)
    if program in ("manage.py", "django-admin"):
        check_management_command(words[words.index(program) + 1:] if program in words else words[2:], where)
    elif program in ("./runtests", "tox"):
        unknown = {env for env in _tox_envs(words) if env not in tox_environments()}
        assert not unknown, f"{where}: {text}: no tox environment {sorted(unknown)}"
    elif program == "example_project/run":
        assert os.access(ROOT / program, os.X_OK), f"{where}: {program} is not an executable script"
    else:
        assert program in NOT_CHECKED, (
            f"{where}: `{text}`: check this command here, or list {program!r} in NOT_CHECKED with the reason")


def _tox_envs(words: list[str]) -> list[str]:
    return [env for flag, value in itertools.pairwise(words) if flag == "-e" for env in value.split(",")]


def check_management_command(argv: list[str], where: str) -> None:
    name, args = argv[0], argv[1:]
    commands = dict(get_commands())
    commands.update({path.stem: "courses" for path in EXAMPLE_COMMANDS.glob("[!_]*.py")})
    assert name in commands, f"{where}: there is no management command {name!r}"
    if commands[name] == "courses":
        return  # the example project's own (seed_demo): not installed in the test settings
    command = load_command_class(commands[name], name)
    if args == ["--help"] or (not args and where.endswith("(inline)")):
        return  # a mention of the command in the prose, not a command line
    parser = command.create_parser("manage.py", name)
    parser.parse_args(args)  # a documented option that does not exist raises CommandError


def test_an_option_that_does_not_exist_would_be_caught():
    with pytest.raises(Exception, match="unrecognized arguments: --older-then"):
        check_management_command(["apranova_reconcile", "--older-then", "30"], "here")


def test_a_command_that_does_not_exist_would_be_caught():
    with pytest.raises(AssertionError, match="no management command 'apranova_reconcil'"):
        check_management_command(["apranova_reconcil"], "here")


def test_tox_environments_are_read_from_tox_ini():
    assert {"py311-django52-sqlite", "py313-django61-postgres", "docs", "browser", "lint"} <= tox_environments()
    assert Path(ROOT / "tox.ini").is_file()
