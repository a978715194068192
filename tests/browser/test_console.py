"""The staff H5 console in a real headless Chromium driven by Selenium through Debian's
chromium-driver (never a downloaded browser or driver), every host but this machine
unresolvable: sign in, approve a caregiver, warn and ban a user, resolve a dispute, stop a
clinic, retry a failed job and run a periodic one now, at a phone's width inside WeChat and at a
desktop's, with screenshots of each (CONSOLE_SCREENSHOT_DIR, else a temporary directory,
printed). Every action appears in the audit log (and in its console page) as the staff member
who took it; a reviewer who opens an admin page gets the 403 page.

Needs `apt-get install chromium chromium-driver` (.ci/run installs them) and selenium
(requirements.txt). A missing browser or driver fails the test: it is never skipped.
"""
import os
import shutil
import struct
import tempfile
from pathlib import Path

import pytest

from app.caregivers.models import Caregiver
from app.extensions import db, redis_client
from tests.booking.conftest import catalogue  # noqa: F401  (fixture)
from tests.care_orders.conftest import care_world  # noqa: F401  (fixture)
from tests.caregivers.conftest import add_qualifications
from tests.conftest import make_caregiver

PHONE = (390, 844)
DESKTOP = (1280, 800)
WECHAT_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
             "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50(0x1800323c) "
             "NetType/WIFI Language/zh_CN")
WEUI_GREEN = "rgba(7, 193, 96, 1)"  # WeUI's primary button: only there if its CSS loaded
# the password form even inside WeChat (where /console/login goes to the OAuth sign-in)
PASSWORD_FORM = "/console/login?password=1"


def _binary(*names) -> str:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    pytest.fail(f"{names[0]} is needed for the console browser test and was not found: "
                "apt-get install -y chromium chromium-driver")


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not fetch anything
    profile = tempfile.mkdtemp(prefix="chromium-console-")
    options = webdriver.ChromeOptions()
    options.binary_location = _binary("chromium", "chromium-browser", "google-chrome")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run",
                     "--disable-default-apps", "--disable-extensions", "--hide-scrollbars",
                     f"--user-data-dir={profile}",
                     # offline: no name resolves except this machine, so a CDN asset could not
                     "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=_binary("chromedriver")),
                              options=options)
    driver.set_page_load_timeout(30)
    # a click that submits a form returns before the next page is there: look for a while
    driver.implicitly_wait(10)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def screenshot_dir() -> Path:
    path = Path(os.environ.get("CONSOLE_SCREENSHOT_DIR")
                or tempfile.mkdtemp(prefix="console-screenshots-"))
    path.mkdir(parents=True, exist_ok=True)
    print(f"\nconsole screenshots: {path}")
    return path


def _size(driver, size, *, phone):
    """A phone inside WeChat (its user agent, touch metrics) or a desktop window."""
    width, height = size
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": phone})
    driver.execute_cdp_cmd("Network.setUserAgentOverride", {
        "userAgent": WECHAT_UA if phone else driver.execute_script("return navigator.userAgent")
        .replace("HeadlessChrome", "Chrome")})


def _shoot(driver, directory: Path, name: str, width: int) -> Path:
    path = directory / f"{name}.png"
    assert driver.save_screenshot(str(path)), name
    shot_width, _ = struct.unpack(">II", path.read_bytes()[16:24])  # PNG IHDR
    assert shot_width == width, (name, shot_width)
    # nothing wider than the screen: no sideways scrolling on a phone
    assert driver.execute_script("return document.documentElement.scrollWidth") <= width, name
    return path


def dispute_id(app, order_id) -> int:
    from app.care_disputes.models import CareDispute

    with app.app_context():
        found = db.session.query(CareDispute.id).filter_by(order_id=order_id).scalar()
        db.session.remove()
    return found


def console_actions(app, staff_id) -> list[tuple[str, str]]:
    """(method, action) of every audit entry by `staff_id`, oldest first; all from the console."""
    from app.audit.models import AuditEntry

    with app.app_context():
        entries = db.session.query(AuditEntry).filter_by(staff_id=staff_id) \
            .order_by(AuditEntry.id).all()
        assert {entry.source for entry in entries} <= {"console"}, entries
        found = [(entry.method, entry.action) for entry in entries]
        db.session.remove()
    return found


