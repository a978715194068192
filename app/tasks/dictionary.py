"""Data dictionary jobs: ids in, idempotent (a finished import is left alone)."""
from app.common.jobs import job
from app.dictionary import services


@job
def run_dictionary_import(import_id: int):
    """Validate every row of an uploaded workbook, then write all of them or none."""
    return services.run_import(import_id)
