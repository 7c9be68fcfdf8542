from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Command(_message.Message):
    __slots__ = ("uid", "method", "params")
    class MethodType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        NODE: _ClassVar[Command.MethodType]
        UNSUBSCRIBE: _ClassVar[Command.MethodType]
        DISCONNECT: _ClassVar[Command.MethodType]
        SHUTDOWN: _ClassVar[Command.MethodType]
        SURVEY_REQUEST: _ClassVar[Command.MethodType]
        SURVEY_RESPONSE: _ClassVar[Command.MethodType]
        SUBSCRIBE: _ClassVar[Command.MethodType]
        NOTIFICATION: _ClassVar[Command.MethodType]
        REFRESH: _ClassVar[Command.MethodType]
    NODE: Command.MethodType
    UNSUBSCRIBE: Command.MethodType
    DISCONNECT: Command.MethodType
    SHUTDOWN: Command.MethodType
    SURVEY_REQUEST: Command.MethodType
    SURVEY_RESPONSE: Command.MethodType
    SUBSCRIBE: Command.MethodType
    NOTIFICATION: Command.MethodType
    REFRESH: Command.MethodType
    UID_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    uid: str
    method: Command.MethodType
    params: bytes
    def __init__(self, uid: _Optional[str] = ..., method: _Optional[_Union[Command.MethodType, str]] = ..., params: _Optional[bytes] = ...) -> None: ...

class Shutdown(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Node(_message.Message):
    __slots__ = ("uid", "name", "version", "num_clients", "num_users", "num_channels", "uptime", "metrics", "data", "num_subs")
    UID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    NUM_CLIENTS_FIELD_NUMBER: _ClassVar[int]
    NUM_USERS_FIELD_NUMBER: _ClassVar[int]
    NUM_CHANNELS_FIELD_NUMBER: _ClassVar[int]
    UPTIME_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    NUM_SUBS_FIELD_NUMBER: _ClassVar[int]
    uid: str
    name: str
    version: str
    num_clients: int
    num_users: int
    num_channels: int
    uptime: int
    metrics: Metrics
    data: bytes
    num_subs: int
    def __init__(self, uid: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[str] = ..., num_clients: _Optional[int] = ..., num_users: _Optional[int] = ..., num_channels: _Optional[int] = ..., uptime: _Optional[int] = ..., metrics: _Optional[_Union[Metrics, _Mapping]] = ..., data: _Optional[bytes] = ..., num_subs: _Optional[int] = ...) -> None: ...

class Metrics(_message.Message):
    __slots__ = ("interval", "items")
    class ItemsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    interval: float
    items: _containers.ScalarMap[str, float]
    def __init__(self, interval: _Optional[float] = ..., items: _Optional[_Mapping[str, float]] = ...) -> None: ...

class StreamPosition(_message.Message):
    __slots__ = ("offset", "epoch")
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    offset: int
    epoch: str
    def __init__(self, offset: _Optional[int] = ..., epoch: _Optional[str] = ...) -> None: ...

class Subscribe(_message.Message):
    __slots__ = ("user", "channel", "emit_presence", "emit_join_leave", "expire_at", "position", "recover", "channel_info", "client", "data", "recover_since", "session", "push_join_leave", "source")
    USER_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    EMIT_PRESENCE_FIELD_NUMBER: _ClassVar[int]
    EMIT_JOIN_LEAVE_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_AT_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    RECOVER_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_INFO_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    RECOVER_SINCE_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    PUSH_JOIN_LEAVE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    user: str
    channel: str
    emit_presence: bool
    emit_join_leave: bool
    expire_at: int
    position: bool
    recover: bool
    channel_info: bytes
    client: str
    data: bytes
    recover_since: StreamPosition
    session: str
    push_join_leave: bool
    source: int
    def __init__(self, user: _Optional[str] = ..., channel: _Optional[str] = ..., emit_presence: _Optional[bool] = ..., emit_join_leave: _Optional[bool] = ..., expire_at: _Optional[int] = ..., position: _Optional[bool] = ..., recover: _Optional[bool] = ..., channel_info: _Optional[bytes] = ..., client: _Optional[str] = ..., data: _Optional[bytes] = ..., recover_since: _Optional[_Union[StreamPosition, _Mapping]] = ..., session: _Optional[str] = ..., push_join_leave: _Optional[bool] = ..., source: _Optional[int] = ...) -> None: ...

class Unsubscribe(_message.Message):
    __slots__ = ("channel", "user", "client", "session", "code", "reason")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    channel: str
    user: str
    client: str
    session: str
    code: int
    reason: str
    def __init__(self, channel: _Optional[str] = ..., user: _Optional[str] = ..., client: _Optional[str] = ..., session: _Optional[str] = ..., code: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class Disconnect(_message.Message):
    __slots__ = ("user", "whitelist", "code", "reason", "reconnect", "client", "session")
    USER_FIELD_NUMBER: _ClassVar[int]
    WHITELIST_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RECONNECT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    user: str
    whitelist: _containers.RepeatedScalarFieldContainer[str]
    code: int
    reason: str
    reconnect: bool
    client: str
    session: str
    def __init__(self, user: _Optional[str] = ..., whitelist: _Optional[_Iterable[str]] = ..., code: _Optional[int] = ..., reason: _Optional[str] = ..., reconnect: _Optional[bool] = ..., client: _Optional[str] = ..., session: _Optional[str] = ...) -> None: ...

class SurveyRequest(_message.Message):
    __slots__ = ("id", "op", "data")
    ID_FIELD_NUMBER: _ClassVar[int]
    OP_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    id: int
    op: str
    data: bytes
    def __init__(self, id: _Optional[int] = ..., op: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class SurveyResponse(_message.Message):
    __slots__ = ("id", "code", "data")
    ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    id: int
    code: int
    data: bytes
    def __init__(self, id: _Optional[int] = ..., code: _Optional[int] = ..., data: _Optional[bytes] = ...) -> None: ...

class Notification(_message.Message):
    __slots__ = ("op", "data")
    OP_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    op: str
    data: bytes
    def __init__(self, op: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class Refresh(_message.Message):
    __slots__ = ("user", "client", "expired", "expire_at", "info", "session")
    USER_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    EXPIRED_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_AT_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    user: str
    client: str
    expired: bool
    expire_at: int
    info: bytes
    session: str
    def __init__(self, user: _Optional[str] = ..., client: _Optional[str] = ..., expired: _Optional[bool] = ..., expire_at: _Optional[int] = ..., info: _Optional[bytes] = ..., session: _Optional[str] = ...) -> None: ...
