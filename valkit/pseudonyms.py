"""Keyed pseudonyms for patient and image identifiers.

``valkit manifest build`` replaces a DICOM PatientID and SOPInstanceUID by
``HMAC-SHA256(key, "<kind>:<value>")``, truncated to :data:`PSEUDONYM_HEX` hex characters
and prefixed with the kind (``P-`` patient, ``I-`` image). Without the key a pseudonym
cannot be traced back by enumerating the identifier space (an unkeyed hash of a 7-digit
PatientID can: ten million guesses take seconds); with the same key the same identifier
always gets the same pseudonym, so studies built at different times line up.

Where the key lives (first match wins):

1. ``--pseudonym-key PATH`` on ``valkit manifest build``;
2. the environment variable ``VALKIT_PSEUDONYM_KEY`` (a path);
3. ``.valkit/pseudonym.key`` in the current folder (the project folder, where ``runs/`` is
   written by default; ``.valkit/`` is git-ignored).

The file is created on first use (32 random bytes as 64 hex characters, mode 0600) and is
never written into a run folder or beside a manifest; outputs record only its
:func:`fingerprint` so a reader can tell whether two studies used the same key. Keep the
key private and backed up: a new key gives new pseudonyms.

Why :data:`PSEUDONYM_HEX` = 20 hex characters (80 bits): the chance that any two of ``n``
identifiers share a pseudonym is about ``n**2 / 2**81``, i.e. 4e-11 for ten million
patients and 4e-7 for a billion, negligible against any study size. (A collision of case
ids would also be caught: manifests reject duplicate case ids.)
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from valkit.errors import InputError

ENV_VAR = "VALKIT_PSEUDONYM_KEY"
DEFAULT_KEY_PATH = Path(".valkit") / "pseudonym.key"
PSEUDONYM_HEX = 20
FINGERPRINT_HEX = 8
KEY_BYTES = 32
#: A pseudonym made by :func:`pseudonymise` with a key (kind letter, dash, hex).
PSEUDONYM_PATTERN = re.compile(rf"^[A-Z]-[0-9a-f]{{{PSEUDONYM_HEX}}}$")
#: What valkit before keyed pseudonyms wrote: 12 hex of an unkeyed sha256, reversible by enumeration.
UNKEYED_PATTERN = re.compile(r"^[A-Z]-[0-9a-f]{12}$")


@dataclass(frozen=True)
class PseudonymKey:
    """A project's pseudonym secret and where it was read from (the secret never goes to outputs)."""

    secret: bytes
    path: Path
    created: bool = False

    @property
    def fingerprint(self) -> str:
        """First :data:`FINGERPRINT_HEX` hex characters of sha256(secret): same key, same fingerprint."""
        return fingerprint(self.secret)

    def __repr__(self) -> str:  # never print the secret
        return f"PseudonymKey(path={str(self.path)!r}, fingerprint={self.fingerprint!r})"


def fingerprint(secret: bytes) -> str:
    """Short public tag of a key; it reveals nothing usable about the key itself.

    >>> fingerprint(bytes(32))
    '66687aad'
    """
    return hashlib.sha256(secret).hexdigest()[:FINGERPRINT_HEX]


def pseudonymise(kind: str, value: str, key: PseudonymKey | bytes) -> str:
    """Keyed pseudonym ``<kind>-<20 hex>`` of an identifier: HMAC-SHA256 of ``"<kind>:<value>"``.

    The kind is part of the message, so the same text as a patient and as an image id gives
    unrelated pseudonyms.

    >>> pseudonymise("P", "1234567", bytes(32))
    'P-1065eee53686d3138feb'
    >>> pseudonymise("P", "1234567", bytes(32)) == pseudonymise("P", "1234567", b"another key")
    False
    """
    secret = key.secret if isinstance(key, PseudonymKey) else key
    digest = hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
    return f"{kind}-{digest[:PSEUDONYM_HEX]}"


def key_path(explicit: str | Path | None = None) -> Path:
    """Where the key is read (or created): ``explicit``, else ``$VALKIT_PSEUDONYM_KEY``, else ``.valkit/pseudonym.key``."""
    if explicit is not None:
        return Path(explicit)
    env = os.environ.get(ENV_VAR, "").strip()
    return Path(env) if env else DEFAULT_KEY_PATH


def load_or_create_key(path: str | Path | None = None) -> PseudonymKey:
    """Read the key at :func:`key_path`; create it (mode 0600) when the file does not exist yet."""
    path = key_path(path)
    created = False
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(KEY_BYTES) + "\n")
            created = True
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise InputError(f"{path}: pseudonym key not readable ({exc.strerror}). Make it readable by you, or "
                         f"point --pseudonym-key / {ENV_VAR} at another key file.") from None
    if not re.fullmatch(r"(?:[0-9a-fA-F]{2}){16,}", text):
        raise InputError(f"{path}: not a valkit pseudonym key (expected 64 hex characters on one line). "
                         f"Restore the project's key from its backup, or point --pseudonym-key / {ENV_VAR} "
                         "at it; a new key gives new pseudonyms.")
    return PseudonymKey(secret=bytes.fromhex(text), path=path, created=created)


def check_key_location(path: Path, *, outputs: Path) -> None:
    """Refuse a key inside a folder whose files are shared (``outputs``: the manifest's folder)."""
    key = path.resolve()
    if key.is_relative_to(outputs.resolve()):
        raise InputError(
            f"{path}: the pseudonym key would lie inside {outputs}, the folder the manifest is written to, "
            "and could be shared with it. Keep the key outside the outputs: run from the project folder, "
            f"or pass --pseudonym-key PATH (or set {ENV_VAR}) to a path elsewhere."
        )
