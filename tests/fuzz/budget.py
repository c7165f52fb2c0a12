"""How many examples the fuzzers generate. The full budget (5,000+ requests) runs in one tox
environment (``APRANOVA_FUZZ_FULL=1``, set for py312-django60-postgres); the others run a
smaller sample so the whole matrix stays quick."""

import os

FULL = os.environ.get("APRANOVA_FUZZ_FULL") == "1"
WEBHOOK_EXAMPLES = 1000 if FULL else 100
API_EXAMPLES = 250 if FULL else 30
