"""Command dispatch (docs/protocol.md#commands-replies-and-pushes): which handler decides a
command.  Handlers decide; the session (``ClientSession``) applies, and runs each handler
inside its error boundary (``ClientSession._run``)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
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

__all__ = ["Handler", "Outcome", "dispatch", "handle_connect", "run"]


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


@dataclass(slots=True)
class Outcome:
    """What a command came to: a reply (may be None: the handler wrote it), an error reply,
    or a disconnect."""

    reply: m.Reply | None = None
    error: c.ErrorCode | None = None
    disconnect: c.DisconnectCode | None = None


async def run(client: ClientSession, cmd: m.Command, handler: Handler) -> Outcome:
    """Run ``handler`` inside the error boundary of every command: ReplyError → its error,
    DisconnectError → its disconnect, an engine failure or any other exception → error 100
    (logged once with context).  Observes the command's duration; changes nothing of the
    session (``ClientSession`` applies the outcome)."""
    node = client.node
    method = handler.__name__.removeprefix("handle_")
    started = node.metrics_clock()
    outcome = Outcome()
    try:
        outcome.reply = await handler(client, cmd)
    except c.ReplyError as e:
        outcome.error = e.error
    except c.DisconnectError as e:
        outcome.disconnect = e.disconnect
    except EngineError as e:
        log.warning("client %s: %s failed: %s", client.id, method, e)
        outcome.error = c.ERROR_INTERNAL
    except Exception:
        log.exception("client %s: %s failed", client.id, method)
        outcome.error = c.ERROR_INTERNAL
    node.observe_command(method, started, outcome.error)
    return outcome
