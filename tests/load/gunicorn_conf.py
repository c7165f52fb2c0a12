"""gunicorn settings for the load tests and benchmarks (the rest is on the command line).

gunicorn ignores names it does not know, so older releases simply skip these.
"""

# Newer gunicorn opens a control socket in ~/.gunicorn by default; several servers of the
# same suite (and other engineers' runs) would fight over it.
control_socket_disable = True
# Heartbeat files in memory, not on a possibly slow /tmp.
worker_tmp_dir = "/dev/shm"  # noqa: S108 - heartbeat files, nothing secret
