"""The board's moderation page in a real headless Chromium (Debian's chromium-driver, as in
tests/browser): an operator hides a reported post from the queue at a phone's width and adds a
banned word at a desktop's; the pages fit the screen and are photographed
(CONSOLE_SCREENSHOT_DIR, else a temporary directory, printed)."""
from tests.board.conftest import post, reply
from tests.browser.test_console import DESKTOP, PHONE, _shoot, _sign_in, _size


def test_an_operator_hides_a_reported_post_and_adds_a_banned_word(app, client, browser,
                                                                    staff_factory,
                                                                    screenshot_dir, alice, bob):
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    target = post(client, alice, title="加微信领取免费体检卡", body="名额有限,先到先得。\n详情私聊。")
    answer = reply(client, bob, target["id"], "这是广告吧")
    reported = client.post(f"/api/v1/board/posts/{target['id']}/reports", headers=bob["headers"],
                           json={"reason": "广告引流"})
    assert reported.status_code == 201
    staff_factory("operator", username="olga")
    base = app.config["LIVE_URL"]

    def flash(text):
        WebDriverWait(browser, 10, ignored_exceptions=(
            NoSuchElementException, StaleElementReferenceException)).until(
            lambda driver: text in driver.find_element(By.CSS_SELECTOR, ".console-flash").text)

    _size(browser, PHONE, phone=True)
    _sign_in(browser, base, "olga")
    browser.find_element(By.LINK_TEXT, "讨论区").click()
    card = browser.find_element(By.ID, f"report-{reported.get_json()['id']}")
    assert "加微信领取免费体检卡" in card.text and "广告引流" in card.text
    _shoot(browser, screenshot_dir, "phone-board-reports", PHONE[0])
    form = browser.find_element(By.ID, f"hide-post-{target['id']}")
    form.find_element(By.NAME, "reason").send_keys("广告引流")
    form.find_element(By.TAG_NAME, "button").click()
    flash("已隐藏帖子")
    assert "没有举报" in browser.find_element(By.TAG_NAME, "main").text
    gone = client.get(f"/api/v1/board/posts/{target['id']}", headers=bob["headers"])
    assert gone.status_code == 404

    browser.get(f"{base}/console/board/posts/{target['id']}")
    assert "这是广告吧" in browser.find_element(By.ID, f"reply-{answer['id']}").text
    _shoot(browser, screenshot_dir, "phone-board-post", PHONE[0])

    _size(browser, DESKTOP, phone=False)
    browser.get(f"{base}/console/board/words")
    browser.find_element(By.ID, "f-word").send_keys("免费体检卡")
    browser.find_element(By.ID, "add-word").click()
    flash("已添加违禁词")
    assert "免费体检卡" in browser.find_element(By.ID, "word-list").text
    _shoot(browser, screenshot_dir, "desktop-board-words", DESKTOP[0])
    refused = client.post("/api/v1/board/posts", headers=alice["headers"], json={
        "section": "experience", "title": "再发一次", "body": "免费体检卡 先到先得"})
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "banned_word"
