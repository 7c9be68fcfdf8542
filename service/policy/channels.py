"""Channel names and namespaces (docs/protocol.md step 2).

``ChannelRules`` is immutable; a config reload builds a new one and swaps the reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..config import ChannelOptions, Config
from ..protocol import codes as c


@dataclass(frozen=True, slots=True)
class ResolvedChannel:
    """A channel's namespace options and name properties."""

    options: ChannelOptions
    namespace: str
    private: bool
    user_limited: bool
    allowed_users: tuple[str, ...]


class ChannelRules:
    """Namespace lookup and channel validation with the config's boundaries."""

    def __init__(self, cfg: Config) -> None:
        self.top = cfg.channel_options
        self.namespaces = {ns.name: ns.options for ns in cfg.namespaces}
        self.private_prefix = cfg.channel_private_prefix
        self.ns_boundary = cfg.channel_namespace_boundary
        self.user_boundary = cfg.channel_user_boundary
        self.user_separator = cfg.channel_user_separator
        self._regexes: dict[str, re.Pattern[str]] = {}
        if self.top.channel_regex:
            self._regexes[""] = re.compile(self.top.channel_regex)
        for name, opts in self.namespaces.items():
            if opts.channel_regex:
                self._regexes[name] = re.compile(opts.channel_regex)

    def namespace_of(self, channel: str) -> str:
        name = channel
        if self.private_prefix and name.startswith(self.private_prefix):
            name = name[len(self.private_prefix) :]
        if self.ns_boundary and self.ns_boundary in name:
            return name.split(self.ns_boundary, 1)[0]
        return ""

    def namespace_options(self, ns: str) -> ChannelOptions:
        """Options of namespace ``ns`` ("" = top level); raises ReplyError 102 when unknown."""
        if not ns:
            return self.top
        opts = self.namespaces.get(ns)
        if opts is None:
            raise c.ReplyError(c.ERROR_UNKNOWN_CHANNEL)
        return opts

    def resolve(self, channel: str) -> ResolvedChannel:
        """Options for ``channel``; raises ReplyError 102 for an unknown namespace."""
        ns = self.namespace_of(channel)
        opts = self.namespace_options(ns)
        private = bool(self.private_prefix) and channel.startswith(self.private_prefix)
        user_limited = False
        users: tuple[str, ...] = ()
        if (
            opts.allow_user_limited_channels
            and self.user_boundary
            and self.user_boundary in channel
        ):
            user_limited = True
            tail = channel.rsplit(self.user_boundary, 1)[1]
            users = tuple(tail.split(self.user_separator)) if self.user_separator else (tail,)
        return ResolvedChannel(opts, ns, private, user_limited, users)

    def valid_name(self, channel: str, resolved: ResolvedChannel) -> bool:
        """Regex of the namespace on the part after ``ns:``, else ASCII only
        (docs/protocol.md#subscribing)."""
        regex = self._regexes.get(resolved.namespace)
        if regex is not None:
            name = channel
            if resolved.private:
                name = name[len(self.private_prefix) :]
            if resolved.namespace:
                name = name[len(resolved.namespace) + len(self.ns_boundary) :]
            return regex.search(name) is not None
        return channel.isascii()

    def check(self, channel: str) -> ResolvedChannel:
        """``resolve`` plus name validation (107 bad request when invalid)."""
        resolved = self.resolve(channel)
        if not self.valid_name(channel, resolved):
            raise c.ReplyError(c.ERROR_BAD_REQUEST)
        return resolved

    def personal_channel(self, user: str, namespace: str) -> str:
        if namespace:
            return f"{namespace}{self.ns_boundary}{self.user_boundary}{user}"
        return f"{self.user_boundary}{user}"
