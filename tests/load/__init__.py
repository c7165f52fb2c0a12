"""Concurrency through a real server: gunicorn worker processes on a fresh PostgreSQL database."""
