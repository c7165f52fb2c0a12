"""The payment views keep the import path the documentation names, ``django_apranova_payments.views``,
since they live in ``api.views``."""

from django_apranova_payments import views
from django_apranova_payments.api import views as api_views


def test_the_views_are_importable_from_their_documented_path():
    assert views.__all__
    assert all(getattr(views, name) is getattr(api_views, name) for name in views.__all__)
