"""Settings of ``benchmarks/webhook_ingest.py --mode task``: the benchmarks' settings in task
mode on the engine ``APRANOVA_TASK_ENGINE`` names (``tests/load/task_settings.py``)."""

from tests.load.task_settings import engine_settings

from benchmarks.settings import *  # noqa: F403
from benchmarks.settings import APRANOVA_PAYMENTS as _PAYMENTS
from benchmarks.settings import INSTALLED_APPS as _APPS

globals().update(engine_settings(_APPS, _PAYMENTS))
