"""Every link the menu replies carry opens a console page: GET by a signed-in admin → 200."""
import re
from urllib.parse import urlsplit

import pytest

from app.staff_wechat.services import CONSOLE_PATHS
from tests.console.conftest import sign_in
from tests.staff_wechat.conftest import bind

OPENID = "oStaffOfficial0000000000005"
H5 = "https://h5.example.com"
LINK = re.compile(r"https?://\S+")


@pytest.fixture
def admin_console(app, staff_factory):
    staff = staff_factory("admin", username="links-admin")
    client = app.test_client()
    assert sign_in(client, "links-admin").status_code == 303
    return client, staff


def test_every_link_in_the_menu_replies_is_a_console_page(app, official, dataset, admin_console,
                                                           monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_OA_H5_BASE_URL", H5)
    client, staff = admin_console
    links = set(LINK.findall(official.click("oNobodyWeKnow000000000000005", "STAFF_TODO")))
    bind(app, staff["id"], OPENID)
    for key in ("STAFF_TODO", "STAFF_TODAY", "STAFF_DASHBOARD"):
        links.update(LINK.findall(official.click(OPENID, key)))
    paths = {urlsplit(link).path for link in links}
    assert all(link.startswith(H5 + "/console/") for link in links), links
    # 待办 for an admin has every queue with a page, plus the dashboard and the sign-in page
    assert paths == {path for path in CONSOLE_PATHS.values() if path}, paths
    for link in links:
        parts = urlsplit(link)
        answer = client.get(parts.path, query_string=parts.query)
        assert answer.status_code == 200, (link, answer.status_code)
