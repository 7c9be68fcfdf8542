"""NATS broker integration tests: real nats-server processes from ``tests.nats_fixtures``.

No ``__init__.py`` on purpose: as a top-level package this directory would be imported as
``nats`` and shadow nats-py.
"""

import pytest

pytest.register_assert_rewrite("tests.engine_suite")

from tests.nats_fixtures import *  # noqa: E402, F403
