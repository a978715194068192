"""The typed payloads of the open API. Field names are the wire names (shared with the server).

Each model's ``to_dict()`` is plain JSON: dates as "YYYY-MM-DD", times as "HH:MM", None as null.
Optional descriptive fields default to ``UNSET`` and are then left out of the request: the
platform keeps what it has (a department's intro written by platform staff, say). Set one to
None to clear it, to a value to replace it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Literal

Period = Literal["morning", "afternoon", "evening"]
PERIODS = ("morning", "afternoon", "evening")


class _Unset:
    """A field left out of the request (the platform keeps its stored value)."""

    def __repr__(self):
        return "UNSET"

    def __bool__(self):
        return False


UNSET: Any = _Unset()


def _json_value(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M") if not value.second else value.strftime("%H:%M:%S")
    return value


class _Model:
    def to_dict(self) -> dict[str, Any]:
        return {f.name: _json_value(getattr(self, f.name)) for f in dataclasses.fields(self)
                if getattr(self, f.name) is not UNSET}

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def _require_text(obj, *names):
    for name in names:
        value = getattr(obj, name)
        if not isinstance(value, str) or not value:
            raise ValueError(f"{type(obj).__name__}.{name} must be a non-empty string")


@dataclass
class Department(_Model):
    external_id: str
    name: str
    parent_external_id: str | None = None  # None: a top-level department
    sort_order: int = UNSET  # new departments: 0
    intro: str | None = UNSET

    def __post_init__(self):
        _require_text(self, "external_id", "name")


@dataclass
class Doctor(_Model):
    external_id: str
    department_external_id: str
    name: str
    title: str
    specialty: str | None = UNSET
    intro: str | None = UNSET
    avatar_url: str | None = UNSET

    def __post_init__(self):
        _require_text(self, "external_id", "department_external_id", "name")


@dataclass
class Schedule(_Model):
    external_id: str
    doctor_external_id: str
    work_date: date
    period: Period
    start_time: time | str
    end_time: time | str
    total: int
    fee_fen: int

    def __post_init__(self):
        _require_text(self, "external_id", "doctor_external_id")
        if isinstance(self.work_date, str):
            self.work_date = date.fromisoformat(self.work_date)
        if isinstance(self.work_date, datetime) or not isinstance(self.work_date, date):
            raise ValueError("Schedule.work_date must be a datetime.date")
        if self.period not in PERIODS:
            raise ValueError(f"Schedule.period must be one of {PERIODS}, not {self.period!r}")
        # the server's ranges: a clinic has 1..1000 numbers (one with none is stopped instead)
        for name, low, high in (("total", 1, 1000), ("fee_fen", 0, 1_000_000)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"Schedule.{name} must be an int in {low}..{high}"
                                 + (" (fen)" if name == "fee_fen" else ""))


@dataclass
class BatchResult:
    """The merged answer of one upsert call, over however many requests it took.

    Counts are summed and `items` concatenated in request order; `responses` keeps each
    request's raw JSON answer."""
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    items: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    responses: list[Any] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    def add(self, data: Any) -> None:
        self.requests += 1
        self.responses.append(data)
        if isinstance(data, dict):
            for name in ("created", "updated", "unchanged"):
                if isinstance(data.get(name), int):
                    setattr(self, name, getattr(self, name) + data[name])
            if isinstance(data.get("items"), list):
                self.items.extend(data["items"])


@dataclass
class RegistrationChange:
    """One registration that changed. The fields the SDK names are read when present
    (`changed_at` is the wire's `updated_at`; the *_external_id are None for clinics the
    platform's staff made); the whole item as the server sent it is in `data` (visit_date,
    period, visit_number, fee_fen, patient_name masked)."""
    order_no: str | None
    status: str | None
    changed_at: str | None = None
    schedule_external_id: str | None = None
    doctor_external_id: str | None = None
    department_external_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RegistrationChange":
        return cls(order_no=data.get("order_no"), status=data.get("status"),
                   changed_at=data.get("updated_at"),
                   schedule_external_id=data.get("schedule_external_id"),
                   doctor_external_id=data.get("doctor_external_id"),
                   department_external_id=data.get("department_external_id"),
                   data=dict(data))


@dataclass
class ChangesPage:
    """One page of GET /open/v1/registrations/changes: {"items", "next_cursor", "has_more"}.
    Keep `next_cursor` to resume from it next time."""
    items: list[RegistrationChange]
    next_cursor: str | None
    has_more: bool

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ChangesPage":
        return cls(items=[RegistrationChange.from_dict(i) for i in data.get("items") or []],
                   next_cursor=data.get("next_cursor"), has_more=bool(data.get("has_more")))
