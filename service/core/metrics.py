"""Hooks through which the node reports metrics; the default does nothing."""

from __future__ import annotations

from typing import Protocol


class NodeMetrics(Protocol):
    """Implemented by ``service.metrics``; every method must be cheap."""

    def command(self, method: str, seconds: float, error_code: int) -> None: ...

    def recover(self, recovered: bool) -> None: ...

    def connect(self, transport: str) -> None: ...

    def disconnect(self, code: int) -> None: ...

    def message_sent(self, kind: str, count: int = 1) -> None: ...

    def message_received(self, kind: str, count: int = 1) -> None: ...

    def transport_sent(self, transport: str, count: int = 1) -> None: ...

    def inc_action(self, action: str, count: int = 1) -> None: ...

    def observe_survey(self, op: str, seconds: float) -> None: ...


class NullMetrics:
    """Metrics sink that records nothing."""

    def command(self, method: str, seconds: float, error_code: int) -> None:
        pass

    def recover(self, recovered: bool) -> None:
        pass

    def connect(self, transport: str) -> None:
        pass

    def disconnect(self, code: int) -> None:
        pass

    def message_sent(self, kind: str, count: int = 1) -> None:
        pass

    def message_received(self, kind: str, count: int = 1) -> None:
        pass

    def transport_sent(self, transport: str, count: int = 1) -> None:
        pass

    def inc_action(self, action: str, count: int = 1) -> None:
        pass

    def observe_survey(self, op: str, seconds: float) -> None:
        pass
