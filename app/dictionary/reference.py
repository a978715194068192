"""The reference data the dictionary starts with (app/dictionary/data/reference.json, built by
scripts/build_dictionary_reference.py): what the migration seeds and what tests put back
after truncating."""
import functools
import json
from pathlib import Path

REFERENCE_PATH = Path(__file__).resolve().parent / "data" / "reference.json"


@functools.lru_cache(maxsize=1)
def reference_nodes() -> tuple:
    """(category, code, name, parent_code, sort_order, is_active) of every seeded node."""
    data = json.loads(REFERENCE_PATH.read_text(encoding="utf-8"))
    return tuple(tuple(node) for node in data["nodes"])


def reference_rows(now) -> list[dict]:
    return [{"category": category, "code": code, "name": name, "parent_code": parent,
             "sort_order": sort_order, "is_active": active, "created_at": now,
             "updated_at": now}
            for category, code, name, parent, sort_order, active in reference_nodes()]
