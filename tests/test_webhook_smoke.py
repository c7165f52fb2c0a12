from django_apranova_payments.models import Payment, WebhookEvent
from django_apranova_payments.testing import build_event, post_event


def test_smoke(client, payment):
    event = build_event(payment, "payment_intent.succeeded")
    r = post_event(client, event)
    assert r.status_code == 200, r.content
    assert r.json()["outcome"] == "processed"
    r = post_event(client, event)
    assert r.json()["outcome"] == "duplicate"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    stored = WebhookEvent.objects.get()
    assert stored.attempts == 1 and stored.outcome == "processed"
