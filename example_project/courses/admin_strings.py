"""Strings of Django's own admin that Django's Hindi catalogue leaves English: the title of a
read-only change page ("View %s", which read "View भुगतान") and its "Close" button, the
header's "View site", the sidebar's "Start typing to filter…", the filters' "Show counts" and
"Hide counts", and django.contrib.auth's section, "Authentication and Authorization" (seen on
the screenshots of the Hindi admin).

Marked here so that ``makemessages`` keeps them in the example's catalogue, which
``LOCALE_PATHS`` puts before Django's own.
"""

from django.utils.translation import gettext_noop

DJANGO_ADMIN_STRINGS = (
    gettext_noop("View %s"), gettext_noop("Close"), gettext_noop("View site"), gettext_noop("Start typing to filter…"),
    gettext_noop("Show counts"), gettext_noop("Hide counts"), gettext_noop("Authentication and Authorization"),
)
