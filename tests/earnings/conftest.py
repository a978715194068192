from tests.care_orders.conftest import care_world  # noqa: F401  (the fixture)
