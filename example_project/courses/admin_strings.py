"""Two strings of Django's own admin that Django's Hindi catalogue leaves English: the title
of a read-only change page ("View %s", which read "View भुगतान") and its "Close" button.

Marked here so that ``makemessages`` keeps them in the example's catalogue, which
``LOCALE_PATHS`` puts before Django's own.
"""

from django.utils.translation import gettext_noop

DJANGO_ADMIN_STRINGS = (gettext_noop("View %s"), gettext_noop("Close"))
