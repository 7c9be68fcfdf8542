"""Command line, Centrifugo v4.1.5 compatible (docs/configuration.md#command-line).

``gyre [flags]`` runs the server; subcommands: ``version``, ``genconfig``, ``checkconfig``,
``gentoken``, ``gensubtoken``, ``checktoken``, ``checksubtoken`` and ``serve`` (a development
static file server). :func:`main` returns the process exit code and never raises SystemExit.
Errors are printed to stderr as ``error: <message>``, warnings as ``warning: <message>``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import logging
import os
import platform
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from service.config import (
    Config,
    ConfigError,
    file_format,
    format_duration,
    load_config,
    render_config,
)

if TYPE_CHECKING:
    from aiohttp import web


__all__ = ["SERVE_FLAGS", "main"]

CENTRIFUGO_VERSION = "4.1.5"
DEFAULT_TOKEN_TTL = 604800  # 7 days

# (option key, short flag, kind): the flags of the server command (no subcommand).
SERVE_FLAGS: tuple[tuple[str, str | None, str], ...] = (
    ("engine", "-e", "str"),
    ("broker", None, "str"),
    ("log_level", None, "str"),
    ("log_file", None, "str"),
    ("log_format", None, "str"),
    ("pid_file", None, "str"),
    ("name", "-n", "str"),
    ("debug", None, "bool"),
    ("admin", None, "bool"),
    ("admin_external", None, "bool"),
    ("prometheus", None, "bool"),
    ("health", None, "bool"),
    ("sockjs", None, "bool"),
    ("uni_websocket", None, "bool"),
    ("uni_sse", None, "bool"),
    ("uni_http_stream", None, "bool"),
    ("sse", None, "bool"),
    ("http_stream", None, "bool"),
    ("client_insecure", None, "bool"),
    ("api_insecure", None, "bool"),
    ("api_external", None, "bool"),
    ("admin_insecure", None, "bool"),
    ("address", "-a", "str"),
    ("port", "-p", "str"),
    ("internal_address", None, "str"),
    ("internal_port", None, "str"),
    ("tls", None, "bool"),
    ("tls_cert", None, "str"),
    ("tls_key", None, "str"),
    ("tls_external", None, "bool"),
    ("grpc_api", None, "bool"),
    ("grpc_api_port", None, "str"),
    ("grpc_api_tls", None, "bool"),
    ("grpc_api_tls_cert", None, "str"),
    ("grpc_api_tls_key", None, "str"),
    ("grpc_api_tls_disable", None, "bool"),
    ("uni_grpc", None, "bool"),
    ("uni_grpc_port", None, "str"),
    ("grpc_stream", None, "bool"),
    ("grpc_stream_port", None, "str"),
    ("v5_api", None, "bool"),
    ("redis_address", None, "str"),
    ("tarantool_address", None, "str"),
    ("nats_url", None, "str"),
)


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def _warn(warnings: list[str], log_format: str = "text") -> None:
    """Config warnings to stderr: ``warning: <message>`` lines, or JSON log lines (logger
    ``gyre.config``) when the server logs JSON, so that every line of its output parses."""
    if log_format == "json":
        from service.logs import formatter

        json_lines = formatter("json")
        for w in warnings:
            record = logging.LogRecord("gyre.config", logging.WARNING, "", 0, w, None, None)
            print(json_lines.format(record), file=sys.stderr)
        return
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)


def _version() -> str:
    try:
        return importlib.metadata.version("gyre")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree
        from service import __version__

        return __version__


# the runtime dependencies whose versions matter in a bug report (distribution names)
KEY_DEPENDENCIES = (
    "grpcio",
    "protobuf",
    "aiohttp",
    "msgspec",
    "orjson",
    "hiredis",
    "uvloop",
    "cryptography",
)


def _dependency_versions() -> list[tuple[str, str]]:
    """(name, version) for Python and each key dependency; protobuf names its backend."""
    rows = [("python", f"{platform.python_version()} ({platform.python_implementation()})")]
    for name in KEY_DEPENDENCIES:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = "not installed"
        if name == "protobuf" and version != "not installed":
            from google.protobuf.internal import api_implementation

            version += f" ({api_implementation.Type()} backend)"
        rows.append((name, version))
    return rows


def _load(path: str, **kwargs: Any) -> Config | None:
    """load_config + warnings to stderr; None (after printing the error) on ConfigError."""
    try:
        cfg, warnings = load_config(path, **kwargs)
    except ConfigError as e:
        _error(str(e))
        return None
    _warn(warnings)
    return cfg


# --- commands ---------------------------------------------------------------------------


def _cmd_run(ns: argparse.Namespace) -> int:
    given = vars(ns)
    flags = {key: given[key] for key, _, _ in SERVE_FLAGS if key in given}
    try:
        cfg, warnings = load_config(ns.config, flags=flags)
    except ConfigError as e:
        return _error(str(e))
    _warn(warnings, cfg.log_format)
    from service.app import serve

    def reloader() -> Config:
        """SIGHUP: re-read file, env and the same flags; ConfigError refuses the reload."""
        new_cfg, new_warnings = load_config(ns.config, flags=flags)
        _warn(new_warnings, new_cfg.log_format)
        return new_cfg

    return serve(cfg, reloader=reloader)


def _cmd_version(ns: argparse.Namespace) -> int:
    """The v4-style first line, then one ``name version`` line per key dependency."""
    print(
        f"Gyre v{_version()} (Centrifugo v{CENTRIFUGO_VERSION} compatible; "
        f"Python {platform.python_version()})"
    )
    for name, version in _dependency_versions():
        print(f"  {name:<13}{version}")
    return 0


def _cmd_genconfig(ns: argparse.Namespace) -> int:
    path: str = ns.config
    try:
        fmt = file_format(path)
    except ConfigError as e:
        return _error(str(e))
    data = {
        "token_hmac_secret_key": str(uuid.uuid4()),
        "admin_password": str(uuid.uuid4()),
        "admin_secret": str(uuid.uuid4()),
        "api_key": str(uuid.uuid4()),
        "allowed_origins": [],
    }
    try:
        with open(path, "x", encoding="utf-8") as f:
            f.write(render_config(data, fmt))
    except FileExistsError:
        return _error(f'file "{path}" already exists, refusing to overwrite')
    except OSError as e:
        return _error(f'cannot write "{path}": {e.strerror or e}')
    return 0


def _cmd_checkconfig(ns: argparse.Namespace) -> int:
    if not os.path.exists(ns.config):
        return _error(f'config file "{ns.config}" not found')
    return 0 if _load(ns.config, env={}) is not None else 1


def _user_label(user: str, quoted: bool = True) -> str:
    if not user:
        return "anonymous user"
    return f'user "{user}"' if quoted else f"user {user}"


def _generate(ns: argparse.Namespace, channel: str | None) -> int:
    cfg = _load(ns.config)
    if cfg is None:
        return 1
    if not cfg.token_hmac_secret_key:
        return _error("no HMAC secret key set (token_hmac_secret_key)")
    from service.auth import generate_token

    token = generate_token(
        secret=cfg.token_hmac_secret_key, user=ns.user, ttl=ns.ttl, channel=channel
    )
    exp = f"with expiration TTL {format_duration(ns.ttl)}" if ns.ttl >= 0 else "without expiration"
    what = _user_label(ns.user)
    if channel is not None:
        what += f' and channel "{channel}"'
    print(f"HMAC SHA-256 JWT for {what} {exp}:\n{token}")
    return 0


def _cmd_gentoken(ns: argparse.Namespace) -> int:
    return _generate(ns, None)


def _cmd_gensubtoken(ns: argparse.Namespace) -> int:
    if not ns.channel:
        return _error("channel is required (-s)")
    return _generate(ns, ns.channel)


def _check(ns: argparse.Namespace, subscription: bool) -> int:
    if not ns.token:
        return _error(f"usage: gyre {ns.command} [-c config] TOKEN")
    cfg = _load(ns.config)
    if cfg is None:
        return 1
    from service.auth import TokenExpired, TokenInvalid, TokenVerifier
    from service.policy.hooks import token_keys

    keys = token_keys(cfg)

    async def verify() -> tuple[str, str, dict[str, Any]]:
        verifier = TokenVerifier(keys)
        try:
            if subscription:
                sub = await verifier.verify_subscribe(ns.token)
                return sub.user_id, sub.channel, sub.payload
            tok = await verifier.verify_connect(ns.token)
            return tok.user_id, "", tok.payload
        finally:
            await verifier.close()

    try:
        user, channel, payload = asyncio.run(verify())
    except TokenExpired:
        return _error("token expired")
    except TokenInvalid as e:
        return _error(f"token invalid: {e}")
    except ValueError as e:
        return _error(f"token verifier configuration: {e}")
    claims = orjson.dumps(payload).decode()
    if subscription:
        print(f'valid subscription token for {_user_label(user)} and channel "{channel}"')
    else:
        print(f"valid token for {_user_label(user, quoted=False)}")
    print(f"payload: {claims}")
    return 0


def _cmd_checktoken(ns: argparse.Namespace) -> int:
    return _check(ns, subscription=False)


def _cmd_checksubtoken(ns: argparse.Namespace) -> int:
    return _check(ns, subscription=True)


def static_app(directory: str) -> web.Application:
    """aiohttp application serving files under ``directory`` (``index.html`` for dirs)."""
    from aiohttp import web

    from service.api.admin_web import find_file

    root = Path(directory).resolve()

    async def handle(request: web.Request) -> web.StreamResponse:
        target = find_file(root, request.match_info["path"])
        if target is None:
            raise web.HTTPNotFound()
        return web.FileResponse(target)

    app = web.Application()
    app.router.add_get("/{path:.*}", handle)
    return app


def _cmd_serve(ns: argparse.Namespace) -> int:
    from aiohttp import web

    if not os.path.isdir(ns.dir):
        return _error(f'directory "{ns.dir}" not found')
    host = ns.address or None
    print(f"start serving {ns.dir} on {ns.address or '0.0.0.0'}:{ns.port}")
    web.run_app(static_app(ns.dir), host=host, port=ns.port, print=None)
    return 0


# --- parser ------------------------------------------------------------------------------


def _add_config(p: argparse.ArgumentParser, help_text: str = "path to config file") -> None:
    p.add_argument("-c", "--config", default="config.json", help=help_text)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gyre", description="Gyre - Centrifugo v4 compatible real-time messaging server"
    )
    parser.set_defaults(handler=_cmd_run)
    _add_config(parser)
    for key, short, kind in SERVE_FLAGS:
        names = [f"--{key}"] + ([short] if short else [])
        if kind == "bool":
            parser.add_argument(*names, dest=key, action="store_true", default=argparse.SUPPRESS)
        else:
            parser.add_argument(*names, dest=key, default=argparse.SUPPRESS, metavar="VALUE")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, handler: Callable[[argparse.Namespace], int], help_text: str) -> Any:
        p = sub.add_parser(name, help=help_text)
        p.set_defaults(handler=handler)
        return p

    command("version", _cmd_version, "print version information")
    _add_config(command("genconfig", _cmd_genconfig, "generate a minimal config file"))
    _add_config(command("checkconfig", _cmd_checkconfig, "check a config file"))
    for name, handler, needs_channel in (
        ("gentoken", _cmd_gentoken, False),
        ("gensubtoken", _cmd_gensubtoken, True),
    ):
        p = command(
            name, handler, f"generate a {'subscription' if needs_channel else 'connection'} JWT"
        )
        _add_config(p)
        p.add_argument("-u", "--user", default="", help="user ID")
        p.add_argument(
            "-t", "--ttl", type=int, default=DEFAULT_TOKEN_TTL, help="token TTL in seconds"
        )
        if needs_channel:
            p.add_argument("-s", "--channel", required=True, help="channel")
    for name, handler in (("checktoken", _cmd_checktoken), ("checksubtoken", _cmd_checksubtoken)):
        p = command(name, handler, "verify a JWT with the configured keys")
        _add_config(p)
        p.add_argument("token", nargs="?", default="", help="the JWT")
    p = command("serve", _cmd_serve, "run a development static file server")
    p.add_argument("-d", "--dir", default="./", help="directory to serve")
    p.add_argument("-p", "--port", dest="port", type=int, default=3000, help="port")
    p.add_argument("-a", "--address", dest="address", default="", help="interface address")
    return parser


_BOOL_FLAGS = frozenset(f"--{key}" for key, _, kind in SERVE_FLAGS if kind == "bool")


def _bool_flag_values(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    """v4's flag parser (pflag) also takes ``--flag=value`` for a bool flag (``--admin=false``);
    argparse's ``store_true`` takes none.  Such arguments become ``--flag`` and their values
    are returned by option key, to replace True (``load_config`` parses them as Go's
    ParseBool, an invalid one being a config error)."""
    args: list[str] = []
    values: dict[str, str] = {}
    for arg in argv:
        name, eq, value = arg.partition("=")
        if eq and name in _BOOL_FLAGS:
            args.append(name)
            values[name[2:]] = value
        else:
            args.append(arg)
    return args, values


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = _build_parser()
    args, bool_values = _bool_flag_values(sys.argv[1:] if argv is None else argv)
    try:
        ns = parser.parse_args(args)
    except SystemExit as e:  # --help, usage errors
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    for key, value in bool_values.items():
        setattr(ns, key, value)
    handler: Callable[[argparse.Namespace], int] = ns.handler
    return handler(ns)
