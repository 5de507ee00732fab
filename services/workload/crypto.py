"""Encryption at rest for the NHS number (Fernet: AES-128-CBC with HMAC-SHA256, random IV per value).

Production sets ``QOF_FIELD_ENCRYPTION_KEY`` (one Fernet key, or several comma-separated with the newest
first to rotate keys). When it is empty a development key is derived from the JWT secret, so a dev or test
database stays readable across restarts; the service refuses to start in production without a key.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from shared.settings import ServiceSettings

_DEV_CONTEXT = b"qof-platform/workload/field-encryption/dev-key/v1:"


class FieldCipher:
    def __init__(self, keys: list[bytes]) -> None:
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def encrypt(self, value: str) -> bytes:
        return self._fernet.encrypt(value.encode())

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode()
        except InvalidToken:
            raise ValueError("the value cannot be decrypted with the configured keys") from None


def derived_dev_key(settings: ServiceSettings) -> bytes:
    digest = hashlib.sha256(_DEV_CONTEXT + settings.jwt_secret.get_secret_value().encode()).digest()
    return base64.urlsafe_b64encode(digest)


def cipher_for(settings: ServiceSettings) -> FieldCipher:
    configured = settings.field_encryption_key.get_secret_value().strip()
    if not configured:
        if not settings.is_development:
            raise RuntimeError(f"QOF_FIELD_ENCRYPTION_KEY must be set in {settings.environment} (a Fernet key)")
        return FieldCipher([derived_dev_key(settings)])
    try:
        return FieldCipher([k.strip().encode() for k in configured.split(",") if k.strip()])
    except ValueError:
        raise RuntimeError(
            "QOF_FIELD_ENCRYPTION_KEY is not a valid Fernet key (urlsafe base64 of 32 bytes)"
        ) from None
