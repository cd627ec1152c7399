"""The console as people use it, in Debian's Chromium (Playwright, no browser download) against a
live server with the real diagrams, handlers and printing, on SQLite and PostgreSQL:

an officer finds a birth dossier by its code, opens a printed declaration, sees the current task
highlighted in the diagram, submits the decision once with an error and once right, and the
dossier moves on; a supervisor sees an overdue task and reassigns it; an operator retries an
incident and the dossier finishes; a citizen tracks the dossier on a phone; an officer of another
agency does not see it. axe-core checks every page (no serious or critical violation), and each
page leaves a screenshot under var/screenshots/."""
from __future__ import annotations

import os
import re
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from agencies.gateways import use_gateway as use_agency
from agencies.local import LOCAL_GATEWAYS
from agencies.port import AgencyUnavailable
from dossiers.service import DEFAULT_AGENCY_CODE
from dossiers.service import install as install_dossiers
from engine.clock import ManualClock
from engine.service import ProcessEngine
from tests.auth import ensure_account
from tests.birth_examples import birth_declaration
from tests.live import Rest, live_server, wait_for
from tests.portal import MONDAY_9AM, Portal, workflow_files

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = os.environ.get("LIENTHONG_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
OTHER_AGENCY = "H19.87.002"
TIMEOUT_MS = 20_000

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() or not AXE.exists(),
                                reason=f"needs Chromium at {CHROMIUM} (apt-get install chromium) and npm's axe-core")


class FlakyResidenceDatabase:
    """The police's residence database, down until the test heals it."""

    def __init__(self):
        self.down = True
        self.real = LOCAL_GATEWAYS["residence"]()

    def submit(self, task, request):
        if self.down:
            raise AgencyUnavailable("Công an xã: CSDL về cư trú không trả lời (hết thời gian chờ 10 giây)")
        return self.real.submit(task, request)


@contextmanager
def console_service(database, clock):
    engine = ProcessEngine(database, clock=clock, worker_id="console-test")
    engine.retry_policy = lambda cycle: (1, lambda failures: timedelta(0))  # the first failure is an incident
    install_dossiers(engine)
    engine.deploy(workflow_files(), name="workflows")
    with live_server(engine) as base:
        yield engine, base


