"""Audience and issuer checks (``token_audience[_regex]``, ``token_issuer[_regex]``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.auth.errors import TokenInvalid


def _compile(pattern: str, option: str) -> re.Pattern[str] | None:
    if not pattern:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid {option}: {exc}") from exc


def _collect_groups(match: re.Match[str], into: dict[str, str]) -> None:
    for name, value in match.groupdict().items():
        into[name] = value if value is not None else ""


@dataclass(frozen=True, slots=True)
class ClaimMatcher:
    """Compiled audience/issuer rules; all empty = no checks."""

    audience: str
    audience_re: re.Pattern[str] | None
    issuer: str
    issuer_re: re.Pattern[str] | None

    @classmethod
    def create(
        cls, *, audience: str, audience_regex: str, issuer: str, issuer_regex: str
    ) -> ClaimMatcher:
        """Validate and compile; ValueError on a bad regex or when both forms of a pair are set."""
        if audience and audience_regex:
            raise ValueError("can not use both token_audience and token_audience_regex")
        if issuer and issuer_regex:
            raise ValueError("can not use both token_issuer and token_issuer_regex")
        return cls(
            audience=audience,
            audience_re=_compile(audience_regex, "token_audience_regex"),
            issuer=issuer,
            issuer_re=_compile(issuer_regex, "token_issuer_regex"),
        )

    def check(self, aud: tuple[str, ...], iss: str) -> dict[str, str]:
        """Raise TokenInvalid on mismatch; return the JWKS URL variables.

        ``audience`` must be one of ``aud``; ``issuer`` must equal ``iss``; ``issuer_re`` must
        match (search) ``iss``; ``audience_re`` must match some ``aud`` entry (the first match
        is used). Named groups of the regex matches become the variables (unmatched → ``""``).
        """
        if self.audience and self.audience not in aud:
            raise TokenInvalid("invalid audience")
        if self.issuer and iss != self.issuer:
            raise TokenInvalid("invalid issuer")
        variables: dict[str, str] = {}
        if self.issuer_re is not None:
            match = self.issuer_re.search(iss)
            if match is None:
                raise TokenInvalid("issuer not matched")
            _collect_groups(match, variables)
        if self.audience_re is not None:
            for entry in aud:
                match = self.audience_re.search(entry)
                if match is not None:
                    _collect_groups(match, variables)
                    break
            else:
                raise TokenInvalid("audience not matched")
        return variables
