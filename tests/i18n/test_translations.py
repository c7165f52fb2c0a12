"""Translations: API errors come back in Hindi with ``Accept-Language: hi``, and the shipped
``hi`` catalogue is complete, current and compiled.

System check messages (``manage.py check``) are translated too: in Hindi under ``hi``.

The catalogue tests run Django's ``makemessages`` on a copy of the package (the work tree is
never touched) and GNU gettext's ``msgfmt``; they are skipped only where gettext is not
installed.
"""

from __future__ import annotations

import gettext
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

import django_apranova_payments
from django_apranova_payments.checks import check_settings
from django_apranova_payments.models import Payment
from tests.factories import PaymentFactory, UserFactory, staff_holding

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(django_apranova_payments.__file__).resolve().parent
CATALOGUE = PACKAGE / "locale" / "hi" / "LC_MESSAGES"
PO, MO = CATALOGUE / "django.po", CATALOGUE / "django.mo"

needs_gettext = pytest.mark.skipif(
    shutil.which("xgettext") is None or shutil.which("msgfmt") is None,
    reason="GNU gettext (xgettext, msgfmt) is not installed: apt-get install gettext",
)

HINDI = re.compile("[\u0900-\u097f]")  # Devanagari


@pytest.fixture(autouse=True)
def _english_again() -> Any:
    """LocaleMiddleware leaves the last request's language active in this thread."""
    yield
    translation.activate("en-us")


def in_hindi(msgid: str, **params: Any) -> str:
    """``msgid`` as the shipped catalogue translates it (it must translate it)."""
    with translation.override("hi"):
        text = translation.gettext(msgid)
    assert text != msgid, f"no Hindi translation of {msgid!r}"
    assert HINDI.search(text), text
    return text % params if params else text


def hi_and_en(send: Any) -> tuple[Any, Any]:
    return send(HTTP_ACCEPT_LANGUAGE="hi"), send()


# -- (a) real API errors, in Hindi and in English -------------------------------------------------


@pytest.mark.django_db
def test_a_field_error_of_create_payment_is_in_hindi(stripe_mock):
    api = APIClient()
    api.force_authenticate(UserFactory())
    url = reverse("apranova_payments:create-payment")

    hindi, english = hi_and_en(lambda **headers: api.post(
        url, data=json.dumps({"amount": "0"}), content_type="application/json", **headers))

    assert (hindi.status_code, english.status_code) == (400, 400), hindi.content
    assert hindi.json() == {"amount": [in_hindi("Amount must be greater than zero.")]}
    assert english.json() == {"amount": ["Amount must be greater than zero."]}
    assert hindi["Content-Language"] == "hi"
    assert stripe_mock.calls == []


@pytest.mark.django_db
def test_the_json_404_of_a_missing_slash_is_in_hindi():
    url = reverse("apranova_payments:create-payment").rstrip("/")

    hindi, english = hi_and_en(lambda **headers: APIClient().get(url, **headers))

    assert (hindi.status_code, english.status_code) == (404, 404)
    assert hindi.json() == {"detail": in_hindi("Not found. The URL ends with a slash: %(url)s", url=f"{url}/")}
    assert english.json() == {"detail": f"Not found. The URL ends with a slash: {url}/"}


@pytest.mark.django_db
def test_a_409_refund_refusal_is_in_hindi(stripe_mock):
    payment = PaymentFactory(status=Payment.Status.PENDING)
    api = APIClient()
    api.force_authenticate(staff_holding("refund_payment"))
    url = reverse("apranova_payments:payment-refund", args=[payment.stripe_payment_intent])

    hindi, english = hi_and_en(lambda **headers: api.post(url, {}, format="json", **headers))

    assert (hindi.status_code, english.status_code) == (409, 409), hindi.content
    assert hindi.json()["detail"] == in_hindi("Only a payment that succeeded can be refunded.")
    assert english.json()["detail"] == "Only a payment that succeeded can be refunded."
    assert stripe_mock.calls_to("refund") == []


# -- a small .po reader ---------------------------------------------------------------------------


