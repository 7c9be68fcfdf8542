"""Random JWT cases for the PyJWT differential test: a structured description of a token and
the hypothesis strategy that draws it.

A :class:`Case` says which keys the verifier is configured with, the header and claims (as
Python values, with ``exp``/``nbf``/``iat`` kept as :class:`Time` markers resolved against the
clock when the token is built), how each JSON segment is written, who signs and what is done to
the compact text afterwards. :func:`build` turns a case into the token string. Keeping the case
structured lets the test state each documented Centrifugo difference as a small rewrite of the
case (see ``DIFFERENCES`` in test_pyjwt_differential.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import strategies as st

from .tokens import SECRET, b64url, public_pem

WRONG_SECRET = "not-the-secret-" + "y" * 49
CURVES = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}
EC_ALG_CURVE = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
HS = ("HS256", "HS384", "HS512")
RS = ("RS256", "RS384", "RS512")
PS = ("PS256", "PS384", "PS512")
ES = tuple(EC_ALG_CURVE)
_HASH = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}
_CHASH = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
_EC_SIZE = {"P-256": 32, "P-384": 48, "P-521": 66}
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@dataclass(frozen=True)
class KeyRing:
    """The private keys of the test session (the verifier gets the public halves)."""

    rsa: rsa.RSAPrivateKey
    rsa_other: rsa.RSAPrivateKey
    ec: dict[str, ec.EllipticCurvePrivateKey]

    @classmethod
    def generate(cls) -> KeyRing:
        return cls(
            rsa=rsa.generate_private_key(public_exponent=65537, key_size=2048),
            rsa_other=rsa.generate_private_key(public_exponent=65537, key_size=2048),
            ec={name: ec.generate_private_key(curve) for name, curve in CURVES.items()},
        )


@dataclass(frozen=True)
class Config:
    """What the verifier is configured with (``token_*`` options)."""

    hmac: bool
    rsa: bool
    ec: str | None  # curve name of token_ecdsa_public_key
    audience: str
    issuer: str


@dataclass(frozen=True)
class Time:
    """A NumericDate claim written as ``form``, ``offset`` seconds from now (see ``render``)."""

    form: str
    offset: int = 0

    def render(self, now: float) -> Any:
        base = int(now) + self.offset
        match self.form:
            case "int":
                return base
            case "float":
                return base + 0.25
            case "str_int":
                return str(base)
            case "str_float":
                return f"{base}.25"
            case "str_exp":
                return f"{base / 1e9:.12f}e9"
            case "str_space":
                return f" {base}"
            case "str_plus":
                return f"+{base}"
            case "str_underscore":
                return f"{str(base)[:3]}_{str(base)[3:]}"
            case "str_leading_zero":
                return f"0{base}"
            case "str_huge":
                return "1e400"
            case "str_word":
                return "tomorrow"
            case "null":
                return None
            case "true":
                return True
            case "false":
                return False
            case "list":
                return [base]
            case "object":
                return {"t": base}
        raise AssertionError(self.form)


@dataclass(frozen=True)
class Case:
    config: Config
    kind: str  # "connect" | "subscribe"
    header: dict[str, Any]
    claims: dict[str, Any]
    header_form: str = "compact"
    claims_form: str = "compact"
    signer: str = "matching"
    mutation: str = "none"
    segment: int = 0  # which segment a segment mutation touches


def render_claims(case: Case, now: float) -> dict[str, Any]:
    claims = {k: v.render(now) if isinstance(v, Time) else v for k, v in case.claims.items()}
    if case.kind == "subscribe":
        claims["channel"] = "news"
    return claims


def _json(value: Any, form: str, dup: str) -> bytes:
    text = json.dumps(value, separators=(",", ":"))
    inner = text[1:]  # "{" stripped: forms below insert a member first
    sep = "," if inner != "}" else ""
    match form:
        case "compact":
            return text.encode()
        case "pretty":
            return json.dumps(value, indent=1, ensure_ascii=False).encode()
        case "whitespace":
            return f" \t{text}\r\n".encode()
        case "duplicate":  # the later member wins in Go, json and orjson alike
            return f'{{"{dup}":"dup"{sep}{inner}'.encode()
        case "bom":
            return b"\xef\xbb\xbf" + text.encode()
        case "utf16":
            return text.encode("utf-16")
        case "nan":
            return f'{{"x_nan":NaN{sep}{inner}'.encode()
        case "surrogate":
            return f'{{"x_sur":"\\udc00"{sep}{inner}'.encode()
        case "array":
            return f"[{text}]".encode()
        case "truncated":
            return text[:-1].encode()
        case "trailing":
            return f"{text} x".encode()
    raise AssertionError(form)


def _alg_of(case: Case) -> str:
    alg = case.header.get("alg")
    return alg if isinstance(alg, str) and alg in (*HS, *RS, *PS, *ES) else "HS256"


def _sign(ring: KeyRing, case: Case, data: bytes) -> bytes:
    alg = _alg_of(case)
    bits = alg[2:]
    signer = case.signer
    if signer == "none":
        return b""
    if signer == "rsa_pem_as_secret":  # alg confusion: the public key text as HMAC secret
        alg = alg if alg in HS else "HS256"
        return hmac.new(public_pem(ring.rsa).encode(), data, _HASH[alg[2:]]).digest()
    if alg in HS:
        secret = WRONG_SECRET if signer == "wrong_key" else SECRET
        return hmac.new(secret.encode(), data, _HASH[bits]).digest()
    if alg in RS or alg in PS:
        key = ring.rsa_other if signer == "wrong_key" else ring.rsa
        if alg in RS:
            return key.sign(data, padding.PKCS1v15(), _CHASH[bits]())
        pss = padding.PSS(mgf=padding.MGF1(_CHASH[bits]()), salt_length=_CHASH[bits].digest_size)
        return key.sign(data, pss, _CHASH[bits]())
    curve = EC_ALG_CURVE[alg]
    if signer == "wrong_key":  # a key on another curve, with the algorithm's own hash
        curve = {"P-256": "P-384", "P-384": "P-521", "P-521": "P-256"}[curve]
    r, s = decode_dss_signature(ring.ec[curve].sign(data, ec.ECDSA(_CHASH[bits]())))
    size = _EC_SIZE[curve]
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def _mutate(segment: str, mutation: str) -> str:
    match mutation:
        case "pad":
            return segment + "=" * (-len(segment) % 4 or 4)
        case "noncanonical":  # set an unused low bit of the last character (if it has one)
            if len(segment) % 4 in (2, 3):
                index = _ALPHABET.index(segment[-1]) | 1
                return segment[:-1] + _ALPHABET[index]
            return segment
        case "junk":
            return segment[:2] + "!" + segment[2:]
        case "std_alphabet":
            return segment + "+/"
        case "space":
            return segment + " "
        case "append_char":
            return segment + "A"
    return segment


def claims_json(case: Case, now: float) -> bytes:
    """The payload segment's JSON text."""
    return _json(render_claims(case, now), case.claims_form, "sub")


