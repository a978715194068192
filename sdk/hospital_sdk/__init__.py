"""hospital_sdk: the Python SDK of the platform's signed open API (/open/v1).

    from hospital_sdk import OpenApiClient, Schedule
"""
__version__ = "0.1.0"

from .client import BATCH_LIMIT, OpenApiClient  # noqa: E402
from .errors import (ApiConnectionError, ApiTimeout, AuthenticationError, BadRequest,  # noqa: E402
                     Conflict, NotFound, OpenApiError, PermissionDenied, RateLimited,
                     ServerError, ValidationError)
from .models import (UNSET, BatchResult, ChangesPage, Department, Doctor,  # noqa: E402
                     RegistrationChange, Schedule)
from .signing import canonical_request, new_nonce, sign, signature  # noqa: E402

__all__ = [
    "__version__", "BATCH_LIMIT", "OpenApiClient",
    "OpenApiError", "ApiConnectionError", "ApiTimeout", "BadRequest", "AuthenticationError",
    "PermissionDenied", "NotFound", "Conflict", "ValidationError", "RateLimited", "ServerError",
    "Department", "Doctor", "Schedule", "UNSET", "BatchResult", "ChangesPage", "RegistrationChange",
    "canonical_request", "sign", "signature", "new_nonce",
]
