"""Benchmarks of django-apranova-payments (scripts, not tests): see README.md."""
