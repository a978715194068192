"""The console's moderation pages: the queue shows what was reported, hide / restore / ban act
through the same services, and the banned-words editor changes what posting accepts."""
import re

from tests.board.conftest import post, reply
from tests.console.conftest import post as form_post, text


def test_queue_hide_restore_and_ban_from_the_console(client, console, alice, bob):
    target = post(client, alice, title="可疑广告帖", body="<加微信>".replace("<", "「").replace(">", "」"))
    answer = reply(client, alice, target["id"], "回复里的广告")
    assert client.post(f"/api/v1/board/posts/{target['id']}/reports", headers=bob["headers"],
                       json={"reason": "广告"}).status_code == 201
    staff, _ = console("operator")
    page = text(staff.get("/console/board"))
    assert "可疑广告帖" in page and "广告" in page and f'id="hide-post-{target["id"]}"' in page

    hidden = form_post(staff, f"/console/board/post/{target['id']}/hide",
                       {"reason": "广告引流", "next": "/console/board?view=posts"}, "/console/board")
    assert hidden.status_code == 303 and hidden.headers["Location"].endswith("/console/board?view=posts")
    assert client.get(f"/api/v1/board/posts/{target['id']}", headers=bob["headers"]).status_code == 404
    assert "没有举报" in text(staff.get("/console/board"))  # the report was handled with the hide
    hidden_list = text(staff.get("/console/board?view=posts&status=hidden"))
    assert "可疑广告帖" in hidden_list and f'id="restore-post-{target["id"]}"' in hidden_list

    restored = form_post(staff, f"/console/board/post/{target['id']}/restore",
                         {"next": "https://evil.example/"}, "/console/board")
    assert restored.status_code == 303 and "evil" not in restored.headers["Location"]
    assert client.get(f"/api/v1/board/posts/{target['id']}", headers=bob["headers"]).status_code == 200

    detail = text(staff.get(f"/console/board/posts/{target['id']}"))
    assert "回复里的广告" in detail
    banned = form_post(staff, f"/console/board/reply/{answer['id']}/ban", {"reason": "发布广告"},
                       f"/console/board/posts/{target['id']}")
    assert banned.status_code == 303
    assert client.get("/api/v1/board/posts", headers=alice["headers"]).status_code == 403
    refused = form_post(staff, f"/console/board/post/{target['id']}/hide", {"reason": ""}, "/console/board")
    assert refused.status_code == 422


def test_banned_words_editor(client, console, alice):
    staff, _ = console("operator")
    added = form_post(staff, "/console/board/words", {"word": "代开发票"}, "/console/board/words")
    assert added.status_code == 303
    page = text(staff.get("/console/board/words"))
    assert "代开发票" in page
    refused = post(client, alice, body="可以代开发票", status=422)
    assert refused["error"]["code"] == "banned_word"
    assert form_post(staff, "/console/board/words", {"word": "代开发票"},
                     "/console/board/words").status_code == 409
    word_id = int(re.search(r'id="word-(\d+)"', page).group(1))
    assert form_post(staff, f"/console/board/words/{word_id}/delete", {},
                     "/console/board/words").status_code == 303
    post(client, alice, body="可以代开发票")


def test_reviewers_do_not_moderate(console):
    staff, _ = console("reviewer")
    assert staff.get("/console/board").status_code == 403
    assert staff.get("/console/board/words").status_code == 403
