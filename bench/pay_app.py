"""gunicorn entry for the payment benchmark: the product app plus the test order type
(registrations and care orders are not built yet; any order type exercises the same path)."""
from app.payments.protocol import register_order_type
from tests.payments.order_type import DemoOrderType
from wsgi import app  # noqa: F401  (gunicorn serves this)

register_order_type(DemoOrderType())
