"""An offline stand-in for Stripe, for development and demos: no account, no network.

It is a Django app of its own (label ``apranova_simulator``, its own migrations), added
only where it is used, so a production install has no simulator table, URL or import. In
development, add it after the package and run ``migrate``::

    INSTALLED_APPS = [..., "django_apranova_payments", "django_apranova_payments.simulator"]

select it with ``APRANOVA_PAYMENTS["GATEWAY"] =
"django_apranova_payments.simulator.gateway.SimulatorGateway"`` and include its URLs (the
fake card form's API and the 3-D Secure page)::

    path("simulator/", include("django_apranova_payments.simulator.urls"))

Without the app in ``INSTALLED_APPS``, importing the gateway raises ``ImproperlyConfigured``
saying so (and ``manage.py check`` reports it as ``E006``).

* ``gateway``: ``SimulatorGateway``, the package's gateway interface over PaymentIntents,
  refunds and disputes stored in the database (``models.SimulatedPaymentIntent``,
  ``SimulatedRefund``, ``SimulatedDispute``), so the state survives restarts and is shared
  by every process.
* ``cards``: the test cards and what each one does (``4000 0000 0000 0259`` succeeds, then
  is disputed).
* ``sender``: signed ``payment_intent.*``, ``refund.*``, ``charge.refunded`` and
  ``charge.dispute.*`` webhook events, posted after the commit to the package's own webhook
  endpoint (``SIMULATOR_WEBHOOK_URL``), on loopback only.
* ``admin``: what staff do in Stripe's Dashboard: close a dispute as won or lost, fail a
  refund, refund without the package.
* ``views`` / ``urls``: what Stripe.js and Stripe's 3-D Secure page do for a browser:
  confirm with a card, authenticate, and ``simulator.js`` (an ``ApranovaSimulator`` object
  shaped like the parts of Stripe.js a checkout page uses).

It refuses to run whenever ``DEBUG`` is off, read on every call and under any server (checks
do not run under gunicorn or uwsgi): the gateway raises ``GatewayConfigurationError`` (a
generic 500) and logs why, the views answer 404 and touch nothing, its admin disappears
(403), and the sender posts no event. The system check ``apranova_payments.E005`` says the
same to ``manage.py``. Its views also answer 404 unless it is the configured gateway.
"""
