"""The example in Hindi: the reader's language (the switcher's cookie, else the browser's
Accept-Language) chooses the pages' language, and the example's catalogues leave no string
English."""

from __future__ import annotations

import gettext
import json
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import TestCase
from django.urls import reverse

from django_apranova_payments.models import Coupon

from .models import Course
from .tests import OFFLINE, PASSWORD

LC_MESSAGES = Path(__file__).resolve().parent / "locale" / "hi" / "LC_MESSAGES"


def po_entries(path: Path) -> list[tuple[str, str, set[str]]]:
    """(msgid, msgstr, flags) of each entry of a .po but its header."""
    entries = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8").strip()):
        fields: dict[str, str] = {}
        flags: set[str] = set()
        current = ""
        for line in block.splitlines():
            if line.startswith("#,"):
                flags |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith(("msgid ", "msgstr ")):
                current, _, quoted = line.partition(" ")
                fields[current] = json.loads(quoted)
            elif line.startswith('"'):
                fields[current] += json.loads(line)
        if fields.get("msgid"):
            entries.append((fields["msgid"], fields.get("msgstr", ""), flags))
    return entries


def placeholders(text: str) -> Counter[str]:
    return Counter(re.findall(r"%\(\w+\)s|<[^>]+>", text))


@OFFLINE
class HindiPagesTests(TestCase):
    def setUp(self) -> None:
        self.course = Course.objects.create(title="Django Basics", slug="django-basics", price=Decimal("19.99"),
                                            currency="usd")
        Course.objects.create(title="Git Basics", slug="git-basics", price=Decimal("0.00"), currency="usd")
        Course.objects.create(title="Data Science", slug="data-science", price=Decimal("499999.00"), currency="inr")
        Coupon.objects.create(code="WELCOME10", percent_off=Decimal("10"), max_redemptions_per_user=1)
        self.user = get_user_model().objects.create_user("student", password=PASSWORD)

    def page(self, name: str, *args: str, **headers: str) -> str:
        response = self.client.get(reverse(name, args=args), **headers)
        self.assertEqual(response.status_code, 200)
        return response.content.decode()

    def assert_hindi(self, html: str, hindi: list[str], english: list[str]) -> None:
        self.assertIn('<html lang="hi">', html)
        for text in hindi:
            self.assertIn(text, html)
        for text in english:
            self.assertNotIn(text, html)

    def test_a_browser_asking_for_hindi_gets_the_course_list_in_hindi(self):
        html = self.page("course-list", HTTP_ACCEPT_LANGUAGE="hi")

        self.assert_hindi(
            html,
            ["पाठ्यक्रम", "आज़माने के लिए कूपन", "Django Basics में नामांकन करें", "निःशुल्क", "लॉग इन",
             "भुगतान सिम्युलेटर।", ", प्रति छात्र एक बार", "$19.99", "₹4,99,999.00"],  # Indian grouping
            [">Courses<", "Coupons to try", "Enroll in", ">Free<", ">Log in<", "Payment simulator", "per student",
             " off", "₹499,999.00"],
        )

    def test_without_a_choice_the_pages_are_english(self):
        html = self.page("course-list")

        self.assertIn('<html lang="en">', html)
        self.assertIn("Enroll in Django Basics", html)
        self.assertIn("₹499,999.00", html)
        self.assertNotIn("पाठ्यक्रम", html)

    def test_the_checkout_and_my_courses_are_in_hindi(self):
        self.client.force_login(self.user)

        checkout = self.page("checkout", self.course.slug, HTTP_ACCEPT_LANGUAGE="hi")
        self.assert_hindi(
            checkout,
            ["कूपन कोड", "लागू करें", "यहाँ भुगतान करें", "$19.99 का भुगतान करें", "Stripe के पेज पर जाएँ",
             "यह कार्ड अगली बार के लिए सहेजें", reverse("javascript-catalog")],
            ["Coupon code", ">Apply<", "Pay here", "Pay $19.99", "Go to Stripe", "Save this card"],
        )
        mine = self.page("my-courses", HTTP_ACCEPT_LANGUAGE="hi")
        self.assert_hindi(mine, ["मेरे पाठ्यक्रम", "सहेजे गए कार्ड", "लॉग आउट"],
                          ["My courses", "Saved cards", "Log out", "You are not enrolled"])

    def test_the_scripts_strings_come_in_hindi_from_the_catalogue(self):
        script = self.client.get(reverse("javascript-catalog"), HTTP_ACCEPT_LANGUAGE="hi").content.decode()

        self.assertIn(json.dumps("Payment succeeded."), script)
        self.assertIn("\\u092d\\u0941\\u0917\\u0924\\u093e\\u0928 \\u0938\\u092b\\u0932", script)  # भुगतान सफल
        # the simulator's card form, from the package's catalogue
        self.assertIn(json.dumps("Card number"), script)
        self.assertIn(json.dumps("कार्ड नंबर"), script)

    def test_the_switcher_sets_the_language_and_marks_it(self):
        html = self.page("course-list")
        self.assertIn(f'action="{reverse("set_language")}"', html)
        self.assertRegex(html, r'value="en" lang="en" aria-current="true">English<')

        response = self.client.post(reverse("set_language"), {"language": "hi", "next": reverse("course-list")})

        self.assertRedirects(response, reverse("course-list"), fetch_redirect_response=False)
        self.assertEqual(response.cookies[settings.LANGUAGE_COOKIE_NAME].value, "hi")
        html = self.page("course-list", HTTP_ACCEPT_LANGUAGE="en")  # the choice wins over the browser
        self.assertIn('<html lang="hi">', html)
        self.assertRegex(html, r'value="hi" lang="hi" aria-current="true">हिन्दी<')
        self.assertIn('value="en" lang="en">English<', html)  # each language in its own name

    def test_a_read_only_admin_page_has_its_title_and_close_button_in_hindi(self):
        # Django's own Hindi catalogue leaves "View %s" and "Close" English; the example's has them.
        staff = get_user_model().objects.create_user("viewer", password=PASSWORD, is_staff=True)
        staff.user_permissions.add(Permission.objects.get(codename="view_course"))
        self.client.force_login(staff)

        html = self.page("admin:courses_course_change", str(self.course.pk), HTTP_ACCEPT_LANGUAGE="hi")

        self.assertIn("देखें", html)
        self.assertIn("बंद करें", html)
        self.assertNotIn(">Close<", html)
        self.assertNotRegex(html, r"<h1>View ")


class CatalogueTests(TestCase):
    def test_every_string_of_the_example_has_its_hindi_and_the_mo_files_are_compiled(self):
        for domain in ("django", "djangojs"):
            entries = po_entries(LC_MESSAGES / f"{domain}.po")
            with (LC_MESSAGES / f"{domain}.mo").open("rb") as mo:
                compiled = gettext.GNUTranslations(mo)
            self.assertGreater(len(entries), 20, domain)
            for msgid, msgstr, flags in entries:
                with self.subTest(domain=domain, msgid=msgid):
                    self.assertTrue(msgstr)
                    self.assertNotIn("fuzzy", flags)
                    self.assertEqual(placeholders(msgstr), placeholders(msgid))
                    self.assertEqual(compiled.gettext(msgid), msgstr)
