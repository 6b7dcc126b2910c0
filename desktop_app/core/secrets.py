"""The API key in the OS keychain, through keyring. Never in a plain file.

``keyring`` is imported only when a key is looked up: it scans entry points on
import, which costs start-up time the demo and ``iris image`` do not need.
"""

from __future__ import annotations

import os

from desktop_app.core.errors import KeychainUnavailableError

SERVICE = "iris-desktop"
USERNAME = "anthropic-api-key"
ENV_VAR = "ANTHROPIC_API_KEY"


def keychain_available() -> bool:
    """True when keyring has a real, usable backend (not the fail or null backend)."""
    try:
        import keyring

        backend = keyring.get_keyring()
    except Exception:  # a broken keyring install must not take the app down
        return False
    priority = getattr(backend, "priority", 0)
    name = type(backend).__module__ + "." + type(backend).__name__
    return bool(priority and priority > 0) and "fail" not in name.lower()


def environment_key() -> str | None:
    """The key in ``ANTHROPIC_API_KEY``, if set: it beats the keychain everywhere."""
    return os.environ.get(ENV_VAR, "").strip() or None


def keychain_key() -> str | None:
    """The key stored in the keychain, or None (no key, no keychain, or locked)."""
    try:
        import keyring

        value = keyring.get_password(SERVICE, USERNAME)
    except Exception:  # no backend, locked keychain, D-Bus missing: all mean "no key"
        return None
    return value.strip() if isinstance(value, str) and value.strip() else None


def load_api_key() -> str | None:
    """The key from ``ANTHROPIC_API_KEY``, else from the keychain, else None."""
    return environment_key() or keychain_key()


def store_api_key(key: str) -> None:
    """Store ``key`` in the keychain.

    Raises:
        KeychainUnavailableError: There is no keychain to store it in.
    """
    try:
        import keyring

        keyring.set_password(SERVICE, USERNAME, key.strip())
    except Exception:
        # Our own message only: a backend's error text is not ours to show.
        raise KeychainUnavailableError(
            "No system keychain is available, so the key cannot be saved."
        ) from None


def delete_api_key() -> None:
    """Remove the stored key, if there is one."""
    try:
        import keyring

        keyring.delete_password(SERVICE, USERNAME)
    except Exception:  # nothing stored, or no keychain: either way it is gone
        return