def read_po(path: Path) -> dict[tuple[str, str | None], dict[str, Any]]:
    """The entries of a .po, header and obsolete (``#~``) ones included: (msgid, msgid_plural)
    -> {"msgstr": [...], "flags": {...}, "obsolete": bool}."""
    entries: dict[tuple[str, str | None], dict[str, Any]] = {}
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8").strip()):
        fields: dict[str, str] = {}
        flags: set[str] = set()
        obsolete, current = False, ""
        for raw in block.splitlines():
            line = raw
            if line.startswith("#~"):
                obsolete, line = True, line[2:].strip()
            if line.startswith("#,"):
                flags |= {flag.strip() for flag in line[2:].split(",")}
                continue
            if not line or line.startswith("#"):
                continue
            match = re.fullmatch(r'(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?)\s+(".*")', line)
            if match:
                current = match.group(1)
                fields[current] = json.loads(match.group(2))
            else:
                fields[current] += json.loads(line)
        if "msgid" not in fields:
            continue
        msgstr = [fields[name] for name in sorted(f for f in fields if f.startswith("msgstr"))]
        key = (fields["msgid"], fields.get("msgid_plural"))
        entries[key] = {"msgstr": msgstr, "flags": flags, "obsolete": obsolete}
    return entries


PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|\{\w*\}")


def placeholders(text: str) -> Counter[str]:
    return Counter(PLACEHOLDER.findall(text))


def test_the_po_reader_reads_plurals_continuations_and_flags(tmp_path):
    po = tmp_path / "x.po"
    po.write_text('msgid ""\nmsgstr ""\n"Language: hi\\n"\n\n#, fuzzy, python-format\nmsgid "%(n)d a"\n'
                  'msgid_plural ""\n"%(n)d \\"b\\""\nmsgstr[0] "x"\nmsgstr[1] "y"\n\n#~ msgid "old"\n#~ msgstr "z"\n',
                  encoding="utf-8")

    entries = read_po(po)

    assert entries[("", None)]["msgstr"] == ["Language: hi\n"]
    assert entries[("%(n)d a", '%(n)d "b"')] == {"msgstr": ["x", "y"], "flags": {"fuzzy", "python-format"},
                                                 "obsolete": False}
    assert entries[("old", None)]["obsolete"]
    assert placeholders("%(n)d of {bytes} %s %%") == Counter({"%(n)d": 1, "{bytes}": 1, "%s": 1})


# -- (b) the committed catalogue is complete and current -------------------------------------------


