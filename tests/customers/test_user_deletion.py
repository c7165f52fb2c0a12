"""Deleting a user deletes their Stripe Customer (and so their saved cards); when Stripe cannot
be reached, the deletion waits in PendingCustomerDeletion for apranova_process_events."""

from __future__ import annotations

from io import StringIO

import requests
from django.core.management import call_command

from django_apranova_payments.models import Customer, PendingCustomerDeletion
from django_apranova_payments.services.customers import customer_for
from tests.factories import UserFactory


def test_deleting_a_user_deletes_their_customer_at_stripe(user, stripe_mock, saved_card,
                                                          django_capture_on_commit_callbacks):
    customer = customer_for(user).stripe_customer

    with django_capture_on_commit_callbacks(execute=True):
        user.delete()

    assert customer not in stripe_mock.customers
    assert stripe_mock.payment_methods[saved_card["id"]]["customer"] is None
    assert not Customer.objects.exists() and not PendingCustomerDeletion.objects.exists()


def test_a_user_without_a_customer_is_deleted_without_asking_stripe(user, stripe_mock,
                                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        user.delete()

    assert not stripe_mock.calls and not PendingCustomerDeletion.objects.exists()


def test_stripe_away_queues_the_deletion_and_the_command_retries_it(user, stripe_mock,
                                                                    django_capture_on_commit_callbacks):
    customer = customer_for(user).stripe_customer
    stripe_mock.fail_next("delete_customer", exception=requests.ConnectionError("Stripe is away"))

    with django_capture_on_commit_callbacks(execute=True):
        user.delete()

    pending = PendingCustomerDeletion.objects.get()
    assert (pending.stripe_customer, pending.attempts) == (customer, 1) and customer in stripe_mock.customers

    out = StringIO()
    call_command("apranova_process_events", stdout=out)

    assert customer not in stripe_mock.customers and not PendingCustomerDeletion.objects.exists()
    assert "Deleted 1 Stripe Customer(s) of deleted users" in out.getvalue()


def test_a_customer_deleted_meanwhile_counts_as_deleted(user, stripe_mock, django_capture_on_commit_callbacks):
    customer = customer_for(user).stripe_customer
    stripe_mock.fail_next("delete_customer", status=503)
    with django_capture_on_commit_callbacks(execute=True):
        user.delete()
    stripe_mock.delete_in_dashboard(customer)

    call_command("apranova_process_events", stdout=StringIO())

    assert not PendingCustomerDeletion.objects.exists()


def test_the_user_deletion_commits_with_the_queue_even_when_stripe_is_away(db, stripe_mock,
                                                                           django_capture_on_commit_callbacks):
    users = [UserFactory(), UserFactory()]
    for user in users:
        customer_for(user)
    stripe_mock.fail_next("delete_customer", status=500, times=2)

    with django_capture_on_commit_callbacks(execute=True):
        type(users[0]).objects.filter(pk__in=[user.pk for user in users]).delete()

    assert PendingCustomerDeletion.objects.count() == 2 and not Customer.objects.exists()
    assert not type(users[0]).objects.filter(pk__in=[user.pk for user in users]).exists()
