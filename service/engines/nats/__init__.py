"""NATS broker (Centrifugo v4's ``broker: nats``): ``NatsBroker`` carries publications, joins,
leaves and node control messages over a NATS server, at most once and without history.
``NoPresenceManager`` stands for v4's missing presence when the engine is ``memory``.
"""

from .broker import NatsBroker
from .presence import NoPresenceManager

__all__ = ["NatsBroker", "NoPresenceManager"]