def build(ring: KeyRing, case: Case, now: float) -> str:
    """The compact token for ``case``; header and payload mutations happen before signing (so
    the signature covers the mutated text), signature mutations after."""
    head = b64url(_json(case.header, case.header_form, "alg"))
    body = b64url(claims_json(case, now))
    if case.segment == 0:
        head = _mutate(head, case.mutation)
    elif case.segment == 1:
        body = _mutate(body, case.mutation)
    signature = _sign(ring, case, f"{head}.{body}".encode())
    match case.mutation:
        case "flip_signature" if signature:
            signature = bytes([signature[0] ^ 1]) + signature[1:]
        case "truncate_signature":
            signature = signature[:-1]
        case "zero_in_signature":  # r || 0x00 || s: the same integers for a lax ECDSA split
            half = len(signature) // 2
            signature = signature[:half] + b"\0" + signature[half:]
    sig = b64url(signature)
    if case.segment == 2:
        sig = _mutate(sig, case.mutation)
    match case.mutation:
        case "extra_segment":
            return f"{head}.{body}.{sig}.{sig}"
        case "two_segments":
            return f"{head}.{body}"
    return f"{head}.{body}.{sig}"


# -- strategies ----------------------------------------------------------------------------------
#
# Each aspect of a case has good values (a token Centrifugo accepts) and any values. A case is
# clean (every aspect good), has one noisy aspect, or is noisy everywhere, so valid tokens are
# common and each kind of defect is also tried on its own.

