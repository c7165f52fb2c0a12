"""The simulator's webhook secret, made at random once per database.

The offline simulator signs its events with the first ``STRIPE_WEBHOOK_SECRET`` and the
webhook endpoint verifies them with it, so every process serving one database must share it,
and no two installations may share one: a secret written in the settings would be public,
and anyone who knows it can forge events. So the secret is drawn with ``secrets`` the first
time, kept in a file only its owner can read, and read back by every later process.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def simulator_webhook_secret(path: Path) -> str:
    """The secret stored in ``path``, made first if the file does not exist yet."""
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(f"whsec_{secrets.token_hex(32)}\n")
        try:
            os.link(temporary, path)  # atomic, and never replaces a secret another process made
        except FileExistsError:
            pass
    finally:
        os.unlink(temporary)
    return _read(path)


def _read(path: Path) -> str:
    secret = path.read_text(encoding="ascii").strip()
    if not secret.startswith("whsec_") or len(secret) < 30:
        raise ImproperlyConfigured(f"{path} does not hold a webhook secret (whsec_…): delete it to make a new one.")
    return secret
