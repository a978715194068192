from app.common.api import Blueprint

from app.care_disputes import models as _models  # noqa: F401  (tables for migrations)

blp = Blueprint("care_disputes", __name__, url_prefix="/api/v1", description="陪护纠纷")
