from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Command(_message.Message):
    __slots__ = ("id", "method", "params", "publish", "broadcast", "subscribe", "unsubscribe", "disconnect", "presence", "presence_stats", "history", "history_remove", "info", "rpc", "refresh", "channels", "connections", "update_user_status", "get_user_status", "delete_user_status", "block_user", "unblock_user", "revoke_token", "invalidate_user_tokens", "device_register", "device_update", "device_remove", "device_list", "device_topic_list", "device_topic_update", "user_topic_list", "user_topic_update", "send_push_notification", "update_push_status")
    class MethodType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        PUBLISH: _ClassVar[Command.MethodType]
        BROADCAST: _ClassVar[Command.MethodType]
        UNSUBSCRIBE: _ClassVar[Command.MethodType]
        DISCONNECT: _ClassVar[Command.MethodType]
        PRESENCE: _ClassVar[Command.MethodType]
        PRESENCE_STATS: _ClassVar[Command.MethodType]
        HISTORY: _ClassVar[Command.MethodType]
        HISTORY_REMOVE: _ClassVar[Command.MethodType]
        CHANNELS: _ClassVar[Command.MethodType]
        INFO: _ClassVar[Command.MethodType]
        RPC: _ClassVar[Command.MethodType]
        SUBSCRIBE: _ClassVar[Command.MethodType]
        REFRESH: _ClassVar[Command.MethodType]
        CONNECTIONS: _ClassVar[Command.MethodType]
        UPDATE_USER_STATUS: _ClassVar[Command.MethodType]
        GET_USER_STATUS: _ClassVar[Command.MethodType]
        DELETE_USER_STATUS: _ClassVar[Command.MethodType]
        BLOCK_USER: _ClassVar[Command.MethodType]
        UNBLOCK_USER: _ClassVar[Command.MethodType]
        REVOKE_TOKEN: _ClassVar[Command.MethodType]
        INVALIDATE_USER_TOKENS: _ClassVar[Command.MethodType]
        DEVICE_REGISTER: _ClassVar[Command.MethodType]
        DEVICE_UPDATE: _ClassVar[Command.MethodType]
        DEVICE_REMOVE: _ClassVar[Command.MethodType]
        DEVICE_LIST: _ClassVar[Command.MethodType]
        DEVICE_TOPIC_LIST: _ClassVar[Command.MethodType]
        DEVICE_TOPIC_UPDATE: _ClassVar[Command.MethodType]
        USER_TOPIC_LIST: _ClassVar[Command.MethodType]
        USER_TOPIC_UPDATE: _ClassVar[Command.MethodType]
        SEND_PUSH_NOTIFICATION: _ClassVar[Command.MethodType]
        UPDATE_PUSH_STATUS: _ClassVar[Command.MethodType]
    PUBLISH: Command.MethodType
    BROADCAST: Command.MethodType
    UNSUBSCRIBE: Command.MethodType
    DISCONNECT: Command.MethodType
    PRESENCE: Command.MethodType
    PRESENCE_STATS: Command.MethodType
    HISTORY: Command.MethodType
    HISTORY_REMOVE: Command.MethodType
    CHANNELS: Command.MethodType
    INFO: Command.MethodType
    RPC: Command.MethodType
    SUBSCRIBE: Command.MethodType
    REFRESH: Command.MethodType
    CONNECTIONS: Command.MethodType
    UPDATE_USER_STATUS: Command.MethodType
    GET_USER_STATUS: Command.MethodType
    DELETE_USER_STATUS: Command.MethodType
    BLOCK_USER: Command.MethodType
    UNBLOCK_USER: Command.MethodType
    REVOKE_TOKEN: Command.MethodType
    INVALIDATE_USER_TOKENS: Command.MethodType
    DEVICE_REGISTER: Command.MethodType
    DEVICE_UPDATE: Command.MethodType
    DEVICE_REMOVE: Command.MethodType
    DEVICE_LIST: Command.MethodType
    DEVICE_TOPIC_LIST: Command.MethodType
    DEVICE_TOPIC_UPDATE: Command.MethodType
    USER_TOPIC_LIST: Command.MethodType
    USER_TOPIC_UPDATE: Command.MethodType
    SEND_PUSH_NOTIFICATION: Command.MethodType
    UPDATE_PUSH_STATUS: Command.MethodType
    ID_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_FIELD_NUMBER: _ClassVar[int]
    BROADCAST_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBE_FIELD_NUMBER: _ClassVar[int]
    UNSUBSCRIBE_FIELD_NUMBER: _ClassVar[int]
    DISCONNECT_FIELD_NUMBER: _ClassVar[int]
    PRESENCE_FIELD_NUMBER: _ClassVar[int]
    PRESENCE_STATS_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    HISTORY_REMOVE_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    RPC_FIELD_NUMBER: _ClassVar[int]
    REFRESH_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_USER_STATUS_FIELD_NUMBER: _ClassVar[int]
    GET_USER_STATUS_FIELD_NUMBER: _ClassVar[int]
    DELETE_USER_STATUS_FIELD_NUMBER: _ClassVar[int]
    BLOCK_USER_FIELD_NUMBER: _ClassVar[int]
    UNBLOCK_USER_FIELD_NUMBER: _ClassVar[int]
    REVOKE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    INVALIDATE_USER_TOKENS_FIELD_NUMBER: _ClassVar[int]
    DEVICE_REGISTER_FIELD_NUMBER: _ClassVar[int]
    DEVICE_UPDATE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_REMOVE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_LIST_FIELD_NUMBER: _ClassVar[int]
    DEVICE_TOPIC_LIST_FIELD_NUMBER: _ClassVar[int]
    DEVICE_TOPIC_UPDATE_FIELD_NUMBER: _ClassVar[int]
    USER_TOPIC_LIST_FIELD_NUMBER: _ClassVar[int]
    USER_TOPIC_UPDATE_FIELD_NUMBER: _ClassVar[int]
    SEND_PUSH_NOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_PUSH_STATUS_FIELD_NUMBER: _ClassVar[int]
    id: int
    method: Command.MethodType
    params: bytes
    publish: PublishRequest
    broadcast: BroadcastRequest
    subscribe: SubscribeRequest
    unsubscribe: UnsubscribeRequest
    disconnect: DisconnectRequest
    presence: PresenceRequest
    presence_stats: PresenceStatsRequest
    history: HistoryRequest
    history_remove: HistoryRemoveRequest
    info: InfoRequest
    rpc: RPCRequest
    refresh: RefreshRequest
    channels: ChannelsRequest
    connections: ConnectionsRequest
    update_user_status: UpdateUserStatusRequest
    get_user_status: GetUserStatusRequest
    delete_user_status: DeleteUserStatusRequest
    block_user: BlockUserRequest
    unblock_user: UnblockUserRequest
    revoke_token: RevokeTokenRequest
    invalidate_user_tokens: InvalidateUserTokensRequest
    device_register: DeviceRegisterRequest
    device_update: DeviceUpdateRequest
    device_remove: DeviceRemoveRequest
    device_list: DeviceListRequest
    device_topic_list: DeviceTopicListRequest
    device_topic_update: DeviceTopicUpdateRequest
    user_topic_list: UserTopicListRequest
    user_topic_update: UserTopicUpdateRequest
    send_push_notification: SendPushNotificationRequest
    update_push_status: UpdatePushStatusRequest
    def __init__(self, id: _Optional[int] = ..., method: _Optional[_Union[Command.MethodType, str]] = ..., params: _Optional[bytes] = ..., publish: _Optional[_Union[PublishRequest, _Mapping]] = ..., broadcast: _Optional[_Union[BroadcastRequest, _Mapping]] = ..., subscribe: _Optional[_Union[SubscribeRequest, _Mapping]] = ..., unsubscribe: _Optional[_Union[UnsubscribeRequest, _Mapping]] = ..., disconnect: _Optional[_Union[DisconnectRequest, _Mapping]] = ..., presence: _Optional[_Union[PresenceRequest, _Mapping]] = ..., presence_stats: _Optional[_Union[PresenceStatsRequest, _Mapping]] = ..., history: _Optional[_Union[HistoryRequest, _Mapping]] = ..., history_remove: _Optional[_Union[HistoryRemoveRequest, _Mapping]] = ..., info: _Optional[_Union[InfoRequest, _Mapping]] = ..., rpc: _Optional[_Union[RPCRequest, _Mapping]] = ..., refresh: _Optional[_Union[RefreshRequest, _Mapping]] = ..., channels: _Optional[_Union[ChannelsRequest, _Mapping]] = ..., connections: _Optional[_Union[ConnectionsRequest, _Mapping]] = ..., update_user_status: _Optional[_Union[UpdateUserStatusRequest, _Mapping]] = ..., get_user_status: _Optional[_Union[GetUserStatusRequest, _Mapping]] = ..., delete_user_status: _Optional[_Union[DeleteUserStatusRequest, _Mapping]] = ..., block_user: _Optional[_Union[BlockUserRequest, _Mapping]] = ..., unblock_user: _Optional[_Union[UnblockUserRequest, _Mapping]] = ..., revoke_token: _Optional[_Union[RevokeTokenRequest, _Mapping]] = ..., invalidate_user_tokens: _Optional[_Union[InvalidateUserTokensRequest, _Mapping]] = ..., device_register: _Optional[_Union[DeviceRegisterRequest, _Mapping]] = ..., device_update: _Optional[_Union[DeviceUpdateRequest, _Mapping]] = ..., device_remove: _Optional[_Union[DeviceRemoveRequest, _Mapping]] = ..., device_list: _Optional[_Union[DeviceListRequest, _Mapping]] = ..., device_topic_list: _Optional[_Union[DeviceTopicListRequest, _Mapping]] = ..., device_topic_update: _Optional[_Union[DeviceTopicUpdateRequest, _Mapping]] = ..., user_topic_list: _Optional[_Union[UserTopicListRequest, _Mapping]] = ..., user_topic_update: _Optional[_Union[UserTopicUpdateRequest, _Mapping]] = ..., send_push_notification: _Optional[_Union[SendPushNotificationRequest, _Mapping]] = ..., update_push_status: _Optional[_Union[UpdatePushStatusRequest, _Mapping]] = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class Reply(_message.Message):
    __slots__ = ("id", "error", "result", "publish", "broadcast", "subscribe", "unsubscribe", "disconnect", "presence", "presence_stats", "history", "history_remove", "info", "rpc", "refresh", "channels", "connections", "update_user_status", "get_user_status", "delete_user_status", "block_user", "unblock_user", "revoke_token", "invalidate_user_tokens", "device_register", "device_update", "device_remove", "device_list", "device_topic_list", "device_topic_update", "user_topic_list", "user_topic_update", "send_push_notification", "update_push_status")
    ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_FIELD_NUMBER: _ClassVar[int]
    BROADCAST_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBE_FIELD_NUMBER: _ClassVar[int]
    UNSUBSCRIBE_FIELD_NUMBER: _ClassVar[int]
    DISCONNECT_FIELD_NUMBER: _ClassVar[int]
    PRESENCE_FIELD_NUMBER: _ClassVar[int]
    PRESENCE_STATS_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    HISTORY_REMOVE_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    RPC_FIELD_NUMBER: _ClassVar[int]
    REFRESH_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_USER_STATUS_FIELD_NUMBER: _ClassVar[int]
    GET_USER_STATUS_FIELD_NUMBER: _ClassVar[int]
    DELETE_USER_STATUS_FIELD_NUMBER: _ClassVar[int]
    BLOCK_USER_FIELD_NUMBER: _ClassVar[int]
    UNBLOCK_USER_FIELD_NUMBER: _ClassVar[int]
    REVOKE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    INVALIDATE_USER_TOKENS_FIELD_NUMBER: _ClassVar[int]
    DEVICE_REGISTER_FIELD_NUMBER: _ClassVar[int]
    DEVICE_UPDATE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_REMOVE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_LIST_FIELD_NUMBER: _ClassVar[int]
    DEVICE_TOPIC_LIST_FIELD_NUMBER: _ClassVar[int]
    DEVICE_TOPIC_UPDATE_FIELD_NUMBER: _ClassVar[int]
    USER_TOPIC_LIST_FIELD_NUMBER: _ClassVar[int]
    USER_TOPIC_UPDATE_FIELD_NUMBER: _ClassVar[int]
    SEND_PUSH_NOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_PUSH_STATUS_FIELD_NUMBER: _ClassVar[int]
    id: int
    error: Error
    result: bytes
    publish: PublishResult
    broadcast: BroadcastResult
    subscribe: SubscribeResult
    unsubscribe: UnsubscribeResult
    disconnect: DisconnectResult
    presence: PresenceResult
    presence_stats: PresenceStatsResult
    history: HistoryResult
    history_remove: HistoryRemoveResult
    info: InfoResult
    rpc: RPCResult
    refresh: RefreshResult
    channels: ChannelsResult
    connections: ConnectionsResult
    update_user_status: UpdateUserStatusResult
    get_user_status: GetUserStatusResult
    delete_user_status: DeleteUserStatusResult
    block_user: BlockUserResult
    unblock_user: UnblockUserResult
    revoke_token: RevokeTokenResult
    invalidate_user_tokens: InvalidateUserTokensResult
    device_register: DeviceRegisterResult
    device_update: DeviceUpdateResult
    device_remove: DeviceRemoveResult
    device_list: DeviceListResult
    device_topic_list: DeviceTopicListResult
    device_topic_update: DeviceTopicUpdateResult
    user_topic_list: UserTopicListResult
    user_topic_update: UserTopicUpdateResult
    send_push_notification: SendPushNotificationResult
    update_push_status: UpdatePushStatusResult
    def __init__(self, id: _Optional[int] = ..., error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[bytes] = ..., publish: _Optional[_Union[PublishResult, _Mapping]] = ..., broadcast: _Optional[_Union[BroadcastResult, _Mapping]] = ..., subscribe: _Optional[_Union[SubscribeResult, _Mapping]] = ..., unsubscribe: _Optional[_Union[UnsubscribeResult, _Mapping]] = ..., disconnect: _Optional[_Union[DisconnectResult, _Mapping]] = ..., presence: _Optional[_Union[PresenceResult, _Mapping]] = ..., presence_stats: _Optional[_Union[PresenceStatsResult, _Mapping]] = ..., history: _Optional[_Union[HistoryResult, _Mapping]] = ..., history_remove: _Optional[_Union[HistoryRemoveResult, _Mapping]] = ..., info: _Optional[_Union[InfoResult, _Mapping]] = ..., rpc: _Optional[_Union[RPCResult, _Mapping]] = ..., refresh: _Optional[_Union[RefreshResult, _Mapping]] = ..., channels: _Optional[_Union[ChannelsResult, _Mapping]] = ..., connections: _Optional[_Union[ConnectionsResult, _Mapping]] = ..., update_user_status: _Optional[_Union[UpdateUserStatusResult, _Mapping]] = ..., get_user_status: _Optional[_Union[GetUserStatusResult, _Mapping]] = ..., delete_user_status: _Optional[_Union[DeleteUserStatusResult, _Mapping]] = ..., block_user: _Optional[_Union[BlockUserResult, _Mapping]] = ..., unblock_user: _Optional[_Union[UnblockUserResult, _Mapping]] = ..., revoke_token: _Optional[_Union[RevokeTokenResult, _Mapping]] = ..., invalidate_user_tokens: _Optional[_Union[InvalidateUserTokensResult, _Mapping]] = ..., device_register: _Optional[_Union[DeviceRegisterResult, _Mapping]] = ..., device_update: _Optional[_Union[DeviceUpdateResult, _Mapping]] = ..., device_remove: _Optional[_Union[DeviceRemoveResult, _Mapping]] = ..., device_list: _Optional[_Union[DeviceListResult, _Mapping]] = ..., device_topic_list: _Optional[_Union[DeviceTopicListResult, _Mapping]] = ..., device_topic_update: _Optional[_Union[DeviceTopicUpdateResult, _Mapping]] = ..., user_topic_list: _Optional[_Union[UserTopicListResult, _Mapping]] = ..., user_topic_update: _Optional[_Union[UserTopicUpdateResult, _Mapping]] = ..., send_push_notification: _Optional[_Union[SendPushNotificationResult, _Mapping]] = ..., update_push_status: _Optional[_Union[UpdatePushStatusResult, _Mapping]] = ...) -> None: ...

class BatchRequest(_message.Message):
    __slots__ = ("commands",)
    COMMANDS_FIELD_NUMBER: _ClassVar[int]
    commands: _containers.RepeatedCompositeFieldContainer[Command]
    def __init__(self, commands: _Optional[_Iterable[_Union[Command, _Mapping]]] = ...) -> None: ...

class BatchResponse(_message.Message):
    __slots__ = ("replies",)
    REPLIES_FIELD_NUMBER: _ClassVar[int]
    replies: _containers.RepeatedCompositeFieldContainer[Reply]
    def __init__(self, replies: _Optional[_Iterable[_Union[Reply, _Mapping]]] = ...) -> None: ...

class BoolValue(_message.Message):
    __slots__ = ("value",)
    VALUE_FIELD_NUMBER: _ClassVar[int]
    value: bool
    def __init__(self, value: _Optional[bool] = ...) -> None: ...

class Int32Value(_message.Message):
    __slots__ = ("value",)
    VALUE_FIELD_NUMBER: _ClassVar[int]
    value: int
    def __init__(self, value: _Optional[int] = ...) -> None: ...

class SubscribeOptionOverride(_message.Message):
    __slots__ = ("presence", "join_leave", "force_recovery", "force_positioning", "force_push_join_leave")
    PRESENCE_FIELD_NUMBER: _ClassVar[int]
    JOIN_LEAVE_FIELD_NUMBER: _ClassVar[int]
    FORCE_RECOVERY_FIELD_NUMBER: _ClassVar[int]
    FORCE_POSITIONING_FIELD_NUMBER: _ClassVar[int]
    FORCE_PUSH_JOIN_LEAVE_FIELD_NUMBER: _ClassVar[int]
    presence: BoolValue
    join_leave: BoolValue
    force_recovery: BoolValue
    force_positioning: BoolValue
    force_push_join_leave: BoolValue
    def __init__(self, presence: _Optional[_Union[BoolValue, _Mapping]] = ..., join_leave: _Optional[_Union[BoolValue, _Mapping]] = ..., force_recovery: _Optional[_Union[BoolValue, _Mapping]] = ..., force_positioning: _Optional[_Union[BoolValue, _Mapping]] = ..., force_push_join_leave: _Optional[_Union[BoolValue, _Mapping]] = ...) -> None: ...

class PublishRequest(_message.Message):
    __slots__ = ("channel", "data", "b64data", "skip_history", "tags", "idempotency_key", "delta")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    B64DATA_FIELD_NUMBER: _ClassVar[int]
    SKIP_HISTORY_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    channel: str
    data: bytes
    b64data: str
    skip_history: bool
    tags: _containers.ScalarMap[str, str]
    idempotency_key: str
    delta: bool
    def __init__(self, channel: _Optional[str] = ..., data: _Optional[bytes] = ..., b64data: _Optional[str] = ..., skip_history: _Optional[bool] = ..., tags: _Optional[_Mapping[str, str]] = ..., idempotency_key: _Optional[str] = ..., delta: _Optional[bool] = ...) -> None: ...

class PublishResult(_message.Message):
    __slots__ = ("offset", "epoch")
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    offset: int
    epoch: str
    def __init__(self, offset: _Optional[int] = ..., epoch: _Optional[str] = ...) -> None: ...

class BroadcastRequest(_message.Message):
    __slots__ = ("channels", "data", "b64data", "skip_history", "tags", "idempotency_key", "delta")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    B64DATA_FIELD_NUMBER: _ClassVar[int]
    SKIP_HISTORY_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    channels: _containers.RepeatedScalarFieldContainer[str]
    data: bytes
    b64data: str
    skip_history: bool
    tags: _containers.ScalarMap[str, str]
    idempotency_key: str
    delta: bool
    def __init__(self, channels: _Optional[_Iterable[str]] = ..., data: _Optional[bytes] = ..., b64data: _Optional[str] = ..., skip_history: _Optional[bool] = ..., tags: _Optional[_Mapping[str, str]] = ..., idempotency_key: _Optional[str] = ..., delta: _Optional[bool] = ...) -> None: ...

class BroadcastResult(_message.Message):
    __slots__ = ("responses",)
    RESPONSES_FIELD_NUMBER: _ClassVar[int]
    responses: _containers.RepeatedCompositeFieldContainer[PublishResponse]
    def __init__(self, responses: _Optional[_Iterable[_Union[PublishResponse, _Mapping]]] = ...) -> None: ...

class SubscribeRequest(_message.Message):
    __slots__ = ("channel", "user", "expire_at", "info", "b64info", "client", "data", "b64data", "recover_since", "override", "session")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_AT_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    B64INFO_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    B64DATA_FIELD_NUMBER: _ClassVar[int]
    RECOVER_SINCE_FIELD_NUMBER: _ClassVar[int]
    OVERRIDE_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    channel: str
    user: str
    expire_at: int
    info: bytes
    b64info: str
    client: str
    data: bytes
    b64data: str
    recover_since: StreamPosition
    override: SubscribeOptionOverride
    session: str
    def __init__(self, channel: _Optional[str] = ..., user: _Optional[str] = ..., expire_at: _Optional[int] = ..., info: _Optional[bytes] = ..., b64info: _Optional[str] = ..., client: _Optional[str] = ..., data: _Optional[bytes] = ..., b64data: _Optional[str] = ..., recover_since: _Optional[_Union[StreamPosition, _Mapping]] = ..., override: _Optional[_Union[SubscribeOptionOverride, _Mapping]] = ..., session: _Optional[str] = ...) -> None: ...

class SubscribeResult(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UnsubscribeRequest(_message.Message):
    __slots__ = ("channel", "user", "client", "session")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    channel: str
    user: str
    client: str
    session: str
    def __init__(self, channel: _Optional[str] = ..., user: _Optional[str] = ..., client: _Optional[str] = ..., session: _Optional[str] = ...) -> None: ...

class UnsubscribeResult(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Disconnect(_message.Message):
    __slots__ = ("code", "reason", "reconnect")
    CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RECONNECT_FIELD_NUMBER: _ClassVar[int]
    code: int
    reason: str
    reconnect: bool
    def __init__(self, code: _Optional[int] = ..., reason: _Optional[str] = ..., reconnect: _Optional[bool] = ...) -> None: ...

class DisconnectRequest(_message.Message):
    __slots__ = ("user", "disconnect", "client", "whitelist", "session")
    USER_FIELD_NUMBER: _ClassVar[int]
    DISCONNECT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    WHITELIST_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    user: str
    disconnect: Disconnect
    client: str
    whitelist: _containers.RepeatedScalarFieldContainer[str]
    session: str
    def __init__(self, user: _Optional[str] = ..., disconnect: _Optional[_Union[Disconnect, _Mapping]] = ..., client: _Optional[str] = ..., whitelist: _Optional[_Iterable[str]] = ..., session: _Optional[str] = ...) -> None: ...

class DisconnectResult(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PresenceRequest(_message.Message):
    __slots__ = ("channel",)
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    channel: str
    def __init__(self, channel: _Optional[str] = ...) -> None: ...

class ClientInfo(_message.Message):
    __slots__ = ("user", "client", "conn_info", "chan_info")
    USER_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    CONN_INFO_FIELD_NUMBER: _ClassVar[int]
    CHAN_INFO_FIELD_NUMBER: _ClassVar[int]
    user: str
    client: str
    conn_info: bytes
    chan_info: bytes
    def __init__(self, user: _Optional[str] = ..., client: _Optional[str] = ..., conn_info: _Optional[bytes] = ..., chan_info: _Optional[bytes] = ...) -> None: ...

class PresenceResult(_message.Message):
    __slots__ = ("presence",)
    class PresenceEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: ClientInfo
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[ClientInfo, _Mapping]] = ...) -> None: ...
    PRESENCE_FIELD_NUMBER: _ClassVar[int]
    presence: _containers.MessageMap[str, ClientInfo]
    def __init__(self, presence: _Optional[_Mapping[str, ClientInfo]] = ...) -> None: ...

class PresenceStatsRequest(_message.Message):
    __slots__ = ("channel",)
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    channel: str
    def __init__(self, channel: _Optional[str] = ...) -> None: ...

class PresenceStatsResult(_message.Message):
    __slots__ = ("num_clients", "num_users")
    NUM_CLIENTS_FIELD_NUMBER: _ClassVar[int]
    NUM_USERS_FIELD_NUMBER: _ClassVar[int]
    num_clients: int
    num_users: int
    def __init__(self, num_clients: _Optional[int] = ..., num_users: _Optional[int] = ...) -> None: ...

class StreamPosition(_message.Message):
    __slots__ = ("offset", "epoch")
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    offset: int
    epoch: str
    def __init__(self, offset: _Optional[int] = ..., epoch: _Optional[str] = ...) -> None: ...

class HistoryRequest(_message.Message):
    __slots__ = ("channel", "limit", "since", "reverse")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    REVERSE_FIELD_NUMBER: _ClassVar[int]
    channel: str
    limit: int
    since: StreamPosition
    reverse: bool
    def __init__(self, channel: _Optional[str] = ..., limit: _Optional[int] = ..., since: _Optional[_Union[StreamPosition, _Mapping]] = ..., reverse: _Optional[bool] = ...) -> None: ...

class Publication(_message.Message):
    __slots__ = ("data", "info", "offset", "tags")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DATA_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    info: ClientInfo
    offset: int
    tags: _containers.ScalarMap[str, str]
    def __init__(self, data: _Optional[bytes] = ..., info: _Optional[_Union[ClientInfo, _Mapping]] = ..., offset: _Optional[int] = ..., tags: _Optional[_Mapping[str, str]] = ...) -> None: ...

class HistoryResult(_message.Message):
    __slots__ = ("publications", "epoch", "offset")
    PUBLICATIONS_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    publications: _containers.RepeatedCompositeFieldContainer[Publication]
    epoch: str
    offset: int
    def __init__(self, publications: _Optional[_Iterable[_Union[Publication, _Mapping]]] = ..., epoch: _Optional[str] = ..., offset: _Optional[int] = ...) -> None: ...

class HistoryRemoveRequest(_message.Message):
    __slots__ = ("channel",)
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    channel: str
    def __init__(self, channel: _Optional[str] = ...) -> None: ...

class HistoryRemoveResult(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InfoResult(_message.Message):
    __slots__ = ("nodes",)
    NODES_FIELD_NUMBER: _ClassVar[int]
    nodes: _containers.RepeatedCompositeFieldContainer[NodeResult]
    def __init__(self, nodes: _Optional[_Iterable[_Union[NodeResult, _Mapping]]] = ...) -> None: ...

class NodeResult(_message.Message):
    __slots__ = ("uid", "name", "version", "num_clients", "num_users", "num_channels", "uptime", "metrics", "process", "num_subs")
    UID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    NUM_CLIENTS_FIELD_NUMBER: _ClassVar[int]
    NUM_USERS_FIELD_NUMBER: _ClassVar[int]
    NUM_CHANNELS_FIELD_NUMBER: _ClassVar[int]
    UPTIME_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    PROCESS_FIELD_NUMBER: _ClassVar[int]
    NUM_SUBS_FIELD_NUMBER: _ClassVar[int]
    uid: str
    name: str
    version: str
    num_clients: int
    num_users: int
    num_channels: int
    uptime: int
    metrics: Metrics
    process: Process
    num_subs: int
    def __init__(self, uid: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[str] = ..., num_clients: _Optional[int] = ..., num_users: _Optional[int] = ..., num_channels: _Optional[int] = ..., uptime: _Optional[int] = ..., metrics: _Optional[_Union[Metrics, _Mapping]] = ..., process: _Optional[_Union[Process, _Mapping]] = ..., num_subs: _Optional[int] = ...) -> None: ...

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

class Process(_message.Message):
    __slots__ = ("cpu", "rss")
    CPU_FIELD_NUMBER: _ClassVar[int]
    RSS_FIELD_NUMBER: _ClassVar[int]
    cpu: float
    rss: int
    def __init__(self, cpu: _Optional[float] = ..., rss: _Optional[int] = ...) -> None: ...

class RPCRequest(_message.Message):
    __slots__ = ("method", "params")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    method: str
    params: bytes
    def __init__(self, method: _Optional[str] = ..., params: _Optional[bytes] = ...) -> None: ...

class RPCResult(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...

class RefreshRequest(_message.Message):
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

class RefreshResult(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ChannelsRequest(_message.Message):
    __slots__ = ("pattern",)
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    pattern: str
    def __init__(self, pattern: _Optional[str] = ...) -> None: ...

class ChannelsResult(_message.Message):
    __slots__ = ("channels",)
    class ChannelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: ChannelInfo
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[ChannelInfo, _Mapping]] = ...) -> None: ...
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    channels: _containers.MessageMap[str, ChannelInfo]
    def __init__(self, channels: _Optional[_Mapping[str, ChannelInfo]] = ...) -> None: ...

class ChannelInfo(_message.Message):
    __slots__ = ("num_clients",)
    NUM_CLIENTS_FIELD_NUMBER: _ClassVar[int]
    num_clients: int
    def __init__(self, num_clients: _Optional[int] = ...) -> None: ...

class PublishResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: PublishResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[PublishResult, _Mapping]] = ...) -> None: ...

class BroadcastResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: BroadcastResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[BroadcastResult, _Mapping]] = ...) -> None: ...

class SubscribeResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: SubscribeResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[SubscribeResult, _Mapping]] = ...) -> None: ...

class UnsubscribeResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: UnsubscribeResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[UnsubscribeResult, _Mapping]] = ...) -> None: ...

class DisconnectResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: DisconnectResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[DisconnectResult, _Mapping]] = ...) -> None: ...

class PresenceResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: PresenceResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[PresenceResult, _Mapping]] = ...) -> None: ...

class PresenceStatsResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: PresenceStatsResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[PresenceStatsResult, _Mapping]] = ...) -> None: ...

class HistoryResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: HistoryResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[HistoryResult, _Mapping]] = ...) -> None: ...

class HistoryRemoveResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: HistoryRemoveResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[HistoryRemoveResult, _Mapping]] = ...) -> None: ...

class InfoResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: InfoResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[InfoResult, _Mapping]] = ...) -> None: ...

class RPCResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: RPCResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[RPCResult, _Mapping]] = ...) -> None: ...

class RefreshResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: RefreshResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[RefreshResult, _Mapping]] = ...) -> None: ...

class ChannelsResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: ChannelsResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[ChannelsResult, _Mapping]] = ...) -> None: ...

class ConnectionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ConnectionsResult(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ConnectionsResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: ConnectionsResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[ConnectionsResult, _Mapping]] = ...) -> None: ...

class UpdateUserStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UpdateUserStatusResult(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UpdateUserStatusResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: UpdateUserStatusResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[UpdateUserStatusResult, _Mapping]] = ...) -> None: ...

class GetUserStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetUserStatusResult(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetUserStatusResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: GetUserStatusResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[GetUserStatusResult, _Mapping]] = ...) -> None: ...

class DeleteUserStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteUserStatusResult(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteUserStatusResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: DeleteUserStatusResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[DeleteUserStatusResult, _Mapping]] = ...) -> None: ...

class BlockUserRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BlockUserResult(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BlockUserResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: BlockUserResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[BlockUserResult, _Mapping]] = ...) -> None: ...

class UnblockUserRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UnblockUserResult(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UnblockUserResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: UnblockUserResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[UnblockUserResult, _Mapping]] = ...) -> None: ...

class RevokeTokenRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RevokeTokenResult(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RevokeTokenResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: RevokeTokenResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[RevokeTokenResult, _Mapping]] = ...) -> None: ...

class InvalidateUserTokensRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InvalidateUserTokensResult(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InvalidateUserTokensResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: InvalidateUserTokensResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[InvalidateUserTokensResult, _Mapping]] = ...) -> None: ...

class DeviceRegisterRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeviceRegisterResult(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeviceRegisterResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: DeviceRegisterResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[DeviceRegisterResult, _Mapping]] = ...) -> None: ...

class DeviceUpdateRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeviceUpdateResult(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeviceUpdateResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: DeviceUpdateResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[DeviceUpdateResult, _Mapping]] = ...) -> None: ...

class DeviceRemoveRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeviceRemoveResult(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeviceRemoveResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: DeviceRemoveResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[DeviceRemoveResult, _Mapping]] = ...) -> None: ...

class DeviceListRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeviceListResult(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeviceListResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: DeviceListResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[DeviceListResult, _Mapping]] = ...) -> None: ...

class DeviceTopicListRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeviceTopicListResult(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeviceTopicListResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: DeviceTopicListResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[DeviceTopicListResult, _Mapping]] = ...) -> None: ...

class DeviceTopicUpdateRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeviceTopicUpdateResult(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeviceTopicUpdateResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: DeviceTopicUpdateResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[DeviceTopicUpdateResult, _Mapping]] = ...) -> None: ...

class UserTopicListRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UserTopicListResult(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UserTopicListResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: UserTopicListResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[UserTopicListResult, _Mapping]] = ...) -> None: ...

class UserTopicUpdateRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UserTopicUpdateResult(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UserTopicUpdateResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: UserTopicUpdateResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[UserTopicUpdateResult, _Mapping]] = ...) -> None: ...

class SendPushNotificationRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SendPushNotificationResult(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SendPushNotificationResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: SendPushNotificationResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[SendPushNotificationResult, _Mapping]] = ...) -> None: ...

class UpdatePushStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UpdatePushStatusResult(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UpdatePushStatusResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: Error
    result: UpdatePushStatusResult
    def __init__(self, error: _Optional[_Union[Error, _Mapping]] = ..., result: _Optional[_Union[UpdatePushStatusResult, _Mapping]] = ...) -> None: ...