def _forbidden(browser, base, path):
    from selenium.webdriver.common.by import By

    browser.get(base + path)
    message = browser.find_element(By.CLASS_NAME, "weui-msg")
    assert message.get_attribute("data-error-code") == "forbidden", path
    assert "没有权限" in message.text, path


def _on_dashboard(browser):
    """The click that submits the sign-in returns before the next page: wait for it."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 10).until(
        lambda driver: driver.current_url.rstrip("/").endswith("/console"))


def _sign_in(browser, base, username):
    from selenium.webdriver.common.by import By

    browser.get(base + PASSWORD_FORM)
    browser.find_element(By.ID, "username").send_keys(username)
    browser.find_element(By.ID, "password").send_keys("correct-horse-battery")
    browser.find_element(By.ID, "sign-in").click()
    _on_dashboard(browser)


def test_a_reviewer_signs_in_and_approves_a_caregiver(app, browser, staff_factory,
                                                       screenshot_dir):
    from selenium.webdriver.common.by import By

    rita = staff_factory("reviewer", username="rita")
    caregiver_id = make_caregiver(app, status="pending_review", name="李秀兰")
    add_qualifications(app, caregiver_id)
    base = app.config["LIVE_URL"]

    _size(browser, PHONE, phone=True)
    browser.get(base + "/console/")
    # not signed in yet: inside WeChat that is the official account's OAuth, if configured
    assert "/console/login" in browser.current_url or "oauth2/authorize" in browser.current_url
    browser.get(base + PASSWORD_FORM)
    _shoot(browser, screenshot_dir, "phone-1-sign-in", PHONE[0])
    browser.find_element(By.ID, "username").send_keys("rita")
    browser.find_element(By.ID, "password").send_keys("correct-horse-battery")
    sign_in = browser.find_element(By.ID, "sign-in")
    assert sign_in.value_of_css_property("background-color") == WEUI_GREEN
    sign_in.click()

    _on_dashboard(browser)
    assert browser.find_element(By.ID, "pending-caregivers").text == "1"
    _shoot(browser, screenshot_dir, "phone-2-dashboard", PHONE[0])

    browser.find_element(By.CSS_SELECTOR, "a[href='/console/caregivers']").click()
    browser.find_element(By.ID, f"caregiver-{caregiver_id}").click()
    assert browser.find_element(By.ID, "caregiver-status").text == "待审核"
    _shoot(browser, screenshot_dir, "phone-3-caregiver", PHONE[0])

    # a rejection without a reason is refused and changes nothing
    browser.find_element(By.CSS_SELECTOR, "button[value='reject']").click()
    assert "驳回时请填写原因" in browser.find_element(By.CLASS_NAME, "weui-msg").text
    browser.get(f"{base}/console/caregivers/{caregiver_id}")
    browser.find_element(By.CSS_SELECTOR, "button[value='approve']").click()
    assert "李秀兰:已通过" in browser.find_element(By.CSS_SELECTOR, ".console-flash").text
    _shoot(browser, screenshot_dir, "phone-4-approved", PHONE[0])
    with app.app_context():
        caregiver = db.session.get(Caregiver, caregiver_id)
        assert caregiver.status == "approved"
        assert caregiver.reviewed_by_staff_id is not None
        db.session.remove()

    _size(browser, DESKTOP, phone=False)
    browser.get(base + "/console/")
    assert browser.find_element(By.ID, "pending-caregivers").text == "0"
    _shoot(browser, screenshot_dir, "desktop-1-dashboard", DESKTOP[0])
    browser.get(f"{base}/console/caregivers/{caregiver_id}")
    assert browser.find_element(By.ID, "caregiver-status").text == "已通过"
    _shoot(browser, screenshot_dir, "desktop-2-caregiver", DESKTOP[0])

    # admin pages: not in a reviewer's menu, and the 403 page when opened anyway
    nav = browser.find_element(By.CLASS_NAME, "console-nav").text
    assert "任务" not in nav and "审计" not in nav and "用户" not in nav
    _forbidden(browser, base, "/console/jobs")
    _forbidden(browser, base, "/console/audit")
    _shoot(browser, screenshot_dir, "desktop-2b-forbidden", DESKTOP[0])
    _size(browser, PHONE, phone=True)
    _forbidden(browser, base, "/console/audit/1")
    _shoot(browser, screenshot_dir, "phone-4b-forbidden", PHONE[0])

    # the approval is in the audit log as rita's; the refused rejection and the 403s are not
    assert console_actions(app, rita["id"]) == [("POST", f"/console/caregivers/{caregiver_id}")]

    browser.find_element(By.ID, "sign-out").click()
    browser.get(base + "/console/caregivers")
    assert "/console/login" in browser.current_url or "oauth2/authorize" in browser.current_url


def test_an_admin_bans_a_user_resolves_a_dispute_stops_a_clinic_and_retries_a_failed_job(
        app, client, browser, staff_factory, screenshot_dir, care_world, catalogue, alice):
    """Then runs a periodic job now, and finds each of these actions in the audit log page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from app.care_disputes.models import CareDispute
    from app.hospitals.models import Schedule
    from app.users.models import User
    from tests.care_disputes.conftest import family_dispute, order_at
    from tests.platform import jobs_for_tests as test_jobs
    from tests.platform.test_jobs_cli import burst, enqueue

    ada = staff_factory("admin", username="ada")
    order = order_at(app, client, care_world, "completed")
    assert family_dispute(client, order).status_code == 201
    enqueue(app, test_jobs.flaky, "browser", 2, retry_intervals=[0])
    burst(app)  # fails twice: now among the failed jobs
    base = app.config["LIVE_URL"]

    _size(browser, PHONE, phone=True)
    _sign_in(browser, base, "ada")
    # warn a user first: they are told, and the page counts it
    browser.get(f"{base}/console/users?q={alice['id']}")
    warn = browser.find_element(By.ID, f"warn-{alice['id']}")
    warn.find_element(By.NAME, "reason").send_keys("发布广告信息")
    warn.find_element(By.TAG_NAME, "button").click()
    assert "已警告用户" in browser.find_element(By.CSS_SELECTOR, ".console-flash").text
    assert browser.find_element(By.ID, f"warnings-{alice['id']}").text == "1"
    # then ban them, with the reason they will read
    card = browser.find_element(By.ID, f"user-{alice['id']}")
    card.find_element(By.NAME, "reason").send_keys("恶意刷单")
    _shoot(browser, screenshot_dir, "phone-5-user", PHONE[0])
    card.find_element(By.CSS_SELECTOR, "button.weui-btn_warn").click()
    # the warning's page had a message too: wait for the ban's (the old page's message may go
    # stale between finding it and reading it while the next page loads: look again)
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    WebDriverWait(browser, 10, ignored_exceptions=(
        NoSuchElementException, StaleElementReferenceException)).until(
        lambda driver: "已封禁用户" in driver.find_element(By.CSS_SELECTOR, ".console-flash").text)
    assert "已封禁" in browser.find_element(By.ID, f"user-{alice['id']}").text

    # resolve the dispute with a partial refund
    browser.find_element(By.CSS_SELECTOR, "a[href='/console/disputes']").click()
    browser.find_element(By.CSS_SELECTOR, "a[id^='dispute-']").click()
    browser.find_element(By.XPATH, "//input[@id='outcome-partial_refund']/ancestor::label").click()
    browser.find_element(By.ID, "refund-yuan").send_keys("50.00")
    browser.find_element(By.ID, "resolve-note").send_keys("核实护工迟到,退还部分费用")
    _shoot(browser, screenshot_dir, "phone-6-dispute", PHONE[0])
    browser.find_element(By.ID, "resolve").click()
    assert browser.find_element(By.ID, "dispute-outcome").text == "部分退款"

    # stop a clinic (停诊) three days ahead
    schedule_id = catalogue["schedule"](days_ahead=3)
    browser.find_element(By.CSS_SELECTOR, "a[href='/console/schedules']").click()
    browser.find_element(By.ID, f"hospital-{catalogue['hospital_id']}").click()
    browser.find_element(By.ID, f"department-{catalogue['department_id']}").click()
    assert browser.find_element(By.ID, "schedule-day")  # today's clinics; then its day's
    with app.app_context():
        day = db.session.get(Schedule, schedule_id).work_date.isoformat()
        db.session.remove()
    browser.get(browser.current_url + f"&day={day}")
    card = browser.find_element(By.ID, f"schedule-{schedule_id}")
    card.find_element(By.NAME, "reason").send_keys("医生临时出诊任务")
    _shoot(browser, screenshot_dir, "phone-7-clinic", PHONE[0])
    card.find_element(By.CSS_SELECTOR, "button.weui-btn_warn").click()
    assert "已停诊" in browser.find_element(By.CSS_SELECTOR, ".console-flash").text
    assert "已停诊" in browser.find_element(By.ID, f"schedule-{schedule_id}").text

    _size(browser, DESKTOP, phone=False)
    browser.get(f"{base}/console/disputes/{dispute_id(app, order['id'])}")
    _shoot(browser, screenshot_dir, "desktop-3-dispute", DESKTOP[0])
    # retry the failed job
    browser.find_element(By.CSS_SELECTOR, "a[href='/console/jobs']").click()
    assert browser.find_element(By.ID, "failed-default").text == "1"
    _shoot(browser, screenshot_dir, "desktop-4-jobs", DESKTOP[0])
    browser.find_element(By.CSS_SELECTOR, "#queue-default button").click()
    assert "已重新排队 1 个失败任务" in browser.find_element(By.CSS_SELECTOR, ".console-flash").text
    burst(app)
    browser.refresh()
    assert browser.find_element(By.ID, "failed-default").text == "0"

    # run a periodic job now: the cron heartbeat
    with app.app_context():
        redis_client.conn.delete("heartbeat:cron")
    browser.find_element(By.CSS_SELECTOR, "#periodic-record_heartbeat button").click()
    assert "已排队立即运行:定时任务心跳" in browser.find_element(By.CSS_SELECTOR,
                                                                 ".console-flash").text
    _shoot(browser, screenshot_dir, "desktop-5-run-now", DESKTOP[0])
    _size(browser, PHONE, phone=True)  # the periodic list fits a phone too
    browser.execute_script("document.getElementById('periodic').scrollIntoView()")
    _shoot(browser, screenshot_dir, "phone-7b-periodic-jobs", PHONE[0])
    _size(browser, DESKTOP, phone=False)
    burst(app)
    with app.app_context():
        assert redis_client.conn.get("heartbeat:cron") is not None

    # every action above is in the audit log, as ada's, from the console
    dispute = dispute_id(app, order["id"])
    assert console_actions(app, ada["id"]) == [
        ("POST", f"/console/users/{alice['id']}/warn"),
        ("POST", f"/console/users/{alice['id']}/ban"),
        ("POST", f"/console/disputes/{dispute}/resolve"),
        ("POST", f"/console/schedules/{schedule_id}/stop"),
        ("POST", "/console/jobs/retry-failed?queue=default"),
        ("POST", "/console/jobs/run-now?job=app.tasks.maintenance.record_heartbeat")]
    # and the audit page shows them: newest first, then one entry's before and after
    browser.find_element(By.CSS_SELECTOR, "a[href='/console/audit']").click()
    browser.find_element(By.ID, "filter-staff").send_keys(str(ada["id"]))
    browser.find_element(By.ID, "filter-action").send_keys("/console/")
    browser.find_element(By.CSS_SELECTOR, "#audit-filters button[type='submit']").click()
    WebDriverWait(browser, 10).until(lambda driver: "staff_id=" in driver.current_url)
    shown = browser.find_elements(By.CSS_SELECTOR, "a[id^='entry-']")
    assert len(shown) == 6 and "run-now" in shown[0].text and "warn" in shown[-1].text
    _shoot(browser, screenshot_dir, "desktop-6-audit", DESKTOP[0])
    _size(browser, PHONE, phone=True)
    browser.refresh()
    _shoot(browser, screenshot_dir, "phone-8-audit", PHONE[0])
    browser.find_elements(By.CSS_SELECTOR, "a[id^='entry-']")[-2].click()  # the ban
    assert browser.find_element(By.ID, "entry-action").text == \
        f"POST /console/users/{alice['id']}/ban"
    assert browser.find_element(By.ID, "entry-source").text == "控制台"
    after = [element.text for element in browser.find_elements(By.CLASS_NAME, "console-after")]
    assert "banned" in after and "恶意刷单" in after
    _shoot(browser, screenshot_dir, "phone-9-audit-entry", PHONE[0])

    with app.app_context():
        assert db.session.get(User, alice["id"]).ban_reason == "恶意刷单"
        dispute = db.session.query(CareDispute).filter_by(order_id=order["id"]).one()
        assert (dispute.status, dispute.refund_fen) == ("resolved", 5000)
        assert db.session.get(Schedule, schedule_id).status == "stopped"
        db.session.remove()
