from app.common.api import Blueprint

from app.caregivers import models as _models  # noqa: F401  (tables for migrations)
