"""mutation/changed.py (tox -e mutation-changed): which functions a diff changed, and which of
them the mutation scope counts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from mutation.changed import changed_functions, changed_lines, function_spans, in_scope

SOURCE = '''\
"""A module."""

LIMIT = 3


def first(value):
    return value + 1


@decorated
def second(value):
    def inner():
        return value * 2

    return inner()


class Thing:
    size = 2

    def method(self):
        return self.size

    async def other(self):
        return None
'''

DIFF = """\
diff --git a/src/django_apranova_payments/coupons.py b/src/django_apranova_payments/coupons.py
index 1111111..2222222 100644
--- a/src/django_apranova_payments/coupons.py
+++ b/src/django_apranova_payments/coupons.py
@@ -7 +7 @@ def first(value):
-    return value + 2
+    return value + 1
@@ -20,0 +21,2 @@ class Thing:
+    def method(self):
+        return self.size
@@ -30,2 +31,0 @@ class Thing:
-        return 1
-        return 2
diff --git a/src/django_apranova_payments/old.py b/src/django_apranova_payments/old.py
deleted file mode 100644
--- a/src/django_apranova_payments/old.py
+++ /dev/null
@@ -1,3 +0,0 @@
-x = 1
-y = 2
-z = 3
"""


def test_changed_lines_are_numbered_in_the_new_file_and_a_removal_is_the_gap_where_it_was():
    assert changed_lines(DIFF) == {"src/django_apranova_payments/coupons.py": {7, 21, 22, 31.5}}


def test_a_deleted_file_has_no_changed_lines():
    assert "src/django_apranova_payments/old.py" not in changed_lines(DIFF)


def test_function_spans_are_mutmuts_names_from_the_first_decorator_to_the_last_line():
    assert function_spans(SOURCE) == {
        "x_first": (6, 7),
        "x_second": (10, 15),
        "xǁThingǁmethod": (21, 22),
        "xǁThingǁother": (24, 25),
    }


@pytest.mark.parametrize(
    ("lines", "functions"),
    [
        ({7}, {"x_first"}),
        ({10}, {"x_second"}),  # the decorator
        ({13}, {"x_second"}),  # a nested function is part of its outer one
        ({22, 25}, {"xǁThingǁmethod", "xǁThingǁother"}),
        ({3}, set()),  # a module constant: mutmut mutates no module-level code
        ({19}, set()),  # a class attribute
        ({8}, set()),  # a blank line between two functions
        ({6.5}, {"x_first"}),  # lines removed inside first
        ({7.5}, {"x_first"}),  # removed after its last line: its last statements, perhaps
        ({9.5}, {"x_second"}),  # removed just before its decorator: another decorator, perhaps
        ({8.5}, set()),  # lines removed between two functions, away from both
    ],
)
def test_changed_functions_are_those_containing_a_changed_line(lines, functions):
    assert changed_functions(SOURCE, lines) == functions


def test_only_the_scopes_files_and_the_functions_its_units_count_are_kept():
    payments = "src/django_apranova_payments/models/payments.py"
    sources = {
        payments: "class PaymentQuerySet:\n    def for_user(self, user):\n        return 1\n\n"
        "    def paid(self):\n        return 2\n",
        "src/django_apranova_payments/gateway.py": "def call():\n    return 1\n",
    }
    changes = {payments: {3, 6}, "src/django_apranova_payments/gateway.py": {2}, "docs/index.md": {1}}
    assert in_scope(changes, read=sources.__getitem__) == {
        payments: ["django_apranova_payments.models.payments.xǁPaymentQuerySetǁfor_user__mutmut_*"]
    }


def test_a_change_outside_every_counted_function_leaves_nothing_to_mutate():
    coupons = "src/django_apranova_payments/models/coupons.py"
    source = "def normalize_code(value):\n    return value\n\n\nclass Coupon:\n    def clean(self):\n        pass\n"
    assert in_scope({coupons: {7}}, read={coupons: source}.__getitem__) == {}
    assert in_scope({coupons: {2}}, read={coupons: source}.__getitem__) == {
        coupons: ["django_apranova_payments.models.coupons.x_normalize_code__mutmut_*"]
    }


GIT = shutil.which("git")


@pytest.mark.skipif(GIT is None, reason="needs git")
def test_a_real_git_diff_names_the_changed_method(tmp_path: Path):
    path = tmp_path / "src" / "django_apranova_payments" / "api" / "throttling.py"
    path.parent.mkdir(parents=True)
    path.write_text(SOURCE.replace("Thing", "PaymentRateThrottle"))

    def git(*args: str) -> str:
        return subprocess.run(  # noqa: S603 - git with the test's own arguments
            [str(GIT), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "base")
    path.write_text(path.read_text().replace("return self.size", "return self.size + 1"))
    changes = changed_lines(git("diff", "-U0", "--no-color", "HEAD"))
    read = lambda name: (tmp_path / name).read_text()  # noqa: E731
    assert in_scope(changes, read=read) == {
        "src/django_apranova_payments/api/throttling.py": [
            "django_apranova_payments.api.throttling.xǁPaymentRateThrottleǁmethod__mutmut_*"
        ]
    }
