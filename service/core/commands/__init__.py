"""Command dispatch (docs/protocol.md#commands-replies-and-pushes) and the error boundary around
every handler."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ...protocol import codes as c
from ...protocol import messages as m
from ..engine import EngineError
from .connect import handle_connect
from .misc import (
    handle_history,
    handle_ping,
    handle_presence,
    handle_presence_stats,
    handle_publish,
    handle_refresh,
    handle_rpc,
    handle_send,
)
from .subscribe import handle_sub_refresh, handle_subscribe, handle_unsubscribe

if TYPE_CHECKING:
    from ..client import ClientSession

log = logging.getLogger("gyre.client")

Handler = Callable[["ClientSession", m.Command], Awaitable[m.Reply | None]]

__all__ = ["dispatch", "handle_connect", "run"]


def dispatch(cmd: m.Command) -> Handler | None:
    """The handler of the first request field set, in v4 order (connect handled earlier)."""
    if cmd.ping is not None:
        return handle_ping
    if cmd.subscribe is not None:
        return handle_subscribe
    if cmd.unsubscribe is not None:
        return handle_unsubscribe
    if cmd.publish is not None:
        return handle_publish
    if cmd.presence is not None:
        return handle_presence
    if cmd.presence_stats is not None:
        return handle_presence_stats
    if cmd.history is not None:
        return handle_history
    if cmd.rpc is not None:
        return handle_rpc
    if cmd.send is not None:
        return handle_send
    if cmd.refresh is not None:
        return handle_refresh
    if cmd.sub_refresh is not None:
        return handle_sub_refresh
    return None


async def run(client: ClientSession, cmd: m.Command, handler: Handler) -> bool:
    """Run ``handler``; map errors to an error reply or a disconnect. False once closed."""
    node = client.node
    method = handler.__name__.removeprefix("handle_")
    started = node.metrics_clock()
    error: c.ErrorCode | None = None
    try:
        reply = await handler(client, cmd)
    except c.ReplyError as e:
        error = e.error
        reply = None
    except c.DisconnectError as e:
        client.disconnect(e.disconnect)
        node.observe_command(method, started, None)
        return False
    except EngineError as e:
        log.warning("client %s: %s failed: %s", client.id, method, e)
        error = c.ERROR_INTERNAL
        reply = None
    except Exception:
        log.exception("client %s: %s failed", client.id, method)
        error = c.ERROR_INTERNAL
        reply = None
    node.observe_command(method, started, error)
    if client.closed:
        return False
    if error is not None:
        if cmd.id:
            client.write_reply(
                m.Reply(
                    id=cmd.id,
                    error=m.Error(
                        code=error.code, message=error.message, temporary=error.temporary
                    ),
                )
            )
        if cmd.connect is not None:
            from ..client import FAILED

            client.state = FAILED
        return True
    if reply is not None and cmd.id:
        reply.id = cmd.id
        client.write_reply(reply)
    return not client.closed
