"""WSGI entry point of the load-test server (``gunicorn tests.load.wsgi:application``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.load.server_settings")

application = get_wsgi_application()
