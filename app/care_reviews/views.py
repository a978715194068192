from app.common.api import Blueprint

from app.care_reviews import models as _models  # noqa: F401  (tables for migrations)

blp = Blueprint("care_reviews", __name__, url_prefix="/api/v1", description="陪护评价")
