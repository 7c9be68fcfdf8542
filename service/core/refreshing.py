"""Server-side refresh of connections and subscriptions (docs/proxy.md#server-side-refresh).

A connection whose ``client_side_refresh`` is False (a refresh proxy is configured) is not
told its expiry; when ``expire_at`` comes, the session asks ``ClientHooks.refresh_expired``.
A subscription whose ``client_side_refresh`` is False (its namespace has a sub_refresh proxy,
or it was made by the server API) is asked about through ``ClientHooks.sub_refresh_expired``
once it is ``client_expired_sub_close_delay`` past its expiry.  The rules are Centrifugo v4's
(centrifuge v0.28 ``Client.expire`` and ``checkSubscriptionExpiration``); these functions
decide, the session's own methods apply.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from ..protocol import codes as c

if TYPE_CHECKING:
    from .client import ClientSession
    from .subscription import ChannelSub

log = logging.getLogger("gyre.client")


async def refresh_connection(client: ClientSession, expected: int) -> None:
    """Ask the policy about a connection at its expiry ``expected``.

    None ends it with 3005; a hook error with its disconnect (3004 for anything else).  The
    connection lives on only with a new ``expire_at`` still ahead, which replaces the expiry
    (with info / meta when given); ``expire_at`` 0 keeps the reached expiry, so it ends too.
    """
    try:
        decision = await client.node.hooks.refresh_expired(client)
    except c.DisconnectError as e:
        client.disconnect(e.disconnect)
        return
    except Exception:
        log.exception("client %s: server-side refresh failed", client.id)
        client.disconnect(c.DISCONNECT_SERVER_ERROR)
        return
    if not client.connected or client.expire_at != expected:
        return  # closed meanwhile, or refreshed another way (server API)
    if decision is None or decision.expire_at - int(time.time()) <= 0:
        client.disconnect(c.DISCONNECT_EXPIRED)
        return
    client.refresh_credentials(expire_at=decision.expire_at, info=decision.info, meta=decision.meta)


async def refresh_subscription(client: ClientSession, sub: ChannelSub, expected: int) -> None:
    """Ask the policy about a subscription past its expiry ``expected``.

    None, a hook error, or a new expiry already past ends the subscription; otherwise the
    new ``expire_at`` (0: never) and the channel info (when sent) apply.
    """
    try:
        decision = await client.node.hooks.sub_refresh_expired(client, sub.channel)
    except Exception:
        log.exception("client %s: server-side refresh of %s failed", client.id, sub.channel)
        decision = None
    if not client.connected or client.subs.get(sub.channel) is not sub:
        return
    if sub.options.expire_at != expected:
        return
    if decision is None or 0 < decision.expire_at < int(time.time()):
        client.subscription_expired(sub)
        return
    client.extend_subscription(sub, decision.expire_at, decision.info or None)
