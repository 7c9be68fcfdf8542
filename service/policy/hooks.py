"""Centrifugo v4.1.5 permission rules plugged into the core (docs/protocol.md,
docs/configuration.md#tokens).

Secure by default: every client capability is denied unless a token, a user-limited channel
rule or an explicit ``allow_*`` namespace option grants it (or ``client_insecure``).
``reload`` swaps rules and token keys atomically (SIGHUP).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..auth import SubscribeOverride, TokenExpired, TokenInvalid, TokenKeys, TokenVerifier
from ..config import ChannelOptions, Config
from ..core.engine import PublishOptions
from ..core.hooks import (
    ChannelCapabilities,
    ConnectDecision,
    PublishDecision,
    RefreshDecision,
    SubRefreshDecision,
    SubscriptionOptions,
)
from ..protocol import codes as c
from ..protocol import messages as m
from ..proxy import Connections, NullProxyMetrics, ProxyMetrics, ProxyRoutes, call_rpc
from . import proxied
from .channels import ChannelRules
from .options import base_options, publish_options

if TYPE_CHECKING:
    from ..core.client import ClientSession


def token_keys(cfg: Config) -> TokenKeys:
    return TokenKeys(
        hmac_secret_key=cfg.token_hmac_secret_key,
        rsa_public_key=cfg.token_rsa_public_key,
        ecdsa_public_key=cfg.token_ecdsa_public_key,
        jwks_public_endpoint=cfg.token_jwks_public_endpoint,
        audience=cfg.token_audience,
        audience_regex=cfg.token_audience_regex,
        issuer=cfg.token_issuer,
        issuer_regex=cfg.token_issuer_regex,
    )


class CentrifugoHooks:
    """``ClientHooks`` implementation with Centrifugo's rules.

    The proxies of ``cfg`` are built here (their HTTP sessions and gRPC channels live in
    ``self.connections`` until :meth:`close`); ``proxy_metrics`` receives their calls.
    Raises OSError when a gRPC proxy's ``grpc_cert_file`` cannot be read.
    """

    def __init__(
        self,
        cfg: Config,
        verifier: TokenVerifier | None = None,
        *,
        proxy_metrics: ProxyMetrics | None = None,
    ) -> None:
        self.connections = Connections()
        self.proxy_metrics: ProxyMetrics = proxy_metrics or NullProxyMetrics()
        self.proxies = ProxyRoutes(cfg, self.connections, self.proxy_metrics)
        self.verifier = verifier or TokenVerifier(token_keys(cfg))
        self.cfg = cfg
        self.rules = ChannelRules(cfg)
        # namespace name -> capabilities; only known namespaces enter, so it stays small
        self._caps: dict[str, ChannelCapabilities] = {}
        # channel -> capabilities for server API publishes (bounded, see ``api_channel``)
        self._channel_caps: dict[str, ChannelCapabilities] = {}

    def reload(self, cfg: Config) -> None:
        """Swap channel rules, proxies and token keys (all built before the swap; on an
        error nothing changes).  Proxy endpoints that stay keep their connections; the ones
        gone are closed once in-flight calls had their timeout to finish."""
        rules = ChannelRules(cfg)
        old = self.proxies
        try:
            proxies = ProxyRoutes(cfg, self.connections, self.proxy_metrics)
        except BaseException:
            self.connections.prune(keep=old.keys, grace=0)
            raise
        self.verifier.reload(token_keys(cfg))
        self.cfg, self.rules, self._caps, self._channel_caps = cfg, rules, {}, {}
        self.proxies = proxies
        self.connections.prune(keep=proxies.keys, grace=old.max_timeout + 1.0)

    async def close(self) -> None:
        await self.verifier.close()
        await self.connections.close()

    # --- helpers --------------------------------------------------------------------------

    def _can_history(self, client: ClientSession, channel: str, o: ChannelOptions) -> bool:
        anon_ok = bool(client.user) or o.allow_history_for_anonymous
        if o.allow_history_for_client and anon_ok:
            return True
        if o.allow_history_for_subscriber and channel in client.subs and anon_ok:
            return True
        return self.cfg.client_insecure

    def _can_presence(self, client: ClientSession, channel: str, o: ChannelOptions) -> bool:
        anon_ok = bool(client.user) or o.allow_presence_for_anonymous
        if o.allow_presence_for_client and anon_ok:
            return True
        if o.allow_presence_for_subscriber and channel in client.subs and anon_ok:
            return True
        return self.cfg.client_insecure

    # --- connect / refresh ----------------------------------------------------------------

    async def connect(self, client: ClientSession, req: m.ConnectRequest) -> ConnectDecision:
        cfg = self.cfg
        rules = self.rules
        subs: dict[str, SubscriptionOptions] = {}
        token_channels: frozenset[str] = frozenset()
        data = b""
        granted = None
        connect_proxy = None if req.token else self.proxies.connect  # a token always wins
        if connect_proxy is not None:
            granted = await proxied.connect(connect_proxy, rules, client, req)
        if granted is not None:
            grant, subs = granted
            user, info, expire_at, meta, data = (
                grant.user,
                grant.info,
                grant.expire_at,
                grant.meta,
                grant.data,
            )
        elif req.token:
            try:
                tok = await self.verifier.verify_connect(req.token)
            except TokenExpired:
                raise c.ReplyError(c.ERROR_TOKEN_EXPIRED) from None
            except TokenInvalid:
                raise c.DisconnectError(c.DISCONNECT_INVALID_TOKEN) from None
            if not tok.user_id and cfg.disallow_anonymous_connection_tokens:
                raise c.DisconnectError(c.DISCONNECT_PERMISSION_DENIED)
            if tok.b64info_error:
                raise c.ReplyError(c.ERROR_INTERNAL)
            user = tok.user_id
            info = tok.info
            expire_at = 0 if cfg.client_insecure else tok.expire_at
            meta = tok.meta
            if tok.subs:
                for ch, so in tok.subs.items():
                    resolved = rules.resolve(ch)
                    o = base_options(resolved.options, so.override)
                    o.chan_info = so.info
                    o.data = so.data
                    subs[ch] = o
            else:
                for ch in tok.channels:
                    subs[ch] = base_options(rules.resolve(ch).options)
            token_channels = frozenset(subs)
        elif cfg.allow_anonymous_connect_without_token or cfg.client_insecure:
            user, info, expire_at, meta = "", b"", 0, b""
        else:
            raise c.DisconnectError(c.DISCONNECT_BAD_REQUEST)

        if cfg.user_subscribe_to_personal and user:
            ch = rules.personal_channel(user, cfg.user_personal_channel_namespace)
            if ch not in subs:
                subs[ch] = base_options(rules.resolve(ch).options)

        # client channels: not when a connect proxy was asked (it decides with ``channels``)
        for ch in () if connect_proxy is not None else req.subs:
            if ch in subs:
                continue
            client_opts = self._client_channel(user, ch)
            if client_opts is not None:
                subs[ch] = client_opts

        return ConnectDecision(
            user=user,
            expire_at=expire_at,
            info=info,
            data=data,
            meta=meta,
            subs=subs,
            client_side_refresh=self.proxies.refresh is None,
            token_channels=token_channels,
            single_connection=cfg.user_personal_single_connection,
        )

    def _client_channel(self, user: str, ch: str) -> SubscriptionOptions | None:
        """A channel the client asked for in ConnectRequest.subs, if it may have it
        (docs/protocol.md#server-side-subscriptions); a name longer than ``channel_max_length``
        is not a valid name (ignored), nor is an empty one."""
        rules = self.rules
        max_length = self.cfg.channel_max_length
        if not ch or (max_length > 0 and len(ch) > max_length):
            return None
        if rules.private_prefix and ch.startswith(rules.private_prefix):
            return None
        try:
            resolved = rules.resolve(ch)
        except c.ReplyError:
            raise c.DisconnectError(c.DISCONNECT_BAD_REQUEST) from None
        o = resolved.options
        if o.proxy_subscribe or o.subscribe_proxy_name:
            return None
        if not rules.valid_name(ch, resolved):
            return None
        if resolved.user_limited:
            allowed = user in resolved.allowed_users
        else:
            allowed = o.allow_subscribe_for_client and (
                bool(user) or o.allow_subscribe_for_anonymous
            )
        if not allowed and not self.cfg.client_insecure:
            return None
        return base_options(o)

    async def refresh(self, client: ClientSession, req: m.RefreshRequest) -> RefreshDecision:
        try:
            tok = await self.verifier.verify_connect(req.token)
        except TokenExpired:
            raise c.DisconnectError(c.DISCONNECT_EXPIRED) from None
        except TokenInvalid:
            raise c.DisconnectError(c.DISCONNECT_INVALID_TOKEN) from None
        if tok.user_id != client.user:
            raise c.DisconnectError(c.DISCONNECT_INVALID_TOKEN)
        channels = frozenset(tok.subs) if tok.subs else frozenset(tok.channels)
        return RefreshDecision(
            expire_at=0 if self.cfg.client_insecure else tok.expire_at,
            info=tok.info,
            meta=tok.meta,
            token_channels=channels,
        )

    # --- subscriptions --------------------------------------------------------------------

    async def subscribe(
        self, client: ClientSession, req: m.SubscribeRequest
    ) -> SubscriptionOptions:
        cfg = self.cfg
        ch = req.channel
        resolved = self.rules.check(ch)
        o = resolved.options
        if resolved.private and not req.token:
            raise c.ReplyError(c.ERROR_PERMISSION_DENIED)
        if req.token:
            try:
                tok = await self.verifier.verify_subscribe(req.token)
            except TokenExpired:
                raise c.ReplyError(c.ERROR_TOKEN_EXPIRED) from None
            except TokenInvalid:
                raise c.ReplyError(c.ERROR_PERMISSION_DENIED) from None
            if tok.channel != ch:
                raise c.DisconnectError(c.DISCONNECT_INVALID_TOKEN)
            if not cfg.skip_user_check_in_subscription_token and tok.user_id != client.user:
                raise c.DisconnectError(c.DISCONNECT_INVALID_TOKEN)
            if tok.client and tok.client != client.id:
                raise c.DisconnectError(c.DISCONNECT_INVALID_TOKEN)
            opts = base_options(o, tok.override)
            opts.expire_at = tok.expire_at
            opts.chan_info = tok.info
            opts.data = tok.data
        else:
            opts = base_options(o)
            if resolved.user_limited and client.user in resolved.allowed_users:
                pass
            elif (o.proxy_subscribe or o.subscribe_proxy_name) and not resolved.user_limited:
                proxy = self.proxies.channel_proxy("subscribe", o)
                if proxy is None:  # pragma: no cover - validation keeps the modes apart
                    raise c.ReplyError(c.ERROR_NOT_AVAILABLE)
                opts = await proxied.subscribe(proxy, o, client, req)
            elif (
                o.allow_subscribe_for_client
                and (client.user or o.allow_subscribe_for_anonymous)
                and not resolved.user_limited
            ):
                pass
            elif cfg.client_insecure:
                pass
            else:
                raise c.ReplyError(c.ERROR_PERMISSION_DENIED)
        history_ok = self._can_history(client, ch, o)
        if req.positioned and (o.allow_positioning or history_ok):
            opts.positioned = True
        if req.recoverable and (o.allow_recovery or history_ok):
            opts.recoverable = True
            opts.positioned = True
        if req.join_leave and o.join_leave and self._can_presence(client, ch, o):
            opts.push_join_leave = True
        return opts

    async def sub_refresh(self, client: ClientSession, req: m.SubRefreshRequest) -> int:
        """The new expiry of the subscription to ``req.channel``.

        An expired token goes through the same channel/user/client checks as a valid one
        (3500 on a mismatch) and is then answered with error 109: the subscription keeps its
        current expiry and ends then.  (v4.1.5 accepted any expired token, even one of
        another user for another channel, and the subscription stopped expiring.)
        """
        expired = False
        try:
            tok = await self.verifier.verify_subscribe(req.token)
        except TokenExpired as e:
            if e.token is None:
                raise c.ReplyError(c.ERROR_TOKEN_EXPIRED) from None
            tok, expired = e.token, True
        except TokenInvalid:
            raise c.DisconnectError(c.DISCONNECT_INVALID_TOKEN) from None
        if tok.channel != req.channel:
            raise c.DisconnectError(c.DISCONNECT_INVALID_TOKEN)
        if not self.cfg.skip_user_check_in_subscription_token and tok.user_id != client.user:
            raise c.DisconnectError(c.DISCONNECT_INVALID_TOKEN)
        if tok.client and tok.client != client.id:
            raise c.DisconnectError(c.DISCONNECT_INVALID_TOKEN)
        if expired:
            raise c.ReplyError(c.ERROR_TOKEN_EXPIRED)
        return tok.expire_at

    # --- other commands -------------------------------------------------------------------

    async def publish(self, client: ClientSession, req: m.PublishRequest) -> PublishDecision:
        ch = req.channel
        resolved = self.rules.check(ch)
        o = resolved.options
        proxy = self.proxies.channel_proxy("publish", o)  # 108: proxied, none configured
        if proxy is not None:
            return await proxied.publish(proxy, o, self.cfg.history_meta_ttl, client, req)
        anon_ok = bool(client.user) or o.allow_publish_for_anonymous
        allowed = (
            (o.allow_publish_for_client and anon_ok)
            or (o.allow_publish_for_subscriber and ch in client.subs and anon_ok)
            or self.cfg.client_insecure
        )
        if not allowed:
            raise c.ReplyError(c.ERROR_PERMISSION_DENIED)
        return PublishDecision(
            publish_options(o, self.cfg.history_meta_ttl, self.cfg.idempotent_result_ttl)
        )

    async def presence(self, client: ClientSession, channel: str) -> None:
        o = self.rules.check(channel).options
        if not o.presence:
            raise c.ReplyError(c.ERROR_NOT_AVAILABLE)
        if not self._can_presence(client, channel, o):
            raise c.ReplyError(c.ERROR_PERMISSION_DENIED)

    async def presence_stats(self, client: ClientSession, channel: str) -> None:
        await self.presence(client, channel)

    async def history(self, client: ClientSession, req: m.HistoryRequest) -> None:
        o = self.rules.check(req.channel).options
        if o.history_size <= 0 or o.history_ttl <= 0:
            raise c.ReplyError(c.ERROR_NOT_AVAILABLE)
        if not self._can_history(client, req.channel, o):
            raise c.ReplyError(c.ERROR_PERMISSION_DENIED)

    async def rpc(self, client: ClientSession, req: m.RPCRequest) -> bytes:
        """The RPC proxy's answer; 108 without one (104: unknown RPC namespace, granular)."""
        return await call_rpc(self.proxies.rpc_proxy(req.method), client, req)

    async def refresh_expired(self, client: ClientSession) -> RefreshDecision | None:
        return await proxied.refresh(self.proxies, client)

    async def sub_refresh_expired(
        self, client: ClientSession, channel: str
    ) -> SubRefreshDecision | None:
        return await proxied.sub_refresh(self.proxies, self.rules, client, channel)

    def publish_options(self, channel: str) -> PublishOptions:
        try:
            return self._capabilities(channel).publish
        except c.ReplyError:  # namespace gone (reload): no history, the node's meta ttl
            return PublishOptions(history_meta_ttl=self.cfg.history_meta_ttl)

    def _capabilities(self, channel: str) -> ChannelCapabilities:
        """Per-namespace capabilities, built once per namespace and rules generation.

        On the publish hot path: a dict lookup instead of three frozen dataclasses per call.
        Raises ReplyError 102 for an unknown namespace (nothing is cached for it).
        """
        rules = self.rules
        ns = rules.namespace_of(channel)
        caps = self._caps.get(ns)
        if caps is None:
            o = rules.namespace_options(ns)
            caps = ChannelCapabilities(
                presence=o.presence,
                history=o.history_size > 0 and o.history_ttl > 0,
                publish=publish_options(
                    o, self.cfg.history_meta_ttl, self.cfg.idempotent_result_ttl
                ),
            )
            self._caps[ns] = caps
        return caps

    # --- ApiPolicy ------------------------------------------------------------------------

    _CHANNEL_CAPS_MAX = 65536

    def api_channel(self, channel: str) -> ChannelCapabilities:
        """Capabilities for a server API call: 107 for an empty channel, 102 unknown namespace.

        Remembered per channel (up to ``_CHANNEL_CAPS_MAX``, then forgotten all at once; reset
        on reload): a stream of publishes to the same channels resolves each one once.
        """
        caps = self._channel_caps.get(channel)
        if caps is None:
            if not channel:
                raise c.ReplyError(c.ERROR_BAD_REQUEST)
            caps = self._capabilities(channel)
            if len(self._channel_caps) >= self._CHANNEL_CAPS_MAX:
                self._channel_caps.clear()
            self._channel_caps[channel] = caps
        return caps

    def server_subscription(self, channel: str, override: dict[str, bool]) -> SubscriptionOptions:
        o = self.rules.resolve(channel).options
        ov = SubscribeOverride(**override) if override else None
        opts = base_options(o, ov)
        opts.client_side_refresh = False
        return opts
