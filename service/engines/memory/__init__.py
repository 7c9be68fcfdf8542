"""In-memory engine: single-node ``Broker`` and ``PresenceManager`` (Centrifugo memory engine)."""

from .broker import MemoryBroker, random_epoch
from .presence import MemoryPresenceManager

__all__ = ["MemoryBroker", "MemoryPresenceManager", "random_epoch"]
