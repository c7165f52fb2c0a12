"""README's API table names every endpoint the package's URLs route, so it cannot fall behind
as endpoints are added (refunds, analytics, saved cards and Checkout did)."""

from __future__ import annotations

import re
from pathlib import Path

from django.urls import URLPattern

from django_apranova_payments import urls

README = Path(__file__).resolve().parents[2] / "README.md"
NOT_ENDPOINTS = {"missing-slash"}  # the JSON 404 for a URL written without its slash


def shown(pattern: URLPattern) -> str:
    """The route as the table writes it: ``<payment_intent>/cancel/``."""
    route = str(pattern.pattern)
    route = route.removeprefix("^").removesuffix("$")
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", route)
    return re.sub(r"<str:(\w+)>", r"<\1>", route)


def test_every_endpoint_is_in_the_readme_api_table():
    table = README.read_text().split("## The API", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(?:GET|POST|PUT|PATCH|DELETE) ([^`]*)` \|", table, re.M)
    routes = {shown(p) for p in urls.urlpatterns if p.name not in NOT_ENDPOINTS}

    assert routes - {row.strip() for row in rows} == set()
    assert routes - {""} and len(rows) >= len(routes)
