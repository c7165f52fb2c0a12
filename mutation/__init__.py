"""Mutation testing of the money and security modules (``tox -e mutation``).

See docs/explanation/testing.md and ``run.py``.
"""
