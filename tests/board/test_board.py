from tests.board.conftest import PDF, post, reply, upload
from tests.conftest import row_counts

BOARD = "/api/v1/board"
STAFF = "/api/v1/staff/board"


def listed_ids(client, user, **query):
    response = client.get(f"{BOARD}/posts", headers=user["headers"], query_string=query)
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def test_sections_are_the_three_seeded_ones(client, alice):
    response = client.get(f"{BOARD}/sections", headers=alice["headers"])
    assert response.status_code == 200
    assert [(s["code"], s["name"]) for s in response.get_json()] == [
        ("experience", "就医经验"), ("consult", "健康咨询"), ("care", "陪护交流")]


def test_post_reply_and_read_in_order(client, alice, bob):
    client.patch("/api/v1/me", headers=alice["headers"], json={"nickname": "小艾"})
    first = post(client, alice, title="协和挂号经验", body="早上七点放号")
    second = post(client, alice, section="consult", title="高血压怎么调理", body="血压<140 算正常吗")
    assert second["body"] == "血压<140 算正常吗"  # a lone "<" is plain text, not markup
    assert first["author"] == {"nickname": "小艾", "avatar_url": None}
    assert "author_user_id" not in first and first["is_mine"] is True

    reply(client, bob, first["id"], "第一条回复")
    reply(client, alice, first["id"], "第二条回复")
    replies = client.get(f"{BOARD}/posts/{first['id']}/replies", headers=bob["headers"]).get_json()
    assert [r["body"] for r in replies["items"]] == ["第一条回复", "第二条回复"]
    assert [r["is_mine"] for r in replies["items"]] == [True, False]
    assert replies["items"][1]["author"]["nickname"] == "小艾"

    detail = client.get(f"{BOARD}/posts/{first['id']}", headers=bob["headers"]).get_json()
    assert detail["reply_count"] == 2 and detail["is_mine"] is False
    assert detail["body"] == "早上七点放号" and detail["section_name"] == "就医经验"

    assert listed_ids(client, bob) == [second["id"], first["id"]]  # newest first
    assert listed_ids(client, bob, sort="active") == [first["id"], second["id"]]  # latest reply
    assert listed_ids(client, bob, section="consult") == [second["id"]]
    page = client.get(f"{BOARD}/posts", headers=bob["headers"],
                      query_string={"page": 2, "page_size": 1}).get_json()
    assert page["total"] == 2 and [i["id"] for i in page["items"]] == [first["id"]]
    mine = client.get(f"{BOARD}/mine", headers=alice["headers"]).get_json()
    assert mine["total"] == 2
    assert client.get(f"{BOARD}/mine", headers=bob["headers"]).get_json()["total"] == 0


def test_images_must_be_my_own_board_images(client, app, alice, bob, rate_limit):
    rate_limit("BOARD_POST_RATE_LIMIT", "100 per minute")
    mine = [upload(client, alice), upload(client, alice)]
    created = post(client, alice, image_ids=mine)
    assert [i["id"] for i in created["images"]] == mine
    url = created["images"][0]["url"]
    shown = client.get(url, headers=bob["headers"])  # everyone signed in sees a visible post's images
    assert shown.status_code == 200 and shown.mimetype == "image/png"
    foreign = upload(client, bob)
    not_on_post = client.get(f"{BOARD}/posts/{created['id']}/images/{foreign}",
                             headers=bob["headers"])
    assert not_on_post.status_code == 404

    id_photo = upload(client, alice, purpose="id_photo")
    pdf = upload(client, alice, PDF)
    before = row_counts(app)
    for image_ids, status, code in (([foreign], 404, "file_not_found"),
                                    ([mine[0], foreign], 404, "file_not_found"),
                                    ([999999], 404, "file_not_found"),
                                    ([id_photo], 422, "image_not_allowed"),
                                    ([pdf], 422, "image_not_allowed"),
                                    ([mine[0], mine[0]], 422, "duplicate_image"),
                                    ([mine[0]] * 10, 422, "validation_error")):
        body = post(client, alice, image_ids=image_ids, status=status)
        assert body["error"]["code"] == code
    assert row_counts(app) == before


