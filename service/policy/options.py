"""Turning namespace options (+ token overrides) into core SubscriptionOptions."""

from __future__ import annotations

from ..auth import SubscribeOverride
from ..config import ChannelOptions
from ..core.engine import PublishOptions
from ..core.hooks import SubscriptionOptions


def base_options(
    opts: ChannelOptions, override: SubscribeOverride | None = None
) -> SubscriptionOptions:
    """Namespace defaults for a subscription: presence, join/leave, forced positioning/recovery."""
    presence = opts.presence
    join_leave = opts.join_leave
    push = opts.force_push_join_leave
    recovery = opts.force_recovery
    positioning = opts.force_positioning
    if override is not None:
        if override.presence is not None:
            presence = override.presence
        if override.join_leave is not None:
            join_leave = override.join_leave
        if override.force_push_join_leave is not None:
            push = override.force_push_join_leave
        if override.force_recovery is not None:
            recovery = override.force_recovery
        if override.force_positioning is not None:
            positioning = override.force_positioning
    return SubscriptionOptions(
        presence=presence,
        join_leave=join_leave,
        push_join_leave=push,
        positioned=positioning or recovery,
        recoverable=recovery,
        client_side_refresh=not (opts.proxy_sub_refresh or opts.sub_refresh_proxy_name),
        allow_delta="fossil" in opts.allowed_delta_types,
        allow_tags_filter=opts.allow_tags_filter,
        cache_recovery=opts.cache_recovery,
        auto_recover=opts.auto_cache_recover and recovery,
    )


def publish_options(
    opts: ChannelOptions, meta_ttl: float, idempotent_result_ttl: float = 300.0
) -> PublishOptions:
    return PublishOptions(
        history_size=opts.history_size,
        history_ttl=opts.history_ttl,
        history_meta_ttl=meta_ttl,
        idempotent_result_ttl=idempotent_result_ttl,
        delta_publish=opts.delta_publish,
    )
