"""One settings object, read from the environment once and passed in.

KIEMKE_HOME holds everything kiemke writes: the SQLite database, the generated secrets and the
lab's working files. Secrets are generated on first use with owner-only permissions; there is
no hard-coded default anywhere.
"""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from platformdirs import user_data_dir
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    return Path(user_data_dir("kiemke", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KIEMKE_", extra="ignore")

    home: Path = Field(default_factory=_default_home)
    # DATABASE_URL is the conventional name, so it is read without the prefix.
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    # SNMPv3 engine: kiemke's own USM over its BER codec (fast), or pysnmp's hlapi.
    snmp_v3_backend: Literal["native", "pysnmp"] = "native"
    # The UDP port discovery probes for SNMP agents (the web form's default; the lab uses 1161).
    snmp_port: int = Field(default=161, ge=1, le=65535)
    # A collector's outbox cap, MiB of compressed results (collectors/fleet/outbox.py): at the cap
    # the oldest results are kept and new ones are counted as dropped.
    outbox_max_mb: int = Field(default=512, ge=1)
    # Served over HTTPS (usually behind a TLS reverse proxy): cookies are sent only over HTTPS.
    # Off by default so a plain-http demo on 127.0.0.1 can sign in.
    secure_cookies: bool = False
    # Reverse proxies in front of kiemke whose X-Forwarded-For/-Proto headers are believed; 0
    # ignores those headers (a client could forge them to dodge the login throttle or the audit).
    trusted_proxies: int = Field(default=0, ge=0, le=10)
    # A collector not heard from for longer than this is silent: the coverage says so and the
    # event collector_silent is raised once per silence (collectors/fleet, compliance/events).
    collector_silent_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)
    # Where the scheduler's polls and evaluations run: in its own process ("process", the only
    # choice on SQLite), or as jobs for `kiemke worker` processes ("workers", PostgreSQL only).
    jobs: Literal["process", "workers"] = "process"
    # Scan outcomes (one per device and run) and applied collector batch records older than this
    # are pruned daily (inventory/retention.py); runs, observations and findings are kept.
    keep_outcomes_days: int = Field(default=90, ge=1, le=3650)

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'kiemke.sqlite3'}"

    @cached_property
    def secret_key(self) -> SecretStr:
        """Flask session signing key."""
        return SecretStr(self._secret_file("secret_key", lambda: secrets.token_hex(32)))

    @cached_property
    def credential_key(self) -> SecretStr:
        """Fernet key that encrypts device credentials; kept outside the database."""
        from cryptography.fernet import Fernet

        return SecretStr(self._secret_file("credential.key", lambda: Fernet.generate_key().decode()))

    def key_file(self, name: str, make) -> str:
        """A secret kept in KIEMKE_HOME (0600), made by `make` on first use: the collector's and
        the hub's key pairs (collectors/fleet/identity.py) live there, like the credential key."""
        return self._secret_file(name, make)

    def ensure_home(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home

    def _secret_file(self, name: str, make) -> str:
        path = self.ensure_home() / name
        if not path.exists():
            # O_EXCL: two processes starting at once must not write two different keys.
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write(make())
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        return path.read_text().strip()


def get_settings() -> Settings:
    return Settings()
