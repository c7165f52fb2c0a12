"""A custom user model, so the suite proves the package never assumes ``auth.User``."""

from django.contrib.auth.models import AbstractUser
from django.db import models


class Member(AbstractUser):
    email = models.EmailField(unique=True)

    EMAIL_FIELD = "email"
