"""Fixtures of the dataset tests."""
import pytest


@pytest.fixture(scope='session', autouse=True)
def registered_modules():
    """Register every module and make ``slimselfsup`` the default scope."""
    from slimselfsup.utils import register_all_modules
    register_all_modules()
