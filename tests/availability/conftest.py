import pytest

from tests.conftest import make_caregiver


@pytest.fixture
def caregivers(app):
    return [make_caregiver(app), make_caregiver(app)]