def extract(tmp_path: Path, domain: str = "django") -> dict[tuple[str, str | None], dict[str, Any]]:
    """What ``makemessages -l hi -d <domain>`` finds in the package today, in a copy without its
    locale."""
    copy = tmp_path / "django_apranova_payments"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "locale"))
    (copy / "locale").mkdir()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT),
           "PYTHONWARNINGS": "ignore"}  # Python's own warnings; gettext's are what must not appear
    env.pop("PYTHONDEVMODE", None)
    done = subprocess.run(  # noqa: S603 - our own command, the domain is one of ours
        [sys.executable, "-m", "django", "makemessages", "-l", "hi", "-d", domain, "--no-obsolete"],
        cwd=copy, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr.lower(), done.stderr  # makemessages runs clean
    return read_po(copy / "locale" / "hi" / "LC_MESSAGES" / f"{domain}.po")


@needs_gettext
def test_the_hindi_catalogue_translates_every_message_of_the_package(tmp_path):
    extracted = {key for key in extract(tmp_path) if key[0]}
    committed = read_po(PO)
    shipped = {key for key, entry in committed.items() if key[0] and not entry["obsolete"]}

    untranslated = sorted(
        key for key in extracted
        if key not in committed or not all(committed[key]["msgstr"]) or len(committed[key]["msgstr"]) != (
            1 if key[1] is None else 2)
    )
    stale = sorted(shipped - extracted)
    how = ("run in src/django_apranova_payments: django-admin makemessages -l hi --no-obsolete "
           "(DJANGO_SETTINGS_MODULE=tests.settings), translate, then django-admin compilemessages")
    assert not untranslated, f"{len(untranslated)} message(s) without Hindi: {untranslated[:20]}; {how}"
    assert not stale, f"messages the code no longer has: {stale[:20]}; {how}"
    assert len(extracted) > 200


def test_the_hindi_catalogue_has_no_fuzzy_entry_and_keeps_every_placeholder():
    committed = read_po(PO)
    header = committed.pop(("", None))
    fuzzy = sorted(key for key, entry in committed.items() if "fuzzy" in entry["flags"])
    obsolete = sorted(key for key, entry in committed.items() if entry["obsolete"])
    wrong = []
    for (msgid, plural), entry in committed.items():
        for index, msgstr in enumerate(entry["msgstr"]):
            source = msgid if index == 0 or plural is None else plural
            if msgstr and placeholders(msgstr) != placeholders(source):
                wrong.append((source, msgstr))

    assert not fuzzy, fuzzy
    assert "fuzzy" not in header["flags"]
    assert not obsolete, obsolete
    assert not wrong, wrong
    head = header["msgstr"][0]
    for line in ("Project-Id-Version: django-apranova-payments", "Language: hi",
                 "Plural-Forms: nplurals=2; plural=(n != 1);", "charset=UTF-8"):
        assert line in head
    assert "FIRST AUTHOR" not in PO.read_text(encoding="utf-8")
    assert "LANGUAGE <LL@li.org>" not in head


# -- (c) the committed .mo is the .po compiled -----------------------------------------------------


@needs_gettext
def test_the_committed_mo_is_the_po_compiled(tmp_path):
    fresh = tmp_path / "django.mo"
    done = subprocess.run(  # noqa: S603 - our own command
        ["msgfmt", "--check-format", "-o", str(fresh), str(PO)],  # noqa: S607 - gettext from PATH
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr

    def catalog(path: Path) -> dict[Any, str]:
        with path.open("rb") as handle:
            return gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]

    committed, compiled = catalog(MO), catalog(fresh)
    assert committed == compiled, (
        "locale/hi/LC_MESSAGES/django.mo is not the .po compiled: run django-admin compilemessages "
        "in src/django_apranova_payments"
    )
    assert len(compiled) > 200


@needs_gettext
def test_the_simulator_script_catalogue_is_complete_and_compiled(tmp_path):
    # simulator.js's card form takes the page's gettext (Django's JavaScriptCatalog) when it has one.
    extracted = {key for key in extract(tmp_path, "djangojs") if key[0]}
    committed = {key: entry for key, entry in read_po(CATALOGUE / "djangojs.po").items() if key[0]}
    with (CATALOGUE / "djangojs.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)

    assert extracted == set(committed), "run makemessages -d djangojs -l hi --no-obsolete, translate, compile"
    for (msgid, _plural), entry in committed.items():
        assert entry["msgstr"][0] and "fuzzy" not in entry["flags"], msgid
        assert HINDI.search(entry["msgstr"][0]), msgid
        assert placeholders(entry["msgstr"][0]) == placeholders(msgid), msgid
        assert compiled.gettext(msgid) == entry["msgstr"][0], msgid
    assert len(committed) >= 10


# -- (d) system check messages, in Hindi and in English -------------------------------------------


def test_check_messages_are_in_hindi_under_hi_and_in_english_otherwise():
    config = {**settings.APRANOVA_PAYMENTS, "PRICE_RESOLVERS": "typo", "CURRENCIES": ["usd"],
              "DEFAULT_CURRENCY": "inr"}

    def ours() -> dict[str, tuple[str, str]]:
        with override_settings(APRANOVA_PAYMENTS=config):
            messages = check_settings()
        return {m.id: (m.msg, m.hint) for m in messages if m.id in ("apranova_payments.W003",
                                                                       "apranova_payments.E007")}

    with translation.override("hi"):
        hindi = ours()
    english = ours()

    setting = "APRANOVA_PAYMENTS['PRICE_RESOLVERS']"
    assert hindi["apranova_payments.W003"] == (
        in_hindi("%(setting)s is not a setting of django-apranova-payments; it is ignored.", setting=setting),
        in_hindi("Did you mean %(key)s?", key="'PRICE_RESOLVER'"),
    )
    assert hindi["apranova_payments.E007"] == (
        in_hindi("DEFAULT_CURRENCY %(currency)s is not one of CURRENCIES, so every request that names no "
                 "currency is refused.", currency="'inr'"),
        in_hindi("Add it to %(currencies)s or change %(default)s.",
                 currencies="APRANOVA_PAYMENTS['CURRENCIES']", default="APRANOVA_PAYMENTS['DEFAULT_CURRENCY']"),
    )
    assert setting in hindi["apranova_payments.W003"][0]  # setting names stay as they are
    assert english == {
        "apranova_payments.W003": (f"{setting} is not a setting of django-apranova-payments; it is ignored.",
                                   "Did you mean 'PRICE_RESOLVER'?"),
        "apranova_payments.E007": (
            "DEFAULT_CURRENCY 'inr' is not one of CURRENCIES, so every request that names no currency is "
            "refused.",
            "Add it to APRANOVA_PAYMENTS['CURRENCIES'] or change APRANOVA_PAYMENTS['DEFAULT_CURRENCY'].",
        ),
    }
