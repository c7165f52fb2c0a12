from django.urls import path

from . import views

urlpatterns = [
    path("", views.course_list, name="course-list"),
    path("my-courses/", views.my_courses, name="my-courses"),
    path("my-courses/cards/<str:payment_method>/remove/", views.remove_card, name="remove-card"),
    path("courses/<slug:slug>/checkout/", views.checkout, name="checkout"),
    path("courses/<slug:slug>/paid/", views.checkout_paid, name="checkout-paid"),
    path("checkout/tax/<str:payment_intent>/", views.checkout_tax, name="checkout-tax"),
]
