"""The header: every entry (the links and the Log out button) is styled alike, by one class,
and the page you are on is marked as current."""

from __future__ import annotations

from html.parser import HTMLParser

from django.contrib.auth import get_user_model
from django.test import TestCase
from django.urls import reverse

from .tests import OFFLINE, PASSWORD


class _Nav(HTMLParser):
    """The clickable entries of the header's ``<nav>``: (tag, attributes, text)."""

    def __init__(self) -> None:
        super().__init__()
        self.inside, self.open, self.entries = False, False, []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "nav":
            self.inside = True
        elif self.inside and tag in ("a", "button"):
            self.entries.append([tag, dict(attrs), ""])
            self.open = True

    def handle_endtag(self, tag: str) -> None:
        self.inside = self.inside and tag != "nav"
        self.open = self.open and tag not in ("a", "button")

    def handle_data(self, data: str) -> None:
        if self.open and data.strip():
            self.entries[-1][2] += data.strip()


def entries(html: str) -> list[list]:
    parser = _Nav()
    parser.feed(html)
    return parser.entries


@OFFLINE
class HeaderTests(TestCase):
    def test_the_links_and_log_out_share_one_class_and_the_current_page_is_marked(self):
        user = get_user_model().objects.create_user("student", password=PASSWORD)
        self.client.force_login(user)

        found = entries(self.client.get(reverse("my-courses")).content.decode())

        self.assertEqual([(tag, text) for tag, _, text in found],
                         [("a", "Courses"), ("a", "My courses"), ("button", "Log out")])
        self.assertTrue(all(attrs.get("class") == "nav-link" for _, attrs, _ in found), found)
        self.assertEqual([attrs.get("aria-current") for _, attrs, _ in found], [None, "page", None])

    def test_logged_out_the_header_offers_log_in_alike(self):
        found = entries(self.client.get(reverse("course-list")).content.decode())

        self.assertEqual([(tag, text, attrs.get("class"), attrs.get("aria-current")) for tag, attrs, text in found],
                         [("a", "Courses", "nav-link", "page"), ("a", "Log in", "nav-link", None)])