_PAST = st.sampled_from([-(10**8), -86400, -90])
_FUTURE = st.sampled_from([90, 86400, 10**8])
_GOOD_TIME_FORMS = st.sampled_from(["int", "float", "str_int", "str_float", "str_exp"])
_ANY_TIME_FORMS = st.sampled_from(
    ["int", "float", "str_int", "str_float", "str_exp"] * 3
    + [
        "str_space",
        "str_plus",
        "str_underscore",
        "str_leading_zero",
        "str_huge",
        "str_word",
        "null",
        "true",
        "false",
        "list",
        "object",
    ]
)
_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=6,
)
_ABSENT = object()
_ANY_CLAIMS = {
    "sub": st.sampled_from([_ABSENT, "42", "", "user-é", None, 42, ["42"]]),
    "jti": st.sampled_from([_ABSENT, "j1", None, 7]),
    "iss": st.sampled_from([_ABSENT, "iss-a", "iss-b", "", None, 5, ["iss-a"]]),
    "aud": st.sampled_from(
        [
            _ABSENT,
            "aud-a",
            "aud-b",
            ["aud-b", "aud-a"],
            ["aud-b"],
            [],
            "",
            None,
            5,
            ["aud-a", 5],
            {"a": 1},
        ]
    ),
}
_ANY_HEADER = {
    "typ": st.sampled_from(["JWT", "at+jwt", None, 1]),
    "cty": st.sampled_from(["JWT", None, []]),
    "kid": st.sampled_from(["k1", None, 7]),
    "crit": st.sampled_from([["b64"], ["exp"], [], "b64"]),
    "b64": st.booleans(),
}
_GOOD_ALGS = (*HS, *RS, *ES)
_ANY_ALGS = (*_GOOD_ALGS, *PS, "none", "None", "", "hs256", "EdDSA", "ES521", None, 256)
_GOOD_FORMS = ("compact", "compact", "pretty", "whitespace", "duplicate")
_ANY_FORMS = (*_GOOD_FORMS, "bom", "utf16", "nan", "surrogate", "array", "truncated", "trailing")
_MUTATIONS = (
    "pad",
    "noncanonical",
    "junk",
    "std_alphabet",
    "space",
    "append_char",
    "flip_signature",
    "truncate_signature",
    "zero_in_signature",
    "extra_segment",
    "two_segments",
)
_ASPECTS = (
    "alg",
    "header",
    "sub",
    "jti",
    "iss",
    "aud",
    "exp",
    "nbf",
    "iat",
    "config",
    "forms",
    "signer",
    "mutation",
)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """One random case (see the comment above)."""
    mode = draw(st.sampled_from(["clean", "one", "one", "all"]))
    noisy = set(_ASPECTS) if mode == "all" else set()
    if mode == "one":
        noisy.add(draw(st.sampled_from(_ASPECTS)))

    def pick(aspect: str, good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> Any:
        return draw(bad if aspect in noisy else good)

    alg = pick("alg", st.sampled_from(_GOOD_ALGS), st.sampled_from(_ANY_ALGS))
    header: dict[str, Any] = {} if alg == 256 else {"alg": alg}
    if "header" in noisy:
        for name, values in _ANY_HEADER.items():
            if draw(st.booleans()):
                header[name] = draw(values)
    elif draw(st.booleans()):
        header["typ"] = "JWT"

    config = Config(
        hmac=pick("config", st.just(True), st.booleans()),
        rsa=pick("config", st.just(True), st.booleans()),
        ec=pick(
            "config",
            st.just(EC_ALG_CURVE.get(str(alg), "P-256")),
            st.sampled_from([None, *CURVES]),
        ),
        audience=draw(st.sampled_from(["", "aud-a"])),
        issuer=draw(st.sampled_from(["", "iss-a"])),
    )

    claims: dict[str, Any] = {}
    for name, values in _ANY_CLAIMS.items():
        if name in noisy:
            value = draw(values)
            if value is not _ABSENT:
                claims[name] = value
    if "sub" not in noisy:
        claims["sub"] = draw(st.sampled_from(["42", "", "user-é"]))
    if "iss" not in noisy and (config.issuer or draw(st.booleans())):
        claims["iss"] = config.issuer or "someone"
    if "aud" not in noisy:
        if config.audience:
            claims["aud"] = draw(st.sampled_from(["aud-a", ["aud-b", "aud-a"]]))
        elif draw(st.booleans()):
            claims["aud"] = draw(st.sampled_from(["x", ["x", "y"], [], ""]))
    for name, good_offset in (("exp", _FUTURE), ("nbf", _PAST), ("iat", _PAST)):
        if name in noisy:
            claims[name] = Time(draw(_ANY_TIME_FORMS), draw(_PAST | _FUTURE))
        elif draw(st.booleans()):
            claims[name] = Time(draw(_GOOD_TIME_FORMS), draw(good_offset))
    custom = st.from_regex(r"x_[a-z]{1,5}", fullmatch=True)
    claims.update(draw(st.dictionaries(custom, _json_values, max_size=3)))

    forms = st.sampled_from(_ANY_FORMS)
    return Case(
        config=config,
        kind=draw(st.sampled_from(["connect", "connect", "subscribe"])),
        header=header,
        claims=claims,
        header_form=pick("forms", st.just("compact"), forms),
        claims_form=pick("forms", st.sampled_from(_GOOD_FORMS), forms),
        signer=pick(
            "signer",
            st.just("matching"),
            st.sampled_from(["wrong_key", "rsa_pem_as_secret", "none"]),
        ),
        mutation=pick("mutation", st.just("none"), st.sampled_from(_MUTATIONS)),
        segment=draw(st.integers(0, 2)),
    )
