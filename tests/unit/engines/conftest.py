import pytest

# The shared suite lives outside test modules: let pytest rewrite its asserts too.
pytest.register_assert_rewrite("tests.engine_suite")
