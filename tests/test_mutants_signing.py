"""The signing secret never shows its value (survivor of the mutation run,
docs/explanation/testing.md)."""

from __future__ import annotations

from django_apranova_payments.signing import SigningSecret


def test_a_signing_secret_shows_a_fixed_mask_never_its_value():
    secret = SigningSecret("whsec_do_not_print_me")

    assert repr(secret) == str(secret) == f"{secret!r}" == "SigningSecret('********')"
    assert repr([secret]) == "[SigningSecret('********')]"
