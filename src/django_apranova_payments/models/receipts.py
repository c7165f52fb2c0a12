"""``ReceiptSequence``: the installation's receipt numbers, one row per sequence, taken under
its row lock in the transaction that makes a payment succeed (see ``receipts``)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ReceiptSequence(models.Model):
    """The last receipt number given in a sequence. A number is taken by locking this row in
    the transaction that stores it on the payment, so a rollback returns it: the numbers are
    gap-free and never reused."""

    name = models.CharField(_("name"), max_length=40, primary_key=True)
    last = models.PositiveBigIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("receipt sequence")
        verbose_name_plural = _("receipt sequences")

    def __str__(self) -> str:
        return f"{self.name}: {self.last}"
