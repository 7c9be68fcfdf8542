"""Gyre: a gRPC-first, Centrifugo v4 compatible real-time messaging server."""

from __future__ import annotations

import os
import sys

# generated/ (grpcio-tools output) is an import root for the proto packages.
_GENERATED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "generated")
if os.path.isdir(_GENERATED) and _GENERATED not in sys.path:
    sys.path.insert(0, _GENERATED)

__version__ = "0.1.0"
