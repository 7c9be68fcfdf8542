"""Redis engine integration tests: real redis-server processes from ``tests.redis_fixtures``.

This directory has no ``__init__.py`` on purpose: as a package without a parent package it
would be imported as ``redis`` and shadow redis-py.
"""

import pytest

pytest.register_assert_rewrite("tests.engine_suite")

from tests.redis_fixtures import *  # noqa: E402, F403