def test_banned_words_refused_with_nothing_stored(client, app, alice, bob, operator):
    target = post(client, bob)
    added = client.post(f"{STAFF}/banned-words", headers=operator["headers"],
                        json={"word": "代开 Fapiao"})
    assert added.status_code == 201 and added.get_json()["word"] == "代开fapiao"
    again = client.post(f"{STAFF}/banned-words", headers=operator["headers"],
                        json={"word": "代开fapiao"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "banned_word_exists"
    before = row_counts(app)
    for fields in ({"title": "代开FAPIAO 联系我"}, {"body": "专业 代 开 fapiao"}):
        refused = post(client, alice, **fields, status=422)
        assert refused["error"]["code"] == "banned_word"
        assert "违禁词" in refused["error"]["message"]
        assert list(refused["error"]["details"]) == list(fields)
    refused = reply(client, alice, target["id"], "需要代开fapiao吗", status=422)
    assert refused["error"]["code"] == "banned_word"
    assert row_counts(app) == before

    words = client.get(f"{STAFF}/banned-words", headers=operator["headers"]).get_json()
    assert [w["word"] for w in words] == ["代开fapiao"]
    assert client.delete(f"{STAFF}/banned-words/{words[0]['id']}",
                         headers=operator["headers"]).status_code == 204
    reply(client, alice, target["id"], "需要代开fapiao吗")  # allowed again once removed


def test_markup_refused_with_nothing_stored(client, app, alice, bob, rate_limit):
    rate_limit("BOARD_POST_RATE_LIMIT", "100 per minute")
    target = post(client, bob)
    before = row_counts(app)
    for fields in ({"title": "<script>alert(1)</script>"}, {"body": "hi <img src=x onerror=1>"},
                   {"body": "</p>"}, {"body": "<!-- x -->"}, {"title": "< svg onload=1"}):
        refused = post(client, alice, **fields, status=422)
        assert refused["error"]["code"] == "markup_not_allowed", fields
    refused = reply(client, alice, target["id"], "<b>加粗</b>", status=422)
    assert refused["error"]["code"] == "markup_not_allowed"
    assert row_counts(app) == before


def test_posts_rate_limited_per_user(client, alice, bob):
    for index in range(5):
        post(client, alice, title=f"第{index}帖")
    limited = post(client, alice, status=429)
    assert limited["error"]["code"] == "rate_limited"
    post(client, bob)  # another account has its own allowance
    assert client.get(f"{BOARD}/mine", headers=alice["headers"]).get_json()["total"] == 5


def test_replies_and_reports_rate_limited(client, alice, bob, carol, rate_limit):
    rate_limit("BOARD_REPLY_RATE_LIMIT", "3 per 10 minutes")
    rate_limit("BOARD_REPORT_RATE_LIMIT", "2 per hour")
    target = post(client, bob)
    for _ in range(3):
        reply(client, alice, target["id"])
    assert reply(client, alice, target["id"], status=429)["error"]["code"] == "rate_limited"
    posts = [post(client, bob, title=f"帖{i}") for i in range(3)]
    for item in posts[:2]:
        assert client.post(f"{BOARD}/posts/{item['id']}/reports", headers=carol["headers"],
                           json={"reason": "广告"}).status_code == 201
    assert client.post(f"{BOARD}/posts/{posts[2]['id']}/reports", headers=carol["headers"],
                       json={"reason": "广告"}).status_code == 429


def test_report_once_and_not_my_own(client, alice, bob, operator):
    target = post(client, alice)
    answer = reply(client, alice, target["id"])
    first = client.post(f"{BOARD}/posts/{target['id']}/reports", headers=bob["headers"],
                        json={"reason": "虚假信息"})
    assert first.status_code == 201 and first.get_json()["status"] == "open"
    second = client.post(f"{BOARD}/posts/{target['id']}/reports", headers=bob["headers"],
                         json={"reason": "再举报一次"})
    assert second.status_code == 409 and second.get_json()["error"]["code"] == "already_reported"
    assert client.post(f"{BOARD}/replies/{answer['id']}/reports", headers=bob["headers"],
                       json={"reason": "人身攻击"}).status_code == 201
    own = client.post(f"{BOARD}/posts/{target['id']}/reports", headers=alice["headers"],
                      json={"reason": "自己举报自己"})
    assert own.status_code == 409 and own.get_json()["error"]["code"] == "cannot_report_own"

    queue = client.get(f"{STAFF}/reports", headers=operator["headers"]).get_json()
    assert queue["total"] == 2
    assert [(r["target_type"], r["reason"]) for r in queue["items"]] == [
        ("post", "虚假信息"), ("reply", "人身攻击")]
    assert queue["items"][0]["target"]["author_user_id"] == alice["id"]
    assert queue["items"][1]["target"]["title"] == target["title"]
    dismissed = client.post(f"{STAFF}/reports/{queue['items'][1]['id']}/dismiss",
                            headers=operator["headers"])
    assert dismissed.status_code == 200 and dismissed.get_json()["status"] == "dismissed"
    assert client.post(f"{STAFF}/reports/{queue['items'][1]['id']}/dismiss",
                       headers=operator["headers"]).status_code == 409
    hidden = client.post(f"{STAFF}/posts/{target['id']}/hide", headers=operator["headers"],
                         json={"reason": "虚假信息"})
    assert hidden.status_code == 200 and hidden.get_json()["status"] == "hidden"
    assert client.get(f"{STAFF}/reports", headers=operator["headers"]).get_json()["total"] == 0
    handled = client.get(f"{STAFF}/reports", headers=operator["headers"],
                         query_string={"status": "handled"}).get_json()
    assert [r["target"]["status"] for r in handled["items"]] == ["hidden"]
    gone = client.post(f"{BOARD}/posts/{target['id']}/reports", headers=bob["headers"],
                       json={"reason": "已隐藏的"})
    assert gone.status_code == 404


def test_hidden_post_disappears_everywhere_and_restore_brings_it_back(client, alice, bob,
                                                                     operator):
    image = upload(client, alice)
    target = post(client, alice, image_ids=[image])
    other = post(client, bob, title="另一个帖子")
    reply(client, bob, target["id"])
    image_url = target["images"][0]["url"]
    hidden = client.post(f"{STAFF}/posts/{target['id']}/hide", headers=operator["headers"],
                         json={"reason": "广告"})
    assert hidden.status_code == 200

    for viewer in (alice, bob):  # the author too: hidden is gone for every user
        assert listed_ids(client, viewer) == [other["id"]]
        assert listed_ids(client, viewer, sort="active") == [other["id"]]
        assert listed_ids(client, viewer, section="experience") == [other["id"]]
        for path in (f"{BOARD}/posts/{target['id']}", f"{BOARD}/posts/{target['id']}/replies",
                     image_url):
            assert client.get(path, headers=viewer["headers"]).status_code == 404
    assert client.get(f"{BOARD}/mine", headers=alice["headers"]).get_json()["total"] == 0
    assert reply(client, bob, target["id"], status=404)["error"]["code"] == "post_not_found"
    assert client.delete(f"{BOARD}/posts/{target['id']}", headers=alice["headers"]).status_code == 404
    again = client.post(f"{STAFF}/posts/{target['id']}/hide", headers=operator["headers"],
                        json={"reason": "广告"})
    assert again.status_code == 409
    staff_view = client.get(f"{STAFF}/posts", headers=operator["headers"],
                            query_string={"status": "hidden"}).get_json()
    assert [p["id"] for p in staff_view["items"]] == [target["id"]]

    restored = client.post(f"{STAFF}/posts/{target['id']}/restore", headers=operator["headers"])
    assert restored.status_code == 200 and restored.get_json()["status"] == "visible"
    assert listed_ids(client, bob) == [other["id"], target["id"]]
    assert client.get(f"{BOARD}/mine", headers=alice["headers"]).get_json()["total"] == 1
    assert client.get(f"{BOARD}/posts/{target['id']}", headers=bob["headers"]).status_code == 200
    assert client.get(image_url, headers=bob["headers"]).status_code == 200
    assert client.post(f"{STAFF}/posts/{target['id']}/restore",
                       headers=operator["headers"]).status_code == 409


def test_hidden_reply_leaves_replies_and_counts(client, alice, bob, operator):
    target = post(client, alice)
    kept = reply(client, bob, target["id"], "正常回复")
    bad = reply(client, bob, target["id"], "违规回复")

    def seen():
        replies = client.get(f"{BOARD}/posts/{target['id']}/replies",
                             headers=alice["headers"]).get_json()
        detail = client.get(f"{BOARD}/posts/{target['id']}", headers=bob["headers"]).get_json()
        listed = client.get(f"{BOARD}/posts", headers=bob["headers"]).get_json()["items"][0]
        mine = client.get(f"{BOARD}/mine", headers=alice["headers"]).get_json()["items"][0]
        return ([r["id"] for r in replies["items"]], replies["total"], detail["reply_count"],
                listed["reply_count"], mine["reply_count"])

    assert seen() == ([kept["id"], bad["id"]], 2, 2, 2, 2)
    assert client.post(f"{STAFF}/replies/{bad['id']}/hide", headers=operator["headers"],
                       json={"reason": "辱骂"}).status_code == 200
    assert seen() == ([kept["id"]], 1, 1, 1, 1)
    all_replies = client.get(f"{STAFF}/posts/{target['id']}/replies",
                             headers=operator["headers"]).get_json()
    assert [r["status"] for r in all_replies["items"]] == ["visible", "hidden"]
    assert client.post(f"{BOARD}/replies/{bad['id']}/reports", headers=alice["headers"],
                       json={"reason": "辱骂"}).status_code == 404
    assert client.post(f"{STAFF}/replies/{bad['id']}/restore",
                       headers=operator["headers"]).status_code == 200
    assert seen() == ([kept["id"], bad["id"]], 2, 2, 2, 2)


def test_ban_the_author_revokes_their_token(client, alice, bob, operator):
    target = post(client, alice)
    answer = reply(client, bob, target["id"])
    banned = client.post(f"{STAFF}/posts/{target['id']}/ban-author", headers=operator["headers"],
                         json={"reason": "发布广告"})
    assert banned.status_code == 200 and banned.get_json()["status"] == "banned"
    refused = client.post(f"{BOARD}/posts", headers=alice["headers"], json={
        "section": "experience", "title": "封禁后发帖", "body": "不应成功"})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "account_banned"
    assert client.get(f"{BOARD}/posts", headers=alice["headers"]).status_code == 403
    twice = client.post(f"{STAFF}/posts/{target['id']}/ban-author", headers=operator["headers"],
                        json={"reason": "发布广告"})
    assert twice.status_code == 409
    by_reply = client.post(f"{STAFF}/replies/{answer['id']}/ban-author",
                           headers=operator["headers"], json={"reason": "辱骂"})
    assert by_reply.status_code == 200
    assert client.get(f"{BOARD}/posts", headers=bob["headers"]).status_code == 403


def test_only_the_author_deletes(client, alice, bob):
    target = post(client, alice)
    answer = reply(client, alice, target["id"])
    assert client.delete(f"{BOARD}/posts/{target['id']}", headers=bob["headers"]).status_code == 404
    assert client.delete(f"{BOARD}/replies/{answer['id']}", headers=bob["headers"]).status_code == 404
    assert client.get(f"{BOARD}/posts/{target['id']}", headers=bob["headers"]).get_json()[
        "reply_count"] == 1
    assert client.delete(f"{BOARD}/replies/{answer['id']}", headers=alice["headers"]).status_code == 204
    assert client.get(f"{BOARD}/posts/{target['id']}", headers=bob["headers"]).get_json()[
        "reply_count"] == 0
    assert client.delete(f"{BOARD}/posts/{target['id']}", headers=alice["headers"]).status_code == 204
    assert client.get(f"{BOARD}/posts/{target['id']}", headers=alice["headers"]).status_code == 404
    assert listed_ids(client, bob) == []
    assert client.delete(f"{BOARD}/posts/{target['id']}", headers=alice["headers"]).status_code == 404


def test_bad_input_is_4xx_and_changes_nothing(client, app, alice, staff_factory, rate_limit):
    rate_limit("BOARD_POST_RATE_LIMIT", "100 per minute")
    target = post(client, alice)
    before = row_counts(app)
    bodies = [{}, {"section": "experience", "title": "好", "body": "x"},
              {"section": "nope", "title": "标题标题", "body": "x"},
              {"section": "experience", "title": "标题标题", "body": ""},
              {"section": "experience", "title": "标题标题", "body": "x" * 5001},
              {"section": "experience", "title": "标题标题", "body": "x", "image_ids": "1"},
              {"section": "experience", "title": "标题标题", "body": "x", "author_user_id": 2},
              ]
    for body in bodies:
        response = client.post(f"{BOARD}/posts", headers=alice["headers"], json=body)
        assert response.status_code == 422, (body, response.get_json())
    unstorable = client.post(f"{BOARD}/posts", headers=alice["headers"],
                             content_type="application/json",
                             data='{"section": "experience", "title": "\\ud800标题", "body": "x"}')
    assert unstorable.status_code == 422
    assert client.post(f"{BOARD}/posts", headers=alice["headers"], data="x",
                       content_type="text/plain").status_code == 415
    assert client.post(f"{BOARD}/posts/{target['id']}/replies", headers=alice["headers"],
                       json={"body": "   "}).status_code == 422
    assert client.post(f"{BOARD}/posts/999999/replies", headers=alice["headers"],
                       json={"body": "hi"}).status_code == 404
    assert client.post(f"{BOARD}/posts/{target['id']}/reports", headers=alice["headers"],
                       json={"reason": ""}).status_code == 422
    assert row_counts(app) == before
    for query in ({"section": "nope"}, {"sort": "random"}, {"page_size": 0}, {"page": "x"}):
        assert client.get(f"{BOARD}/posts", headers=alice["headers"],
                          query_string=query).status_code == 422
    assert client.get(f"{BOARD}/posts").status_code == 401
    reviewer = staff_factory("reviewer")
    assert client.get(f"{STAFF}/reports", headers=reviewer["headers"]).status_code == 403
    assert client.get(f"{STAFF}/reports", headers=alice["headers"]).status_code == 401
    operator = staff_factory("operator")
    assert client.post(f"{STAFF}/posts/999999/hide", headers=operator["headers"],
                       json={"reason": "广告"}).status_code == 404
    assert client.post(f"{STAFF}/banned-words", headers=operator["headers"],
                       json={"word": "   "}).status_code == 422
