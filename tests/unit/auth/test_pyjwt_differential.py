"""Differential test: Gyre's token verifier against PyJWT, the well-kept library it replaces.

For random valid and invalid tokens (HS/RS/ES and PS algorithms, ``exp``/``nbf``/``iat`` in
every JSON form, ``aud`` as a string or a list, ``iss``, header fields, malformed segments,
padding, wrong and confused keys, ``none``, non-JSON and duplicate-key segments) Gyre must
accept exactly the tokens PyJWT accepts when configured the same way: the algorithms of the
configured keys, the same audience and issuer, no leeway, ``aud`` verified only when an audience
is configured (Centrifugo ignores ``aud`` otherwise, PyJWT would reject any ``aud``).

Where Centrifugo v4 (whose behaviour Gyre keeps) deliberately differs from PyJWT, the case is
rewritten before PyJWT sees it; every such rewrite is listed in ``DIFFERENCES`` with its reason,
and ``test_each_difference_is_real`` shows on one example that PyJWT really disagrees there.
Not generated: ``nbf`` exactly equal to the current time (Centrifugo requires ``nbf < now``,
PyJWT ``nbf <= now``; see test_claims.py), JWKS keys (test_jwks.py).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import jwt as pyjwt
import pytest
from hypothesis import HealthCheck, given, settings

from service.auth import TokenExpired, TokenInvalid, TokenKeys, TokenVerifier

from .jwt_cases import ES, HS, PS, RS, Case, Config, KeyRing, Time, build, cases, claims_json
from .tokens import SECRET, public_pem

RING = KeyRing.generate()
REJECT = "reject"  # a rewrite's verdict: Centrifugo rejects the case whatever PyJWT says


@dataclass(frozen=True)
class Difference:
    name: str
    reason: str
    rewrite: Callable[[Case], Case | str | None]  # None: does not apply


def _replace_claims(case: Case, **changes: Any) -> Case:
    claims = {k: v for k, v in {**case.claims, **changes}.items() if v is not _DROP}
    return dataclasses.replace(case, claims=claims)


_DROP = object()
_REGISTERED_NULLABLE = ("sub", "jti", "iss", "exp", "nbf", "iat")
_GO_NUMBER_FORMS = {"str_int": "int", "str_float": "float", "str_exp": "int"}
_NOT_GO_NUMBERS = ("str_space", "str_plus", "str_underscore", "str_leading_zero", "str_huge")


def _ps_algorithms(case: Case) -> str | None:
    return REJECT if case.header.get("alg") in PS else None


def _padding(case: Case) -> str | None:
    return REJECT if case.mutation == "pad" else None


def _noncanonical(case: Case) -> Case | None:
    return dataclasses.replace(case, mutation="none") if case.mutation == "noncanonical" else None


def _crit_b64(case: Case) -> Case | None:
    if "crit" not in case.header and "b64" not in case.header:
        return None
    header = {k: v for k, v in case.header.items() if k not in ("crit", "b64")}
    return dataclasses.replace(case, header=header)


def _null_is_absent(case: Case) -> Case | None:
    header = {
        k: v for k, v in case.header.items() if not (k in ("typ", "cty", "kid") and v is None)
    }
    nulls = {
        k: _DROP
        for k, v in case.claims.items()
        if k in _REGISTERED_NULLABLE and (v is None or (isinstance(v, Time) and v.form == "null"))
    }
    if header == case.header and not nulls:
        return None
    return _replace_claims(dataclasses.replace(case, header=header), **nulls)


def _header_types(case: Case) -> str | None:
    bad = any(
        case.header.get(k) is not None and not isinstance(case.header[k], str)
        for k in ("typ", "cty")
    )
    return REJECT if bad else None


def _non_standard_json(case: Case) -> str | None:
    forms = {case.header_form, case.claims_form}
    return REJECT if forms & {"nan", "bom", "utf16"} else None


def _lone_surrogate(case: Case) -> str | None:
    return REJECT if "surrogate" in (case.header_form, case.claims_form) else None


def _numeric_date_forms(case: Case) -> Case | str | None:
    changes: dict[str, Any] = {}
    for name in ("exp", "nbf", "iat"):
        value = case.claims.get(name)
        if not isinstance(value, Time):
            continue
        if value.form in _NOT_GO_NUMBERS or value.form in ("true", "false"):
            return REJECT
        if value.form in _GO_NUMBER_FORMS:
            changes[name] = Time(_GO_NUMBER_FORMS[value.form], value.offset)
    return _replace_claims(case, **changes) if changes else None


def _iat_unchecked(case: Case) -> Case | None:
    iat = case.claims.get("iat")
    if isinstance(iat, Time) and iat.form in ("int", "float"):
        return _replace_claims(case, iat=_DROP)
    return None


def _typed_unchecked_claims(case: Case) -> str | None:
    iss, aud = case.claims.get("iss"), case.claims.get("aud", "")
    if not case.config.issuer and iss is not None and not isinstance(iss, str):
        return REJECT
    aud_ok = isinstance(aud, str) or (
        isinstance(aud, list) and all(isinstance(a, str) for a in aud)
    )
    if not case.config.audience and not aud_ok:
        return REJECT
    return None


DIFFERENCES = (
    Difference(
        "ps_algorithms",
        "Centrifugo v4 verifies HS256/384/512, RS256/384/512 and ES256/384/512 only; for an RSA "
        "key PyJWT also offers RSASSA-PSS (PS256/384/512).",
        _ps_algorithms,
    ),
    Difference(
        "base64_padding",
        "Compact JWS segments are unpadded base64url (RFC 7515 section 2); Centrifugo decodes "
        "them with Go's RawURLEncoding, which rejects '='. PyJWT accepts trailing '=' (some "
        "issuers, e.g. AWS ALB, pad).",
        _padding,
    ),
    Difference(
        "noncanonical_base64",
        "Go's RawURLEncoding (not Strict) ignores non-zero unused bits in a segment's last "
        "character, so Centrifugo reads the same bytes as from the canonical text; PyJWT >= 2.14 "
        "rejects non-canonical segments. The signature still covers the text as sent.",
        _noncanonical,
    ),
    Difference(
        "crit_and_b64_headers",
        "Centrifugo (cristalhq/jwt) neither acts on nor rejects the 'crit' and 'b64' (RFC 7797) "
        "header parameters: the payload is always base64url JSON. PyJWT rejects critical "
        "extensions it does not know and b64=false without a detached payload.",
        _crit_b64,
    ),
    Difference(
        "null_is_absent",
        "Centrifugo decodes header and claims into Go structs, where JSON null leaves a field "
        "unset: null kid/typ/cty/sub/jti/iss/exp/nbf/iat mean 'absent'. PyJWT rejects a null "
        "kid, sub or jti and a null exp/nbf/iat ('must be an integer'). (A null 'aud' stays "
        "invalid: cristalhq's Audience type rejects it.)",
        _null_is_absent,
    ),
    Difference(
        "header_field_types",
        "Header 'typ' and 'cty' are Go string fields in Centrifugo, so another JSON type makes "
        "the token malformed; PyJWT does not look at them.",
        _header_types,
    ),
    Difference(
        "non_standard_json",
        "Go's encoding/json (like RFC 8259) rejects NaN/Infinity, a UTF-8 byte order mark and "
        "UTF-16/32 text; Python's json.loads, which PyJWT uses, accepts all three.",
        _non_standard_json,
    ),
    Difference(
        "lone_surrogate_escape",
        "GYRE-SPECIFIC (differs from Centrifugo too): a '\\udc00' escape without its pair is "
        "rejected by orjson; Go would read it as U+FFFD and Python keeps the surrogate. No JWT "
        "library emits one; rejecting it is safe and keeps the orjson fast path.",
        _lone_surrogate,
    ),
    Difference(
        "numeric_date_forms",
        "Centrifugo's NumericDate accepts a JSON number or a string holding one in Go's JSON "
        "number grammar (fractions and exponents included) and nothing else; PyJWT applies "
        "Python's int(), which also takes booleans, whitespace, '+', '_' and leading zeros but "
        "no fraction or exponent in a string. A valid string is given to PyJWT as the number.",
        _numeric_date_forms,
    ),
    Difference(
        "iat_not_checked",
        "Centrifugo only type-checks 'iat'; PyJWT rejects an 'iat' in the future.",
        _iat_unchecked,
    ),
    Difference(
        "claim_types_checked_always",
        "Centrifugo decodes 'iss' and 'aud' into typed Go fields even when no issuer/audience "
        "is configured, so a wrong type (or a null aud) is invalid; PyJWT type-checks only "
        "the claims it verifies.",
        _typed_unchecked_claims,
    ),
)


def centrifugo_view(case: Case) -> tuple[Case | str, list[str]]:
    """Apply every difference that matches; REJECT, or the case PyJWT should judge."""
    applied: list[str] = []
    current: Case = case
    for difference in DIFFERENCES:
        result = difference.rewrite(current)
        if result is None:
            continue
        applied.append(difference.name)
        if result == REJECT:
            return REJECT, applied
        assert isinstance(result, Case)
        current = result
    return current, applied


# -- the two verifiers ---------------------------------------------------------------------------


def pyjwt_keys(config: Config) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    if config.hmac:
        keys.update(dict.fromkeys(HS, SECRET))
    if config.rsa:
        keys.update(dict.fromkeys((*RS, *PS), RING.rsa.public_key()))
    if config.ec:
        keys.update(dict.fromkeys(ES, RING.ec[config.ec].public_key()))
    return keys


def pyjwt_outcome(token: str, config: Config) -> tuple[str, dict[str, Any] | None]:
    """("ok", claims) or (the PyJWT exception class name, None)."""
    keys = pyjwt_keys(config)
    if not keys:
        return "NoKeys", None
    try:
        alg = pyjwt.get_unverified_header(token).get("alg")
        claims = pyjwt.decode(
            token,
            keys.get(alg, SECRET) if isinstance(alg, str) else SECRET,
            algorithms=list(keys),
            audience=config.audience or None,
            issuer=config.issuer or None,
            options={"verify_aud": bool(config.audience)},
        )
    except pyjwt.PyJWTError as exc:
        return type(exc).__name__, None
    return "ok", claims


def gyre_verifier(config: Config) -> TokenVerifier:
    cached = _VERIFIERS.get(config)
    if cached is None:
        cached = _VERIFIERS[config] = TokenVerifier(
            TokenKeys(
                hmac_secret_key=SECRET if config.hmac else "",
                rsa_public_key=public_pem(RING.rsa) if config.rsa else "",
                ecdsa_public_key=public_pem(RING.ec[config.ec]) if config.ec else "",
                audience=config.audience,
                issuer=config.issuer,
            )
        )
    return cached


_VERIFIERS: dict[Config, TokenVerifier] = {}


def run_now(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never waits (static keys: no JWKS I/O) without an event loop."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise AssertionError("token verification waited for I/O")


def gyre_outcome(token: str, case: Case) -> tuple[str, Any]:
    verifier = gyre_verifier(case.config)
    verify = verifier.verify_subscribe if case.kind == "subscribe" else verifier.verify_connect
    try:
        return "ok", run_now(verify(token))
    except TokenExpired:
        return "expired", None
    except TokenInvalid:
        return "invalid", None


# -- tests ---------------------------------------------------------------------------------------


def check(case: Case) -> None:
    now = time.time()
    token = build(RING, case, now)
    gyre, result = gyre_outcome(token, case)
    view, applied = centrifugo_view(case)
    if view == REJECT:
        expected, claims = "invalid", None
    else:
        assert isinstance(view, Case)
        expected, claims = pyjwt_outcome(build(RING, view, now), view.config)
    context = f"token={token}\ncase={case}\ndifferences={applied}\npyjwt={expected}"
    assert (gyre == "ok") == (expected == "ok"), context
    if gyre == "expired":  # Centrifugo's 109 / 3005 must mean a good token out of its time
        assert expected in ("ExpiredSignatureError", "ImmatureSignatureError"), context
    if gyre == "ok":
        original = json.loads(claims_json(case, now))
        assert result.payload == original, context
        assert claims is not None
        sub = original.get("sub")
        assert result.user_id == (sub if isinstance(sub, str) else ""), context


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_gyre_accepts_exactly_what_pyjwt_accepts(case: Case) -> None:
    check(case)


_CLEAN = Config(hmac=True, rsa=True, ec="P-256", audience="", issuer="")


def _case(alg: str = "HS256", **changes: Any) -> Case:
    claims = {"sub": "42", "exp": Time("int", 3600), **changes.pop("claims", {})}
    header = {"alg": alg, **changes.pop("header", {})}
    return Case(config=_CLEAN, kind="connect", header=header, claims=claims, **changes)


# one example per difference: PyJWT alone disagrees with Centrifugo's (and Gyre's) verdict
DIFFERENCE_EXAMPLES = {
    "ps_algorithms": _case("PS256"),
    "base64_padding": _case(mutation="pad", segment=2),  # a 43-character HS256 signature
    "noncanonical_base64": _case(mutation="noncanonical", segment=2),
    "crit_and_b64_headers": _case(header={"crit": ["exp"]}),
    "null_is_absent": _case(claims={"sub": None}),
    "header_field_types": _case(header={"typ": 1}),
    "non_standard_json": _case(claims_form="nan"),
    "lone_surrogate_escape": _case(claims_form="surrogate"),
    "numeric_date_forms": _case(claims={"exp": Time("str_float", 3600)}),
    "iat_not_checked": _case(claims={"iat": Time("int", 3600)}),
    "claim_types_checked_always": _case(claims={"iss": 5}),
}


def test_every_difference_has_an_example() -> None:
    assert set(DIFFERENCE_EXAMPLES) == {d.name for d in DIFFERENCES}


@pytest.mark.parametrize("name", sorted(DIFFERENCE_EXAMPLES))
def test_each_difference_is_real(name: str) -> None:
    case = DIFFERENCE_EXAMPLES[name]
    now = time.time()
    token = build(RING, case, now)
    gyre, _ = gyre_outcome(token, case)
    raw_pyjwt, _ = pyjwt_outcome(token, case.config)
    assert (gyre == "ok") != (raw_pyjwt == "ok"), (gyre, raw_pyjwt)
    assert name in centrifugo_view(case)[1]
    check(case)


NAMED_CASES = {
    "valid HS256": _case(),
    "valid RS512": _case("RS512"),
    "valid ES256": _case("ES256"),
    "valid ES384 with a P-384 key": dataclasses.replace(
        _case("ES384"), config=dataclasses.replace(_CLEAN, ec="P-384")
    ),
    "alg none, empty signature": _case("none", signer="none"),
    "alg None": _case("None", signer="none"),
    "missing alg": Case(config=_CLEAN, kind="connect", header={}, claims={"sub": "1"}),
    "HS256 signed with the RSA public key PEM": _case(signer="rsa_pem_as_secret"),
    "HS256 with the PEM, RSA key only": dataclasses.replace(
        _case(signer="rsa_pem_as_secret"), config=dataclasses.replace(_CLEAN, hmac=False)
    ),
    "ES256 signed on another curve": _case("ES256", signer="wrong_key"),
    "ECDSA r || 0 || s": _case("ES256", mutation="zero_in_signature"),
    "RS256 by another key": _case("RS256", signer="wrong_key"),
    "header padded with '='": _case(mutation="pad", segment=0),
    "junk in the payload segment": _case(mutation="junk", segment=1),
    "standard base64 alphabet": _case(mutation="std_alphabet", segment=2),
    "four segments": _case(mutation="extra_segment"),
    "two segments": _case(mutation="two_segments"),
    "header is not JSON": _case(header_form="truncated"),
    "header is a JSON array": _case(header_form="array"),
    "duplicate alg in the header, the later wins": _case(header_form="duplicate"),
    "duplicate sub in the claims, the later wins": _case(claims_form="duplicate"),
    "claims with a BOM": _case(claims_form="bom"),
    "claims in UTF-16": _case(claims_form="utf16"),
    "expired": _case(claims={"exp": Time("int", -90)}),
    "expired, as a float": _case(claims={"exp": Time("float", -90)}),
    "not yet valid": _case(claims={"nbf": Time("int", 90)}),
    "nbf true": _case(claims={"nbf": Time("true")}),
    "aud list matches": dataclasses.replace(
        _case(claims={"aud": ["x", "aud-a"]}), config=dataclasses.replace(_CLEAN, audience="aud-a")
    ),
    "aud string does not match": dataclasses.replace(
        _case(claims={"aud": "x"}), config=dataclasses.replace(_CLEAN, audience="aud-a")
    ),
    "aud missing": dataclasses.replace(_case(), config=dataclasses.replace(_CLEAN, audience="a")),
    "iss mismatch": dataclasses.replace(
        _case(claims={"iss": "other"}), config=dataclasses.replace(_CLEAN, issuer="iss-a")
    ),
}


@pytest.mark.parametrize("name", sorted(NAMED_CASES))
def test_named_cases_agree(name: str) -> None:
    check(NAMED_CASES[name])
