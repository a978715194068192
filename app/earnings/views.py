from app.common.api import Blueprint

from app.earnings import models as _models  # noqa: F401  (tables for migrations)

blp = Blueprint("earnings", __name__, url_prefix="/api/v1", description="护工收入")
