"""Admin: payments, their refunds and disputes, webhook events and the users' Stripe Customers
are read-only records of what Stripe did; coupons are staff's own (``coupons``), under Django's
model permissions.

Nobody adds, edits or deletes a record by hand. The actions ask Stripe again (a payment),
replay what Stripe sent (an event) or refund at Stripe (a payment, through
``services.refund_payment`` after a confirmation page). Asking again and replaying need the
model's change permission; refunding needs ``refund_payment`` ("Can refund payments"), and
staff without it are never offered it. Forgetting a customer's saved cards at Stripe needs
``forget_payment_methods`` ("Can forget a customer's saved cards"); the cards themselves are
read from Stripe, never stored. Staff with view permission only may look, not act.

Django's admin autodiscovery imports this package, which registers each model's admin and
adds an "Analytics" entry under Payments on the admin's home page (``add_analytics_entry``).
"""

from django.contrib import admin

from ..models import Coupon, Customer, Dispute, Payment, PendingCustomerDeletion, Refund, WebhookEvent
from .analytics import add_analytics_entry
from .coupons import CouponAdmin
from .customers import CustomerAdmin, PendingCustomerDeletionAdmin
from .disputes import DisputeAdmin
from .events import WebhookEventAdmin
from .payments import PaymentAdmin
from .refunds import RefundAdmin

admin.site.register(Payment, PaymentAdmin)
admin.site.register(Refund, RefundAdmin)
admin.site.register(Dispute, DisputeAdmin)
admin.site.register(WebhookEvent, WebhookEventAdmin)
admin.site.register(Coupon, CouponAdmin)
admin.site.register(Customer, CustomerAdmin)
admin.site.register(PendingCustomerDeletion, PendingCustomerDeletionAdmin)
# "Analytics" under Payments on the admin's home page, for staff who may see it.
add_analytics_entry(admin.site)
