"""Every page a subscribe message opens is a real page of the mini-program: its path (before
"?") is in miniprogram/app.json (a main page, or a subpackage root + page), and its query is
what that page reads in onLoad."""
import json
from pathlib import Path

import pytest

from app.notifications.templates import _TEMPLATES, default_templates, render_page

APP_JSON = Path(__file__).resolve().parents[2] / "miniprogram" / "app.json"


def app_pages() -> set[str]:
    app = json.loads(APP_JSON.read_text(encoding="utf-8"))
    pages = set(app["pages"])
    for package in app.get("subpackages") or app.get("subPackages") or []:
        pages.update(f"{package['root'].rstrip('/')}/{page}" for page in package["pages"])
    return pages


def test_app_json_is_read():
    pages = app_pages()
    assert "pages/home/index" in pages and "packages/booking/registration/index" in pages


@pytest.mark.parametrize("event,template", sorted(default_templates().items()))
def test_every_event_page_is_a_page_of_app_json(event, template):
    page = template["page"]
    if template["channel"] == "official":  # staff to-dos: official-account messages, no page
        assert page is None
        return
    assert page, f"{event} opens no page"
    path = page.split("?", 1)[0]
    assert not path.startswith("/"), f"{event}: WeChat wants the page without a leading /"
    assert path in app_pages(), f"{event} → {path} is not a page of miniprogram/app.json"


@pytest.mark.parametrize("template_id", sorted(_TEMPLATES))
def test_every_template_page_is_a_page_of_app_json(template_id):
    page = _TEMPLATES[template_id][2]
    if page is not None:
        assert page.split("?", 1)[0] in app_pages()


def test_the_detail_pages_get_the_id_they_read():
    """registration/index and care/order/index and caregiver/service/index read `id`."""
    templates = default_templates()
    assert render_page(templates["registration_booked"]["page"], "registration", 42) == \
        "packages/booking/registration/index?id=42"
    # a held waitlist slot is an unpaid registration: its page pays it
    assert render_page(templates["waitlist_offered"]["page"], "registration", 43) == \
        "packages/booking/registration/index?id=43"
    assert render_page(templates["waitlist_ended"]["page"], "waitlist_entry", 8) == \
        "packages/booking/waitlist/index"
    assert render_page(templates["care_order_accepted"]["page"], "care_order", 7,
                       {"order_id": 7}) == "packages/care/order/index?id=7"
    # a review's ref is the review: the order id comes from the context
    assert render_page(templates["care_order_reviewed"]["page"], "care_review", 3,
                       {"order_id": 7}) == "packages/caregiver/service/index?id=7"
    assert render_page(templates["care_review_replied"]["page"], "care_review", 3,
                       {"order_id": 7}) == "packages/care/order/index?id=7"
