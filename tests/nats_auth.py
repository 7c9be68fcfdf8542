"""Decentralised NATS auth for tests: an operator, an account and a user with NKeys, their JWTs,
a ``nats-server`` configuration in operator mode (memory resolver) and the user's ``.creds``
file, as ``nsc`` would write them.

A NATS JWT is ``base64url(header).base64url(claims).base64url(ed25519 signature)`` without
padding, with the header ``{"typ":"JWT","alg":"ed25519-nkey"}``; ``iss`` is the signer's public
NKey, ``sub`` the subject's, and ``nats.type`` says what it is (operator, account, user).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nkeys

from tests.unit.auth.tokens import b64url, encode_segment

_HEADER = {"typ": "JWT", "alg": "ed25519-nkey"}


def new_key(prefix: int) -> nkeys.KeyPair:
    """A fresh NKey pair of the kind ``prefix`` (``nkeys.PREFIX_BYTE_*``)."""
    seed = nkeys.encode_seed(os.urandom(32), prefix)
    return nkeys.from_seed(bytearray(seed))


def _public(key: nkeys.KeyPair) -> str:
    return bytes(key.public_key).decode()


def encode_jwt(signer: nkeys.KeyPair, subject: str, name: str, nats: dict[str, Any]) -> str:
    """A NATS JWT for ``subject`` signed by ``signer``."""
    claims: dict[str, Any] = {
        "iat": int(time.time()),
        "iss": _public(signer),
        "name": name,
        "sub": subject,
        "nats": {"version": 2, **nats},
    }
    claims["jti"] = base64.b32encode(
        hashlib.sha256(json.dumps(claims, sort_keys=True).encode()).digest()
    ).decode()
    head = encode_segment(_HEADER) + "." + encode_segment(claims)
    return head + "." + b64url(bytes(signer.sign(head.encode())))


def creds_file(user_jwt: str, user: nkeys.KeyPair) -> str:
    """The text of a ``.creds`` file (the format ``nsc generate creds`` writes)."""
    seed = bytes(user.seed).decode()
    return (
        "-----BEGIN NATS USER JWT-----\n"
        f"{user_jwt}\n"
        "------END NATS USER JWT------\n\n"
        "************************* IMPORTANT *************************\n"
        "NKEY Seed printed below can be used to sign and prove identity.\n\n"
        "-----BEGIN USER NKEY SEED-----\n"
        f"{seed}\n"
        "------END USER NKEY SEED------\n"
    )


@dataclass(frozen=True)
class OperatorSetup:
    """Files of one operator-mode setup: the server's config and a valid user's ``.creds``."""

    server_config: Path
    creds: Path
    account: nkeys.KeyPair


def operator_setup(directory: Path) -> OperatorSetup:
    """Write ``server.conf`` (operator + memory resolver with one account) and ``user.creds``."""
    operator = new_key(nkeys.PREFIX_BYTE_OPERATOR)
    account = new_key(nkeys.PREFIX_BYTE_ACCOUNT)
    user = new_key(nkeys.PREFIX_BYTE_USER)
    operator_jwt = encode_jwt(operator, _public(operator), "op", {"type": "operator"})
    account_jwt = encode_jwt(
        operator,
        _public(account),
        "acc",
        {"type": "account", "limits": {"subs": -1, "conn": -1, "data": -1, "payload": -1}},
    )
    user_jwt = encode_jwt(
        account,
        _public(user),
        "gyre",
        {"type": "user", "subs": -1, "data": -1, "payload": -1},
    )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "operator.jwt").write_text(operator_jwt)
    conf = directory / "server.conf"
    conf.write_text(
        f'operator: "{directory / "operator.jwt"}"\n'
        "resolver: MEMORY\n"
        f'resolver_preload: {{ {_public(account)}: "{account_jwt}" }}\n'
    )
    creds = directory / "user.creds"
    creds.write_text(creds_file(user_jwt, user))
    creds.chmod(0o600)
    return OperatorSetup(conf, creds, account)


def stranger_creds(directory: Path) -> Path:
    """A ``.creds`` file of a user signed by an account the server does not know."""
    account = new_key(nkeys.PREFIX_BYTE_ACCOUNT)
    user = new_key(nkeys.PREFIX_BYTE_USER)
    user_jwt = encode_jwt(account, _public(user), "stranger", {"type": "user"})
    path = directory / "stranger.creds"
    path.write_text(creds_file(user_jwt, user))
    return path
