"""Generic conversion between the msgspec message Structs and generated protobuf classes.

The Structs and the proto messages share field names (spec §1), so one converter driven by
cached per-class field plans serves every message.  Conversion is used once per command and
once per encoded publication, never per subscriber.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import Any

import msgspec
from msgspec import Raw

from .messages import EMPTY

# plan entry kinds
_SCALAR, _RAW, _MSG, _LIST_MSG, _MAP_MSG, _MAP_SCALAR, _LIST_SCALAR = range(7)

_Plan = list[tuple[str, int, Any, Any]]  # (name, kind, struct class | None, default)
_plans: dict[type, _Plan] = {}


def _unwrap_optional(tp: Any) -> Any:
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _plan(cls: type) -> _Plan:
    plan = _plans.get(cls)
    if plan is not None:
        return plan
    hints = typing.get_type_hints(cls)
    plan = []
    for f in msgspec.structs.fields(cls):
        tp = _unwrap_optional(hints[f.name])
        origin = typing.get_origin(tp)
        default = f.default
        if tp is Raw:
            plan.append((f.name, _RAW, None, default))
        elif isinstance(tp, type) and issubclass(tp, msgspec.Struct):
            plan.append((f.name, _MSG, tp, default))
        elif origin is list:
            (item,) = typing.get_args(tp)
            if isinstance(item, type) and issubclass(item, msgspec.Struct):
                plan.append((f.name, _LIST_MSG, item, default))
            else:
                plan.append((f.name, _LIST_SCALAR, None, default))
        elif origin is dict:
            _, val = typing.get_args(tp)
            if isinstance(val, type) and issubclass(val, msgspec.Struct):
                plan.append((f.name, _MAP_MSG, val, default))
            else:
                plan.append((f.name, _MAP_SCALAR, None, default))
        else:
            plan.append((f.name, _SCALAR, None, default))
    _plans[cls] = plan
    return plan


def struct_to_pb(obj: msgspec.Struct, msg: Any) -> None:
    """Copy ``obj`` into the (empty) protobuf message ``msg``.

    Sub-message fields that are set (even to an empty Struct) are marked present, so empty
    results such as ``PublishResult`` appear on the wire (spec §1.3).
    """
    for name, kind, _sub, default in _plan(type(obj)):
        value = getattr(obj, name)
        if kind == _SCALAR:
            if value != default:
                setattr(msg, name, value)
        elif kind == _RAW:
            if len(value):
                setattr(msg, name, bytes(value))
        elif kind == _MSG:
            if value is not None:
                sub = getattr(msg, name)
                sub.SetInParent()
                struct_to_pb(value, sub)
        elif kind == _LIST_MSG:
            if value:
                target = getattr(msg, name)
                for item in value:
                    struct_to_pb(item, target.add())
        elif kind == _MAP_MSG:
            if value:
                target = getattr(msg, name)
                for k, item in value.items():
                    struct_to_pb(item, target[k])
        elif value:  # _MAP_SCALAR / _LIST_SCALAR
            target = getattr(msg, name)
            if kind == _MAP_SCALAR:
                target.update(value)
            else:
                target.extend(value)


def pb_to_struct(msg: Any, cls: type[msgspec.Struct]) -> Any:
    """Build a ``cls`` Struct from protobuf message ``msg`` (unknown fields already dropped)."""
    kwargs: dict[str, Any] = {}
    for name, kind, sub, _default in _plan(cls):
        if kind == _SCALAR:
            kwargs[name] = getattr(msg, name)
        elif kind == _RAW:
            value = getattr(msg, name)
            kwargs[name] = Raw(value) if value else EMPTY
        elif kind == _MSG:
            if msg.HasField(name):
                kwargs[name] = pb_to_struct(getattr(msg, name), sub)
        elif kind == _LIST_MSG:
            kwargs[name] = [pb_to_struct(i, sub) for i in getattr(msg, name)]
        elif kind == _MAP_MSG:
            kwargs[name] = {k: pb_to_struct(v, sub) for k, v in getattr(msg, name).items()}
        elif kind == _MAP_SCALAR:
            kwargs[name] = dict(getattr(msg, name))
        else:
            kwargs[name] = list(getattr(msg, name))
    return cls(**kwargs)


def make_encoder(pb_cls: Any) -> Callable[[msgspec.Struct], bytes]:
    """Return ``obj -> serialized pb_cls bytes``."""

    def encode(obj: msgspec.Struct) -> bytes:
        msg = pb_cls()
        struct_to_pb(obj, msg)
        data: bytes = msg.SerializeToString()
        return data

    return encode
