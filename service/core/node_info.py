"""What a node reports about itself (server API ``info``) and its ``controlpb.Node`` form.

Beyond v4 OSS, a Gyre node also reports (see docs/admin_ui.md):

* ``process``: CPU share and RSS (``api.proto`` ``NodeResult.process``), carried between nodes
  as JSON ``{"process":{"cpu":..,"rss":..}}`` in the opaque ``controlpb.Node.data`` field,
  which Centrifugo v4 OSS neither sends nor reads;
* ``metrics``: ``controlpb.Node.metrics`` / ``NodeResult.metrics`` with counters since the node
  started (``interval`` = seconds since start): the publications it handed to the broker
  (``PUBLICATIONS_SENT``) and received from it (``PUBLICATIONS_RECEIVED``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from ..protocol import control as ctl
from .process import ProcessStats

PUBLICATIONS_SENT = "centrifugo.node.messages_sent_count.publication"
PUBLICATIONS_RECEIVED = "centrifugo.node.messages_received_count.publication"


@dataclass(slots=True)
class NodeInfo:
    """One node's figures; ``updated`` is the ``time.monotonic()`` they arrived at."""

    uid: str
    name: str
    version: str
    num_clients: int
    num_users: int
    num_channels: int
    num_subs: int
    uptime: int
    updated: float
    process: ProcessStats | None = None
    metrics_interval: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)


class _Process(msgspec.Struct):
    cpu: float = 0.0
    rss: int = 0


class _NodeData(msgspec.Struct):
    process: _Process | None = None


_node_data_decoder = msgspec.json.Decoder(_NodeData)


def encode_node_data(process: ProcessStats | None) -> bytes:
    """``controlpb.Node.data`` for ``process`` (empty when unknown)."""
    if process is None:
        return b""
    return msgspec.json.encode(_NodeData(process=_Process(cpu=process.cpu, rss=process.rss)))


def decode_node_data(data: bytes) -> ProcessStats | None:
    """Process stats of a peer; None when it sent none or something else (another server's
    ``data`` is opaque to us, never an error)."""
    if not data:
        return None
    try:
        decoded = _node_data_decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if decoded.process is None:
        return None
    return ProcessStats(cpu=decoded.process.cpu, rss=decoded.process.rss)


def node_info_message(i: NodeInfo) -> ctl.NodeInfo:
    """The control message announcing ``i`` to the other nodes."""
    return ctl.NodeInfo(
        uid=i.uid,
        name=i.name,
        version=i.version,
        num_clients=i.num_clients,
        num_users=i.num_users,
        num_channels=i.num_channels,
        uptime=i.uptime,
        num_subs=i.num_subs,
        metrics_interval=i.metrics_interval,
        metrics=i.metrics,
        data=encode_node_data(i.process),
    )


def node_info_from_message(n: ctl.NodeInfo, *, updated: float) -> NodeInfo:
    """A peer's announcement as it is kept in the node registry."""
    return NodeInfo(
        uid=n.uid,
        name=n.name,
        version=n.version,
        num_clients=n.num_clients,
        num_users=n.num_users,
        num_channels=n.num_channels,
        num_subs=n.num_subs,
        uptime=n.uptime,
        updated=updated,
        process=decode_node_data(n.data),
        metrics_interval=n.metrics_interval,
        metrics=n.metrics,
    )
