"""Generic conversion between the msgspec message Structs and generated protobuf classes.

The Structs and the proto messages share field names (docs/protocol.md#messages-and-encodings),
so one converter driven by cached per-class field plans serves every message.  Conversion is
used once per command and once per encoded publication, never per subscriber.
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
    results such as ``PublishResult`` appear on the wire
    (docs/protocol.md#commands-replies-and-pushes).
    """
    cls = type(obj)
    fn = _fillers.get(cls)
    if fn is None:
        fn = _fillers[cls] = _compile_filler(cls)
    fn(obj, msg)


def pb_to_struct(msg: Any, cls: type[msgspec.Struct]) -> Any:
    """Build a ``cls`` Struct from protobuf message ``msg`` (unknown fields already dropped)."""
    fn = _builders.get(cls)
    if fn is None:
        fn = _builders[cls] = _compile_builder(cls)
    return fn(msg)


# --- per-class compiled converters --------------------------------------------------------
#
# Both directions run once per command / API call, so each class gets a straight-line
# function generated from its plan (the technique ``dataclasses`` uses for ``__init__``):
# no per-field loop, kind dispatch or getattr by name at run time.  Field names come from
# the Struct definitions (Python identifiers), never from input.

_fillers: dict[type, Callable[[Any, Any], None]] = {}
_builders: dict[type, Callable[[Any], Any]] = {}


def _compile_filler(cls: type) -> Callable[[Any, Any], None]:
    env: dict[str, Any] = {"struct_to_pb": struct_to_pb}
    body: list[str] = []
    for i, (name, kind, _sub, default) in enumerate(_plan(cls)):
        body.append(f"    v = obj.{name}")
        if kind == _SCALAR:
            env[f"d{i}"] = default
            body.append(f"    if v != d{i}:\n        msg.{name} = v")
        elif kind == _RAW:
            body.append(f"    if len(v):\n        msg.{name} = bytes(v)")
        elif kind == _MSG:
            body.append(
                f"    if v is not None:\n        t = msg.{name}\n        t.SetInParent()\n"
                "        struct_to_pb(v, t)"
            )
        elif kind == _LIST_MSG:
            body.append(
                f"    if v:\n        t = msg.{name}\n        for item in v:\n"
                "            struct_to_pb(item, t.add())"
            )
        elif kind == _MAP_MSG:
            body.append(
                f"    if v:\n        t = msg.{name}\n        for k, item in v.items():\n"
                "            struct_to_pb(item, t[k])"
            )
        elif kind == _MAP_SCALAR:
            body.append(f"    if v:\n        msg.{name}.update(v)")
        else:
            body.append(f"    if v:\n        msg.{name}.extend(v)")
    src = "def fill(obj, msg):\n" + ("\n".join(body) or "    pass") + "\n"
    exec(compile(src, f"<struct_to_pb {cls.__name__}>", "exec"), env)
    fn: Callable[[Any, Any], None] = env["fill"]
    return fn


def _compile_builder(cls: type) -> Callable[[Any], Any]:
    env: dict[str, Any] = {"cls": cls, "Raw": Raw, "EMPTY": EMPTY, "pb_to_struct": pb_to_struct}
    pre: list[str] = []
    args: list[str] = []
    optional: list[str] = []  # sub-messages: passed only when present (else the default)
    for i, (name, kind, sub, _default) in enumerate(_plan(cls)):
        env[f"S{i}"] = sub
        if kind == _SCALAR:
            args.append(f"{name}=msg.{name}")
        elif kind == _RAW:
            pre.append(f"    r{i} = msg.{name}")
            args.append(f"{name}=Raw(r{i}) if r{i} else EMPTY")
        elif kind == _MSG:
            optional.append(
                f"    if msg.HasField({name!r}):\n"
                f"        kw[{name!r}] = pb_to_struct(msg.{name}, S{i})"
            )
        elif kind == _LIST_MSG:
            args.append(f"{name}=[pb_to_struct(x, S{i}) for x in msg.{name}]")
        elif kind == _MAP_MSG:
            args.append(f"{name}={{k: pb_to_struct(x, S{i}) for k, x in msg.{name}.items()}}")
        elif kind == _MAP_SCALAR:
            args.append(f"{name}=dict(m{i}) if (m{i} := msg.{name}) else {{}}")
        else:
            args.append(f"{name}=list(msg.{name})")
    if optional:
        lines = [*pre, "    kw = {}", *optional, f"    return cls({', '.join([*args, '**kw'])})"]
    else:
        lines = [*pre, f"    return cls({', '.join(args)})"]
    src = "def build(msg):\n" + "\n".join(lines) + "\n"
    exec(compile(src, f"<pb_to_struct {cls.__name__}>", "exec"), env)
    fn: Callable[[Any], Any] = env["build"]
    return fn


def make_encoder(pb_cls: Any) -> Callable[[msgspec.Struct], bytes]:
    """Return ``obj -> serialized pb_cls bytes``."""

    def encode(obj: msgspec.Struct) -> bytes:
        msg = pb_cls()
        struct_to_pb(obj, msg)
        data: bytes = msg.SerializeToString()
        return data

    return encode
