"""Encryption of device credentials at rest (Fernet; the key lives in KIEMKE_HOME, not the DB)."""

from __future__ import annotations

import json

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr


class CredentialKeyError(Exception):
    """The credential key cannot decrypt a stored secret (wrong or replaced key file)."""


class Vault:
    def __init__(self, key: SecretStr) -> None:
        self._fernet = Fernet(key.get_secret_value().encode())

    def seal(self, secret: dict[str, str]) -> bytes:
        return self._fernet.encrypt(json.dumps(secret, sort_keys=True).encode())

    def open(self, token: bytes) -> dict[str, SecretStr]:
        try:
            plain = self._fernet.decrypt(token)
        except InvalidToken:
            raise CredentialKeyError("stored credential cannot be decrypted: the credential key in KIEMKE_HOME does not match") from None
        return {name: SecretStr(value) for name, value in json.loads(plain).items()}
