"""Course ids as they travel in payment metadata: strict, so one id has one spelling.

``str.isdigit()`` and ``int()`` accept far more than ASCII digits ("٢" is 2 to ``int``,
"²" is a digit to ``isdigit`` but not to ``int``), so neither decides what a course id is.
"""

from __future__ import annotations

import re

#: One to eighteen ASCII digits: every such number fits a 64-bit primary key.
COURSE_ID = re.compile(r"[0-9]{1,18}")


def parse_course_id(value: object) -> int | None:
    """The course's primary key from a metadata value, or ``None`` when it is not one."""
    if not isinstance(value, str) or not COURSE_ID.fullmatch(value):
        return None
    return int(value)
