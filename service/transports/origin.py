"""``allowed_origins`` check (docs/transports.md#common-rules): glob patterns against the
lower-cased Origin header."""

from __future__ import annotations

import fnmatch


class OriginChecker:
    """Requests without Origin pass; with no patterns any Origin fails; ``*`` allows all."""

    def __init__(self, patterns: tuple[str, ...] | list[str]) -> None:
        self.patterns = tuple(p.lower() for p in patterns)
        self.allow_all = "*" in self.patterns

    def allowed(self, origin: str | None) -> bool:
        if not origin:
            return True
        if self.allow_all:
            return True
        o = origin.lower()
        return any(fnmatch.fnmatchcase(o, p) for p in self.patterns)
