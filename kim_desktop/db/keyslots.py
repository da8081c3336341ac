"""Key slots: the random database key, wrapped once per user with that user's password.

An encrypted KIM database (SQLCipher 4, AES-256) is opened with a random 256-bit key that nobody types. Beside
the database lies ``<database>.keys``, a small JSON file with one *slot* per user account: the database key
encrypted (AES-256-GCM) with a key derived from the user's password (Argon2id). So

* every user logs in with their own password,
* an administrator, who has the database key while logged in, can add a user or reset a password by writing
  a new slot, without re-encrypting the data,
* disabling a user removes their slot: their password no longer opens the file.

The slots must be readable before the database is, so they cannot live inside it. The file holds no personal
data: a slot is found by a salted hash of the user name, the user id is a random UUID. The GCM tag of a slot
tells a wrong password from a right one; the authenticated data binds each slot to its file (``file_id``)
and user id, so slots cannot be swapped between users or offices. Failed attempts are counted per slot for
the growing delay (``services.users.lock_duration``); an attacker who copies the file can ignore the counter,
which is why the key derivation is Argon2id with 64 MiB of memory per guess.

Writes are atomic (temporary file, fsync, ``os.replace``); a reader never sees half a file.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..errors import UserError
from ..i18n import _

FORMAT = "kim-keyslots"
VERSION = 1
KEY_BYTES = 32
SUFFIX = ".keys"

#: Argon2id parameters of new slots (RFC 9106's second recommended option). Stored per slot, so they can be
#: raised later without breaking old slots; tests lower them through ``set_kdf_parameters``.
KDF_PARAMETERS = {"time_cost": 3, "memory_cost": 65536, "parallelism": 4}


class WrongPasswordError(UserError):
    """No slot of this file opens with the given user name and password (the same message for both)."""

    def __init__(self) -> None:
        super().__init__(
            _(
                "Anmeldung nicht möglich: Benutzername oder Passwort ist falsch, oder die Anmeldung ist "
                "vorübergehend gesperrt. Bitte prüfen und später erneut versuchen."
            )
        )


class DamagedKeyFileError(UserError):
    def __init__(self, path: Path) -> None:
        super().__init__(
            _(
                "Die Schlüsseldatei der verschlüsselten Datenbank fehlt oder ist beschädigt: {path}. Ohne sie "
                "kann die Datenbank nicht geöffnet werden; bitte die Sicherung samt .keys-Datei zurückspielen."
            ).format(path=path)
        )


def keyfile_path(database_path: Path) -> Path:
    return Path(database_path).with_name(Path(database_path).name + SUFFIX)


def new_database_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


#: SQLCipher writes decryption failures to stderr by default; a wrong key is reported as one German line
#: by us instead (and stderr of the CLI must stay one line).
QUIET_PRAGMA = "PRAGMA cipher_log_level = NONE"


def sqlcipher_key_pragma(key: bytes) -> str:
    """``PRAGMA key`` with a raw key (no PBKDF2 per connection: the key is already random)."""
    if len(key) != KEY_BYTES:
        raise ValueError("database key must be 32 bytes")
    return f"PRAGMA key = \"x'{key.hex()}'\""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _derive(password: str, salt: bytes, params: dict) -> bytes:
    from argon2.low_level import Type, hash_secret_raw

    return hash_secret_raw(
        password.encode("utf-8"),
        salt,
        time_cost=int(params["time_cost"]),
        memory_cost=int(params["memory_cost"]),
        parallelism=int(params["parallelism"]),
        hash_len=32,
        type=Type.ID,
    )


def _lookup(file_salt: bytes, username: str) -> str:
    return hashlib.sha256(file_salt + username.strip().lower().encode("utf-8")).hexdigest()


@dataclass
class KeyFile:
    """The parsed ``.keys`` file."""

    path: Path
    file_id: str
    salt: bytes
    slots: list[dict]

    # --- reading and writing ---------------------------------------------------------------------------

    @classmethod
    def new(cls, path: Path) -> KeyFile:
        return cls(Path(path), str(uuid.uuid4()), secrets.token_bytes(16), [])

    @classmethod
    def load(cls, path: Path) -> KeyFile:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT or int(data.get("version", 0)) > VERSION:
                raise ValueError("format")
            return cls(path, str(data["file_id"]), _unb64(data["salt"]), list(data["slots"]))
        except (OSError, ValueError, KeyError, TypeError):
            raise DamagedKeyFileError(path) from None

    def save(self, path: Path | None = None) -> None:
        target = Path(path or self.path)
        data = {
            "format": FORMAT,
            "version": VERSION,
            "cipher": "sqlcipher4",
            "file_id": self.file_id,
            "salt": _b64(self.salt),
            "slots": self.slots,
        }
        temp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            with temp.open("w", encoding="utf-8") as out:
                json.dump(data, out, indent=1)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, target)
        finally:
            if temp.exists():
                temp.unlink()

    # --- slots ------------------------------------------------------------------------------------------

    def _aad(self, user_id: str) -> bytes:
        return f"{FORMAT}:{self.file_id}:{user_id}".encode()

    def slot_for(self, username: str) -> dict | None:
        lookup = _lookup(self.salt, username)
        return next((slot for slot in self.slots if slot["lookup"] == lookup), None)

    def first_slot(self) -> dict | None:
        return self.slots[0] if self.slots else None

    def set_slot(self, key: bytes, user_id: str, username: str, password: str) -> None:
        """Add or replace the slot of ``user_id`` (a new user, a reset or changed password)."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        salt = secrets.token_bytes(16)
        nonce = secrets.token_bytes(12)
        params = dict(KDF_PARAMETERS)
        wrapped = AESGCM(_derive(password, salt, params)).encrypt(nonce, key, self._aad(user_id))
        slot = {
            "lookup": _lookup(self.salt, username),
            "user_id": user_id,
            "kdf": "argon2id",
            "kdf_params": params,
            "salt": _b64(salt),
            "nonce": _b64(nonce),
            "wrapped_key": _b64(wrapped),
            "failed": 0,
            "locked_until": None,
        }
        position = next((i for i, s in enumerate(self.slots) if s["user_id"] == user_id), None)
        if position is None:
            self.slots.append(slot)
        else:
            self.slots[position] = slot

    def remove_slot(self, user_id: str) -> bool:
        before = len(self.slots)
        self.slots = [slot for slot in self.slots if slot["user_id"] != user_id]
        return len(self.slots) != before

    def has_user(self, user_id: str) -> bool:
        return any(slot["user_id"] == user_id for slot in self.slots)

    def unwrap(self, slot: dict, password: str) -> bytes | None:
        """The database key, or None for a wrong password."""
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            kek = _derive(password, _unb64(slot["salt"]), slot["kdf_params"])
            return AESGCM(kek).decrypt(
                _unb64(slot["nonce"]), _unb64(slot["wrapped_key"]), self._aad(slot["user_id"])
            )
        except InvalidTag:
            return None
        except (KeyError, ValueError, TypeError):
            raise DamagedKeyFileError(self.path) from None


def locked_until(slot: dict) -> datetime | None:
    value = slot.get("locked_until")
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@contextmanager
def kdf_parameters(**params: int) -> Iterator[None]:
    """New slots with other Argon2id parameters for the duration of the block (tests use cheap ones)."""
    previous = set_kdf_parameters(**params)
    try:
        yield
    finally:
        set_kdf_parameters(**previous)


def set_kdf_parameters(**params: int) -> dict:
    """Change the Argon2id parameters of new slots (tests use small ones); returns the previous ones."""
    previous = dict(KDF_PARAMETERS)
    KDF_PARAMETERS.update(params)
    return previous
