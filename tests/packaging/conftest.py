# The scripts here run outside pytest (tox -e packaging): never collect them.
collect_ignore = ["check_dist.py", "smoke.py"]