class Screens:
    """Pages of one browser context: screenshots, the accessibility check, no CSP refusal."""

    def __init__(self, browser, base: str, prefix: str, viewport=DESKTOP):
        self.browser, self.base, self.prefix = browser, base, prefix
        self.context = browser.new_context(viewport=viewport, locale="vi-VN")
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.refused: list[str] = []
        self.page.on("console", lambda m: self.refused.append(m.text) if "Content Security Policy" in m.text else None)
        self.viewport = viewport

    def login(self, user: str, password: str, path: str = "/console/") -> None:
        self.page.goto(self.base + path)
        assert "/auth/login" in self.page.url  # pages send an anonymous person to the login form
        self.page.fill("#username", user)
        self.page.fill("#password", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state()

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{self.prefix}-{name}.png"), full_page=True)
        self.check_accessibility(name)

    def check_accessibility(self, name: str) -> None:
        """axe-core in a context that lets the injected script run (bypass_csp): the same document
        (served again as it is, so a page answering a POST is checked too), the same cookies."""
        html, url = self.page.content(), self.page.url
        checker = self.browser.new_context(viewport=self.viewport, bypass_csp=True,
                                           storage_state=self.context.storage_state())
        try:
            page = checker.new_page()
            page.route(url, lambda route: route.fulfill(body=html, content_type="text/html; charset=utf-8"))
            page.goto(url)
            page.add_script_tag(path=str(AXE))
            result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        finally:
            checker.close()
        serious = [f"{v['id']}: {v['help']} ({len(v['nodes'])}x, e.g. {v['nodes'][0]['target']})"
                   for v in result["violations"] if v["impact"] in ("serious", "critical")]
        assert serious == [], f"{name}: {serious}"

    def close(self) -> None:
        assert self.refused == [], self.refused
        self.context.close()


def test_the_console_as_people_use_it(database):
    clock = ManualClock(MONDAY_9AM)
    flaky = FlakyResidenceDatabase()
    prefix = database.engine.dialect.name
    with console_service(database, clock) as (engine, base), use_agency("residence", flaky), \
            playwright_api.sync_playwright() as playwright:
        officer = ensure_account(engine.db, "can-bo.tu-phap", roles=("officer",), groups=("tu-phap-ho-tich",),
                                 agency=DEFAULT_AGENCY_CODE)
        ensure_account(engine.db, "can-bo.tu-phap-2", roles=("officer",), groups=("tu-phap-ho-tich",),
                       agency=DEFAULT_AGENCY_CODE)
        supervisor = ensure_account(engine.db, "lanh-dao.tu-phap", roles=("supervisor",),
                                    groups=("tu-phap-ho-tich-lanh-dao",), agency=DEFAULT_AGENCY_CODE)
        operator = ensure_account(engine.db, "van-hanh", roles=("operator",))
        stranger = ensure_account(engine.db, "can-bo.xa-khac", roles=("officer",), groups=("tu-phap-ho-tich",),
                                  agency=OTHER_AGENCY)
        portal = Portal(base, "birth")
        filed = portal.file(birth_declaration(parts=["birth", "residence"]))
        code, secret = filed["code"], filed["trackingSecret"]
        late = portal.file(birth_declaration(child__fullName="Trần Gia Hân", child__sex="female",
                                             parts=["birth", "bhyt"]))["code"]
        portal.wait_part(code, "birth", "processing")
        portal.wait_part(late, "birth", "processing")
        wait_for(lambda: portal.status(code)["declarations"], lambda d: len(d) == 2, timeout=30)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])

        # An officer finds the birth dossier by its code and works it.
        screens = Screens(browser, base, prefix)
        page = screens.page
        screens.login(*officer, path="/console/inbox")
        assert page.url.endswith("/console/inbox")
        assert page.locator("table.inbox tbody tr").count() == 2
        screens.shot("01-inbox")
        page.fill("#q", code)  # the list narrows as the officer types (htmx), or on Lọc
        page.click("form.filters button[type=submit]")
        page.wait_for_url(re.compile(r"q="))
        page.locator("table.inbox tbody tr", has_text=code).wait_for()
        rows = page.locator("table.inbox tbody tr")
        assert rows.count() == 1 and code in rows.first.inner_text()
        assert "Nguyễn Minh Khang" in rows.first.inner_text()
        rows.first.get_by_role("button", name=re.compile("Nhận xử lý")).click()
        page.wait_for_url(re.compile(r"/console/tasks/"))
        assert "Bạn đã nhận xử lý" in page.inner_text("main")
        task_url = page.url
        # The declaration reads as a form, with labels.
        declaration = page.locator("#h-declaration").locator("..").inner_text()
        assert "Họ, chữ đệm và tên của trẻ" in declaration and "Nguyễn Minh Khang" in declaration
        assert "{" not in declaration
        # A printed declaration opens inline, from this site, in the page's frame.
        with page.expect_response(re.compile(r"/declarations/birth\.pdf$")) as answer:
            page.get_by_role("button", name="Tờ khai đăng ký khai sinh").click()
        assert answer.value.status == 200 and answer.value.headers["content-type"] == "application/pdf"
        assert answer.value.headers["x-frame-options"] == "SAMEORIGIN"
        assert page.locator("#viewer").is_visible()
        screens.shot("02-task-declaration")

        # The diagram: the task being worked is highlighted, the finished steps marked.
        page.get_by_role("link", name="Xem sơ đồ quy trình").click()
        page.wait_for_selector("#diagram[data-rendered=true]")
        assert page.locator('.djs-element.lt-current[data-element-id="Task_BirthReview"]').count() == 1
        assert page.locator('.djs-element.lt-done[data-element-id="Task_Print"]').count() == 1
        assert "v1" in page.inner_text("main")
        screens.shot("03-instance-diagram")

        # The decision: once without choosing (the error stands beside the field), then right.
        page.goto(task_url)
        page.get_by_role("button", name="Hoàn thành").click()
        error = page.locator(".field.invalid p.error")
        assert error.inner_text() == "Vui lòng chọn kết quả xem xét."
        screens.shot("04-task-decision-error")
        page.get_by_label("Đồng ý").check()
        page.fill("#f-note", "Hồ sơ đầy đủ, hợp lệ.")
        page.get_by_role("button", name="Hoàn thành").click()
        page.wait_for_url(re.compile(r"/console/inbox$"))
        assert f"Đã hoàn thành: Xem xét, đăng ký khai sinh, hồ sơ {code}." in page.inner_text("main")
        assert code not in page.inner_text("table.inbox")
        screens.shot("05-inbox-after-decision")
        portal.wait_part(code, "birth", "approved")  # the dossier moves on: registered, residence next
        portal.wait_part(code, "residence", "processing")
        screens.close()

        # The other dossier's same-day deadline passes: a supervisor sees it overdue and reassigns it.
        clock.set(datetime(2026, 11, 30, 10, 1, tzinfo=timezone.utc))  # 17:01 in Hanoi
        wait_for(lambda: portal.inbox("tu-phap-ho-tich-lanh-dao", late), lambda tasks: len(tasks) == 1, timeout=30)
        screens = Screens(browser, base, prefix)
        page = screens.page
        screens.login(*supervisor)
        assert page.url.endswith("/console/supervision")
        row = page.locator("tr", has_text=late)
        assert "Quá hạn" in row.inner_text() and "Đã báo lãnh đạo" in row.inner_text()
        assert page.locator("tr", has_text=code).count() == 0  # decided in time: not listed
        screens.shot("06-supervision-overdue")
        row.get_by_label(re.compile("Giao hồ sơ")).select_option("can-bo.tu-phap-2")
        row.get_by_role("button", name="Giao").click()
        page.wait_for_url(re.compile(r"/console/supervision$"))
        assert "Đã giao lại công việc cho can-bo.tu-phap-2." in page.inner_text("main")
        [task] = Rest(base).get("/task", params={"processInstanceBusinessKey": late})
        assert task["assignee"] == "can-bo.tu-phap-2"
        page.get_by_role("link", name="Báo cáo tháng").click()
        assert page.locator("table.report tbody tr").count() == 1
        assert page.locator("figure.chart svg rect").count() >= 3
        screens.shot("07-monthly-report")
        csv = page.request.get(base + "/console/reports/monthly.csv?month=2026-11").text()
        assert csv.splitlines()[1].startswith(f"{DEFAULT_AGENCY_CODE},birth,2,0,0,,")
        screens.close()

        # The residence decision hits the police database while it is down: an incident.
        portal.decide("cong-an", code, "approve")
        wait_for(lambda: Rest(base).get("/incident"), lambda incidents: len(incidents) == 1, timeout=30)
        screens = Screens(browser, base, prefix)
        page = screens.page
        screens.login(*operator)
        assert page.url.endswith("/console/operations")
        incident = page.locator("#incidents tr", has_text="Task_ResidenceHandoff")
        assert "CSDL về cư trú không trả lời" in incident.inner_text()
        screens.shot("08-operations-incident")
        incident.get_by_role("link", name="Task_ResidenceHandoff").click()
        page.wait_for_selector("#diagram[data-rendered=true]")
        assert page.locator('.djs-element.lt-incident[data-element-id="Task_ResidenceHandoff"]').count() == 1
        assert page.locator(".lt-badge").count() == 1
        screens.shot("09-instance-incident")
        page.go_back()
        flaky.down = False  # the database answers again
        page.locator("#incidents tr", has_text="Task_ResidenceHandoff").get_by_role("button", name="Chạy lại").click()
        page.wait_for_url(re.compile(r"/console/operations$"))
        assert "Đã cho chạy lại bước Task_ResidenceHandoff." in page.inner_text("main")
        portal.wait_dossier(code, "completed")
        page.reload()
        assert page.locator("#incidents tr", has_text="Task_ResidenceHandoff").count() == 0
        page.locator('a[href*="/console/definitions/birth_linked:"]').first.click()
        page.wait_for_selector("#diagram[data-rendered=true]")
        screens.shot("10-definition")
        screens.close()

        # The citizen tracks the dossier on a phone with the code and the secret from the SMS.
        screens = Screens(browser, base, prefix + "-phone", viewport=PHONE)
        page = screens.page
        page.goto(base + "/console/track")
        page.fill("#code", code)
        page.fill("#secret", "WRONG-1234")
        page.get_by_role("button", name="Tra cứu").click()
        assert "Mã hồ sơ hoặc mã tra cứu không đúng." in page.inner_text("main")
        page.fill("#secret", secret.lower().replace("-", " "))  # as typed from the SMS, case and dash aside
        page.get_by_role("button", name="Tra cứu").click()
        text = page.inner_text("main")
        assert "Đã hoàn thành" in text and "Đăng ký khai sinh" in text and "Đăng ký thường trú" in text
        # Whoever holds a code and its secret sees no personal data: no names, no numbers issued.
        assert "Nguyễn" not in text and "Số định danh" not in text and not re.search(r"\d{12}", text)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
        screens.shot("11-tracking")
        screens.close()

        # An officer of another agency does not see either dossier, even by its address.
        screens = Screens(browser, base, prefix)
        page = screens.page
        screens.login(*stranger, path="/console/inbox")
        assert page.locator("table.inbox").count() == 0
        page.fill("#q", late)
        page.click("form.filters button[type=submit]")
        page.get_by_text("Không có công việc nào phù hợp.").wait_for()
        assert "Không có công việc nào phù hợp." in page.inner_text("main")
        assert page.goto(task_url).status == 404  # a task of the dossier decided above: gone or hidden, 404 either way
        [late_task] = Rest(base).get("/task", params={"processInstanceBusinessKey": late})
        assert page.goto(f"{base}/console/tasks/{late_task['id']}").status == 404
        assert page.goto(f"{base}/console/dossiers/{late}/declarations/birth.pdf").status == 404
        assert page.goto(f"{base}/console/instances/{late_task['processInstanceId']}").status == 404
        screens.shot("12-other-agency-404")
        screens.close()
        browser.close()
