"""The simulator's one rule: it never runs with ``DEBUG`` off, under any server."""

from __future__ import annotations

import logging

from django.conf import settings

from .. import exceptions

logger = logging.getLogger("django_apranova_payments.simulator.gateway")


def refuse_without_debug() -> None:
    """Raise ``GatewayConfigurationError`` unless ``DEBUG`` is on: the simulator takes
    payments without money, so it never runs in production, under any server."""
    if not settings.DEBUG:
        logger.error(
            "The offline payment simulator refused to run because DEBUG is False: set "
            "APRANOVA_PAYMENTS['GATEWAY'] to the Stripe gateway (the default) in production, "
            "or turn DEBUG on for development."
        )
        raise exceptions.GatewayConfigurationError()
