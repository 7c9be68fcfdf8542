"""Key configuration of the token verifier (Centrifugo ``token_*`` options)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenKeys:
    """What verifies tokens; an empty string means "not configured".

    * ``hmac_secret_key`` enables HS256/384/512 (the string's UTF-8 bytes are the key).
    * ``rsa_public_key`` (PEM) enables RS256/384/512.
    * ``ecdsa_public_key`` (PEM) enables the ES algorithm matching its curve (P-256 → ES256,
      P-384 → ES384, P-521 → ES512).
    * ``jwks_public_endpoint`` (http/https URL, may contain ``{{name}}`` placeholders): when set,
      every token is verified with JWKS only and the static keys above are ignored.
    * ``audience`` / ``audience_regex`` and ``issuer`` / ``issuer_regex``: optional claim checks;
      each pair is mutually exclusive. Regexes use Python :mod:`re` syntax with search semantics
      (Go ``MatchString``); named groups feed the JWKS URL placeholders.
    """

    hmac_secret_key: str = ""
    rsa_public_key: str = ""
    ecdsa_public_key: str = ""
    jwks_public_endpoint: str = ""
    audience: str = ""
    audience_regex: str = ""
    issuer: str = ""
    issuer_regex: str = ""
