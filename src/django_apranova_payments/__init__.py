"""Stripe one-time payments for Django: PaymentIntents, a REST API, signed webhooks and signals."""

__version__ = "0.1.0.dev0"
