"""Whose Stripe Customer is whose: the mark a Customer is made with, the idempotency key that
makes it once, and the ownership check a saved card must pass before anyone pays with it.

A Customer this installation makes for a user carries ``apranova_user`` and an
``apranova_mark`` (``metadata.own_metadata`` of kind ``CUSTOMER``, bound to the mode). A
PaymentMethod is the caller's only when Stripe says it is attached to a Customer whose mark
verifies for the caller in the gateway's mode: another user's card, a card of another site
on the same Stripe account, or a card attached to no one, are all refused alike.
"""

from __future__ import annotations

from django.utils.crypto import salted_hmac
from django.views.decorators.debug import sensitive_variables

from .metadata import CUSTOMER, customer_binding, own_metadata, verified_owner
from .stripe_data import CustomerData, PaymentMethodData

_KEY_SALT = "django_apranova_payments.customers.idempotency"


@sensitive_variables()  # own_metadata reads SECRET_KEY
def customer_metadata(user_pk: object, livemode: bool) -> dict[str, str]:
    """The metadata a new Customer of ``user_pk`` is created with: the user and the mark."""
    return own_metadata(
        user_pk=user_pk, amount_minor=0, currency="", host=customer_binding(livemode), kind=CUSTOMER
    )


def is_own_customer(customer: CustomerData, user_pk: object, livemode: bool) -> bool:
    """Whether this installation made ``customer`` for ``user_pk`` in this mode."""
    if customer.livemode != livemode:
        return False
    owner = verified_owner(customer.metadata, 0, "", kind=CUSTOMER, bound=customer_binding(livemode))
    return owner is not None and owner.user_pk == str(user_pk)


def owns(method: PaymentMethodData, user_pk: object, livemode: bool) -> bool:
    """Whether ``method`` (retrieved with its Customer expanded) is a saved card of
    ``user_pk``'s: attached to a Customer this installation made for them, in this mode."""
    customer = method.customer
    return isinstance(customer, CustomerData) and method.livemode == livemode and is_own_customer(
        customer, user_pk, livemode
    )


@sensitive_variables()  # keyed from SECRET_KEY
def customer_idempotency_key(user_pk: object, livemode: bool, email: str | None, replacing: str = "") -> str:
    """Stripe's idempotency key for creating ``user_pk``'s Customer: the same for every
    concurrent first purchase (so Stripe makes one Customer and answers all of them with it),
    different for another installation on the same account (keyed from ``SECRET_KEY``), for
    another e-mail address, and for the Customer that replaces a missing one (``replacing``)."""
    message = "\0".join([str(user_pk), "live" if livemode else "test", email or "", replacing])
    return f"apranova-customer-{salted_hmac(_KEY_SALT, message, algorithm='sha256').hexdigest()}"
