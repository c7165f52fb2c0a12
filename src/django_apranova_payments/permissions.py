"""DRF permission classes for the staff endpoints: least privilege by default.

``is_staff`` alone opens the admin's door, not its rooms: a blog editor is staff too. The
refund endpoint asks for ``apranova_payments.refund_payment`` ("Can refund payments") and the
analytics endpoint for ``apranova_payments.view_payment``, as the admin's refund action and
Analytics page do. Superusers hold every permission, so they keep everything.

Used by default (``REFUND_PERMISSION_CLASSES``, ``ANALYTICS_PERMISSION_CLASSES``); a host that
sets its own classes may list these beside them::

    "REFUND_PERMISSION_CLASSES": ["django_apranova_payments.permissions.CanRefundPayments"],
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

#: The permissions, as ``user.has_perm`` takes them.
REFUND_PAYMENT = "apranova_payments.refund_payment"
#: The admin's "forget saved cards" action (a permission of ``Customer``).
FORGET_PAYMENT_METHODS = "apranova_payments.forget_payment_methods"
VIEW_PAYMENT = "apranova_payments.view_payment"


class StaffWithPermission(BasePermission):
    """An active staff member holding ``permission`` (directly, through a group, or as a
    superuser)."""

    permission = ""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_active and user.is_staff and user.has_perm(self.permission))


class CanRefundPayments(StaffWithPermission):
    """Staff holding ``refund_payment``: the refund endpoint's default."""

    permission = REFUND_PAYMENT


class CanViewPayments(StaffWithPermission):
    """Staff holding ``view_payment``: the analytics endpoint's default."""

    permission = VIEW_PAYMENT


__all__ = ["REFUND_PAYMENT", "VIEW_PAYMENT", "CanRefundPayments", "CanViewPayments", "StaffWithPermission"]
