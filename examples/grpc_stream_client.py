#!/usr/bin/env python3
"""A minimal client of gyre's bidirectional gRPC stream (``CentrifugoStream.Communicate``).

Connects with a JWT, subscribes to channels, prints every publication, answers server pings
and exits on a disconnect push.  It uses the stubs generated from the repo's protos
(``generated/``; regenerate with ``python scripts/gen_protos.py``).

    # server: gyre -c config.json --grpc_stream            (listens on :11001)
    TOKEN=$(gyre gentoken -c config.json -u 42 | tail -1)
    python examples/grpc_stream_client.py --token "$TOKEN" chat:index
    # from another shell, publish:
    curl -X POST -H "X-API-Key: $API_KEY" -d '{"channel":"chat:index","data":{"text":"hi"}}' \
         http://localhost:8000/api/publish

Options: ``--target host:port`` (default ``localhost:11001``), ``--ca cert.pem`` for TLS,
``--count N`` to exit after N publications.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

# generated/ is an import root (namespace packages, no __init__.py)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "generated"))

import grpc
from centrifugal.centrifuge.protocol import client_pb2
from centrifugal.centrifugo.stream import stream_pb2_grpc


async def run(target: str, token: str, channels: list[str], ca: str | None, count: int) -> int:
    if ca:
        creds = grpc.ssl_channel_credentials(root_certificates=Path(ca).read_bytes())
        channel = grpc.aio.secure_channel(target, creds)
    else:
        channel = grpc.aio.insecure_channel(target)
    async with channel:
        call = stream_pb2_grpc.CentrifugoStreamStub(channel).Communicate()
        # 1. connect first: one Command per stream message, ids > 0 for commands
        await call.write(
            client_pb2.Command(
                id=1, connect=client_pb2.ConnectRequest(token=token, name="grpc-example")
            )
        )
        answer_pings = False
        received = 0
        subscribing = {}  # command id -> channel
        async for reply in call:
            if reply.id:  # 2. a reply to one of our commands
                if reply.HasField("error"):
                    print(f"error {reply.error.code} {reply.error.message}", flush=True)
                    if reply.id == 1:
                        return 1
                elif reply.HasField("connect"):
                    answer_pings = reply.connect.pong
                    print(f"connected as {reply.connect.client}", flush=True)
                    for i, ch in enumerate(channels, start=2):
                        subscribing[i] = ch
                        await call.write(
                            client_pb2.Command(
                                id=i, subscribe=client_pb2.SubscribeRequest(channel=ch)
                            )
                        )
                elif reply.HasField("subscribe"):
                    print(f"subscribed to {subscribing.pop(reply.id, '?')}", flush=True)
            elif reply.HasField("push"):  # 3. asynchronous pushes
                push = reply.push
                if push.HasField("pub"):
                    print(f"{push.channel}: {push.pub.data.decode(errors='replace')}", flush=True)
                    received += 1
                    if count and received >= count:
                        call.cancel()
                        return 0
                elif push.HasField("disconnect"):
                    d = push.disconnect
                    print(f"disconnected: {d.code} {d.reason}", flush=True)
                    return 0 if d.code < 3500 or d.code >= 5000 else 2
            elif answer_pings:  # 4. an empty Reply is a ping: answer with an empty Command
                await call.write(client_pb2.Command())
        print(f"stream ended: {await call.code()}", flush=True)
        return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("channels", nargs="*", help="channels to subscribe to")
    ap.add_argument("--target", default="localhost:11001", help="gyre grpc_stream host:port")
    ap.add_argument("--token", required=True, help="connection JWT")
    ap.add_argument("--ca", help="PEM CA certificate: use TLS")
    ap.add_argument("--count", type=int, default=0, help="exit after N publications")
    args = ap.parse_args()
    try:
        return asyncio.run(run(args.target, args.token, args.channels, args.ca, args.count))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
