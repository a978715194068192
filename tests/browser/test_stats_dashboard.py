"""The statistics dashboard in a real headless Chromium (the console's browser harness in
tests/browser/test_console.py): with real orders summarised by the nightly job, an operator
opens the page at a phone's width inside WeChat and at a desktop's; every ECharts chart has
drawn (an instance with series on its element, a canvas with pixels), the export links answer
files, and screenshots go to CONSOLE_SCREENSHOT_DIR."""
from tests.browser.test_console import (DESKTOP, PHONE, _shoot, _sign_in, _size, browser,  # noqa: F401
                                        screenshot_dir)
from tests.stats.conftest import run_nightly, world  # noqa: F401
from tests.booking.conftest import catalogue, verified  # noqa: F401
from tests.care_orders.conftest import care_world  # noqa: F401

CHARTS = ("chart-trend", "chart-dimension", "chart-ratings", "chart-income", "chart-caregivers",
          "chart-behaviour")

DRAWN = """
const el = document.getElementById(arguments[0]);
const chart = window.echarts && echarts.getInstanceByDom(el);
if (!chart) return null;
const option = chart.getOption();
const canvas = el.querySelector('canvas');
if (!canvas || !canvas.width) return null;
// some pixel is not blank: the chart really painted
const ctx = canvas.getContext('2d');
const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
let painted = 0;
for (let i = 3; i < pixels.length; i += 4 * 97) { if (pixels[i] !== 0) painted++; }
return {series: option.series.length,
        points: option.series.reduce((n, s) => n + (s.data ? s.data.length : 0), 0),
        painted: painted};
"""


def _charts_drawn(browser):
    from selenium.webdriver.support.ui import WebDriverWait

    found = {}

    def all_drawn(driver):
        for chart in CHARTS:
            found[chart] = driver.execute_script(DRAWN, chart)
        return all(found[c] and found[c]["series"] and found[c]["painted"] for c in CHARTS)

    WebDriverWait(browser, 15).until(all_drawn)
    return found


def test_an_operator_sees_the_statistics_charts(app, client, browser, staff_factory,
                                                 screenshot_dir, world):
    from selenium.webdriver.common.by import By

    run_nightly(app)
    staff_factory("operator", username="olga")
    base = app.config["LIVE_URL"]

    _size(browser, PHONE, phone=True)
    _sign_in(browser, base, "olga")
    browser.find_element(By.CSS_SELECTOR, "a[href='/console/stats']").click()
    found = _charts_drawn(browser)
    assert found["chart-ratings"]["points"] == 5  # the five star levels
    assert browser.find_element(By.ID, "stat-registrations").text == "3"
    assert browser.find_element(By.ID, "stat-care-orders").text == "2"
    _shoot(browser, screenshot_dir, "phone-stats-1-top", PHONE[0])
    browser.execute_script("document.getElementById('chart-ratings').scrollIntoView()")
    _shoot(browser, screenshot_dir, "phone-stats-2-charts", PHONE[0])

    # a filter: by city, by week, the past 60 days; the charts draw again
    since = world["today"].replace(day=1).isoformat()
    browser.get(f"{base}/console/stats?from={since}&dimension=city&granularity=week")
    found = _charts_drawn(browser)
    assert found["chart-dimension"]["points"] >= 2  # two cities, two series
    assert browser.find_element(By.ID, "filter-dimension").get_attribute("value") == "city"

    # the export links answer files (fetched in the page, with its session)
    for link in ("export-trend-csv", "export-dimension-xlsx"):
        href = browser.find_element(By.ID, link).get_attribute("href")
        status = browser.execute_script(
            "return fetch(arguments[0]).then(r => [r.status, r.headers.get('content-type')])",
            href)
        assert status[0] == 200 and ("csv" in status[1] or "sheet" in status[1]), (link, status)

    _size(browser, DESKTOP, phone=False)
    browser.get(f"{base}/console/stats")
    _charts_drawn(browser)
    _shoot(browser, screenshot_dir, "desktop-stats", DESKTOP[0])

    # a reviewer has no statistics
    staff_factory("reviewer", username="rex")
    browser.delete_all_cookies()
    _sign_in(browser, base, "rex")
    browser.get(f"{base}/console/stats")
    message = browser.find_element(By.CLASS_NAME, "weui-msg")
    assert message.get_attribute("data-error-code") == "forbidden"
