"""Key pairs of collectors and of the hub, and what is done with them.

A collector has two key pairs, made on `kiemke collector init` and kept in its KIEMKE_HOME (files
0600, like the credential key; never in a database, a bundle or a log):
- Ed25519 signs every batch and every air-gap file; the hub verifies with the registered
  public key;
- X25519 receives the assignment's device credentials, sealed to it by the hub (an ephemeral
  X25519 exchange, HKDF-SHA256 and AES-256-GCM: only this collector can open them).
The hub has one Ed25519 key pair: it signs assignments and acknowledgement files, and a collector
pins the hub's public key from the first assignment it takes.

A collector is registered on the hub by one line (`public_line`), printed by `collector init`:
    kiemke-collector/1 <name> <ed25519 public, base64> <x25519 public, base64>
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from inventory.settings import Settings

LINE_PREFIX = "kiemke-collector/1"
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")  # a collector's name: also a file and log token
SIGNING_KEY_FILE = "collector_signing.key"
BOX_KEY_FILE = "collector_box.key"
HUB_KEY_FILE = "hub_signing.key"
_SEAL_INFO = b"kiemke collector credentials v1"


class IdentityError(ValueError):
    """A key, signature or sealed value that is not what it claims: said in one line, no secret."""


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(text: str, length: int, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.encode(), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise IdentityError(f"{what} is not base64") from None
    if len(raw) != length:
        raise IdentityError(f"{what} has {len(raw)} bytes, {length} expected")
    return raw


def _public_raw(key) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def fingerprint(public_b64: str) -> str:
    """Short form of a public key for people to compare (SHA-256, first 16 hex digits in 4 groups)."""
    digest = hashlib.sha256(public_b64.encode()).hexdigest()[:16]
    return ":".join(digest[i : i + 4] for i in range(0, 16, 4))


@dataclass(frozen=True)
class CollectorKeys:
    name: str
    signing: Ed25519PrivateKey
    box: X25519PrivateKey

    @property
    def signing_public(self) -> str:
        return _b64(_public_raw(self.signing))

    @property
    def box_public(self) -> str:
        return _b64(_public_raw(self.box))

    def public_line(self) -> str:
        return f"{LINE_PREFIX} {self.name} {self.signing_public} {self.box_public}"

    def sign(self, data: bytes) -> str:
        return _b64(self.signing.sign(data))

    def open_sealed(self, sealed_b64: str) -> bytes:
        return open_sealed(self.box, sealed_b64)


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise IdentityError("a collector name is 1-64 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter or digit")
    return name


def collector_keys(settings: Settings, name: str) -> CollectorKeys:
    """This collector's key pairs from KIEMKE_HOME, made on first use."""
    seed = settings.key_file(SIGNING_KEY_FILE, lambda: os.urandom(32).hex())
    box_seed = settings.key_file(BOX_KEY_FILE, lambda: os.urandom(32).hex())
    try:
        return CollectorKeys(check_name(name), Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed)), X25519PrivateKey.from_private_bytes(bytes.fromhex(box_seed)))
    except ValueError:
        raise IdentityError(f"the collector key files in {settings.home} are damaged") from None


def hub_key(settings: Settings) -> Ed25519PrivateKey:
    """The hub's signing key from KIEMKE_HOME, made on first use."""
    seed = settings.key_file(HUB_KEY_FILE, lambda: os.urandom(32).hex())
    try:
        return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed))
    except ValueError:
        raise IdentityError(f"the hub key file in {settings.home} is damaged") from None


def hub_public(key: Ed25519PrivateKey) -> str:
    return _b64(_public_raw(key))


def hub_sign(key: Ed25519PrivateKey, data: bytes) -> str:
    return _b64(key.sign(data))


@dataclass(frozen=True)
class PublicIdentity:
    """A collector as registered on the hub: its name and public keys, from its public line."""

    name: str
    signing_key: str
    box_key: str


def parse_public_line(line: str) -> PublicIdentity:
    parts = (line or "").strip().split()
    if len(parts) != 4 or parts[0] != LINE_PREFIX:
        raise IdentityError(f"not a collector's public line ('{LINE_PREFIX} NAME SIGNING-KEY BOX-KEY' expected, as `kiemke collector init` prints it)")
    _, name, signing, box = parts
    check_name(name)
    Ed25519PublicKey.from_public_bytes(_unb64(signing, 32, "the signing key"))
    X25519PublicKey.from_public_bytes(_unb64(box, 32, "the box key"))
    return PublicIdentity(name, signing, box)


def verify(public_b64: str, data: bytes, signature_b64: str) -> bool:
    """True only for a valid Ed25519 signature of `data` by that key; anything malformed is False."""
    try:
        key = Ed25519PublicKey.from_public_bytes(_unb64(public_b64, 32, "the public key"))
        key.verify(_unb64(signature_b64, 64, "the signature"), data)
    except (IdentityError, InvalidSignature, ValueError):
        return False
    return True


def _seal_key(shared: bytes, ephemeral_public: bytes, recipient_public: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral_public + recipient_public, info=_SEAL_INFO).derive(shared)


def seal_to(box_public_b64: str, plaintext: bytes) -> str:
    """Encrypt for the holder of that X25519 key alone: ephemeral public (32) | nonce (12) | AES-GCM."""
    recipient = _unb64(box_public_b64, 32, "the box key")
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = _public_raw(ephemeral)
    key = _seal_key(ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient)), ephemeral_public, recipient)
    nonce = os.urandom(12)
    return _b64(ephemeral_public + nonce + AESGCM(key).encrypt(nonce, plaintext, None))


def open_sealed(box: X25519PrivateKey, sealed_b64: str) -> bytes:
    try:
        raw = base64.b64decode(sealed_b64.encode(), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError, AttributeError):
        raise IdentityError("the sealed credentials are not base64") from None
    if len(raw) < 32 + 12 + 16:
        raise IdentityError("the sealed credentials are cut short")
    ephemeral_public, nonce, ciphertext = raw[:32], raw[32:44], raw[44:]
    key = _seal_key(box.exchange(X25519PublicKey.from_public_bytes(ephemeral_public)), ephemeral_public, _public_raw(box))
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, None)
    except InvalidTag:
        raise IdentityError("the sealed credentials were not sealed to this collector (or were altered)") from None
