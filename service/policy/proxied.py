"""The proxy branches of Centrifugo's rules: what the policy does with a proxy's answer.

``CentrifugoHooks`` decides *whether* a proxy is asked (no token, proxied namespace...);
these functions ask it (``service.proxy``) and turn the outcome into the core's decisions with
the namespace options of ``ChannelRules`` (docs/proxy.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..auth import SubscribeOverride
from ..config import ChannelOptions
from ..core.engine import PublishOptions
from ..core.hooks import PublishDecision, RefreshDecision, SubRefreshDecision, SubscriptionOptions
from ..protocol import codes as c
from ..protocol import messages as m
from ..proxy import (
    ConnectGrant,
    Proxy,
    ProxyRoutes,
    call_connect,
    call_publish,
    call_refresh,
    call_sub_refresh,
    call_subscribe,
)
from .channels import ChannelRules
from .options import base_options, publish_options

if TYPE_CHECKING:
    from ..core.client import ClientSession


async def connect(
    proxy: Proxy, rules: ChannelRules, client: ClientSession, req: m.ConnectRequest
) -> tuple[ConnectGrant, dict[str, SubscriptionOptions]] | None:
    """The connect proxy's credentials and its server-side ``channels`` with namespace
    defaults (an unknown namespace is error 102); None when it answered without a result."""
    grant = await call_connect(proxy, client, req)
    if grant is None:
        return None
    subs = {ch: base_options(rules.resolve(ch).options) for ch in grant.channels}
    return grant, subs


async def refresh(routes: ProxyRoutes, client: ClientSession) -> RefreshDecision | None:
    """Server-side refresh at the connection's expiry; None (3005) without a refresh proxy."""
    if routes.refresh is None:
        return None
    grant = await call_refresh(routes.refresh, client)
    if grant is None:
        return None
    return RefreshDecision(expire_at=grant.expire_at, info=grant.info, meta=grant.meta)


async def subscribe(
    proxy: Proxy, o: ChannelOptions, client: ClientSession, req: m.SubscribeRequest
) -> SubscriptionOptions:
    """Namespace options with the proxy's ``override``, channel ``info`` and ``data``."""
    grant = await call_subscribe(proxy, client, req)
    opts = base_options(o, SubscribeOverride(**grant.override) if grant.override else None)
    opts.chan_info = grant.info
    opts.data = grant.data
    return opts


async def sub_refresh(
    routes: ProxyRoutes, rules: ChannelRules, client: ClientSession, channel: str
) -> SubRefreshDecision | None:
    """Server-side refresh of a subscription past its expiry; None (expired) when its
    namespace has no sub_refresh proxy (any more)."""
    try:
        proxy = routes.channel_proxy("sub_refresh", rules.resolve(channel).options)
    except c.ReplyError:  # namespace gone, or proxied without a configured proxy
        return None
    if proxy is None:
        return None
    grant = await call_sub_refresh(proxy, client, channel)
    if grant is None:
        return None
    return SubRefreshDecision(expire_at=grant.expire_at, info=grant.info)


async def publish(
    proxy: Proxy, o: ChannelOptions, meta_ttl: float, client: ClientSession, req: m.PublishRequest
) -> PublishDecision:
    """The publish proxy allowed it: its data (if it rewrote it); ``skip_history`` publishes
    without history."""
    grant = await call_publish(proxy, client, req)
    opts = publish_options(o, meta_ttl)
    if grant.skip_history:
        opts = PublishOptions(history_meta_ttl=meta_ttl)
    return PublishDecision(opts, grant.data)
