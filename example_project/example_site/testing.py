import logging
from typing import Any

from django.test.runner import DiscoverRunner
from django.test.utils import override_settings


class DebugRunner(DiscoverRunner):
    """The test runner with ``DEBUG`` on, as the example runs by default: the offline
    simulator refuses to run with it off (at run time, and in the system check
    ``apranova_payments.E005``).
    Also: a fast password hasher, and only errors in the log."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["debug_mode"] = True
        super().__init__(*args, **kwargs)
        self._fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])

    def setup_test_environment(self, **kwargs: Any) -> None:
        super().setup_test_environment(**kwargs)
        self._fast.enable()
        logging.disable(logging.WARNING)

    def teardown_test_environment(self, **kwargs: Any) -> None:
        logging.disable(logging.NOTSET)
        self._fast.disable()
        super().teardown_test_environment(**kwargs)
