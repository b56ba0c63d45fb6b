"""report.html in a real browser: headless Chromium (the Debian package) sorts a subgroup table by a
numeric column, filters it, collapses a section, all from the keyboard, and takes a screenshot; the page
makes no network request and throws no error.

Chromium is driven over the Chrome DevTools protocol through a pipe (``--remote-debugging-pipe``: it
reads protocol messages from file descriptor 3 and writes to 4, each JSON ended by a NUL byte), so no
port is opened and no websocket library is needed. Networking is cut as well: every host name resolves
to nothing and the proxy is a closed port. `make sysdeps` installs Chromium (apt-get); without it these
tests skip, unless VALKIT_REQUIRE_CHROMIUM=1 (set by .ci/run), where they fail.
"""
from __future__ import annotations

import base64
import fcntl
import io
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # starts a browser: a few seconds

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) executable, or None."""
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Chromium:
    """One headless browser with one page; use as a context manager."""

    def __init__(self, executable: str, *, width: int = 1366, height: int = 768, timeout: float = 30.0):
        self.executable, self.width, self.height, self.timeout = executable, width, height, timeout
        self.events: list[dict] = []
        self._next_id = 0
        self._buffer = b""

    def __enter__(self) -> "Chromium":
        self._profile = tempfile.mkdtemp(prefix="valkit-chromium-")
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        # above 10, so that dup2 onto 3 and 4 in the child cannot overwrite one with the other
        high_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD_CLOEXEC, 10)
        high_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_browser_r)
        os.close(from_browser_w)

        def child_fds() -> None:
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        args = [self.executable, "--headless", "--remote-debugging-pipe", f"--user-data-dir={self._profile}",
                "--no-first-run", "--no-default-browser-check", "--disable-gpu", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-default-apps", "--disable-dev-shm-usage", "--mute-audio", "--hide-scrollbars",
                "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
                f"--window-size={self.width},{self.height}", "about:blank"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        self._proc = subprocess.Popen(args, preexec_fn=child_fds, pass_fds=(3, 4), stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(high_r)
        os.close(high_w)
        self._out, self._in = to_browser_w, from_browser_r
        try:
            target = self.send("Target.createTarget", url="about:blank")["targetId"]
            self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            for domain in ("Page", "Runtime", "Network", "Log"):
                self.call(f"{domain}.enable")
            self.call("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height,
                      deviceScaleFactor=1, mobile=False)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            os.close(self._out)
        except OSError:
            pass
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stderr:
            self._proc.stderr.close()
        os.close(self._in)
        shutil.rmtree(self._profile, ignore_errors=True)

    # --- the protocol ---------------------------------------------------------------------------
    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._in, 1 << 16)
            if not chunk:
                err = self._proc.stderr.read().decode(errors="replace")[-2000:] if self._proc.stderr else ""
                raise RuntimeError(f"Chromium closed the DevTools pipe (exit {self._proc.poll()}): {err}")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, *, session: str | None = None, **params) -> dict:
        """Send one command and return its result; events that arrive meanwhile go to :attr:`events`."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def call(self, method: str, **params) -> dict:
        """A command to the page."""
        return self.send(method, session=self.session, **params)

    def wait_for(self, event: str) -> dict:
        deadline = time.monotonic() + self.timeout
        while True:
            for i, e in enumerate(self.events):
                if e.get("method") == event:
                    return self.events.pop(i)
            self.events.append(self._read_message(deadline))

    # --- what the tests use ---------------------------------------------------------------------
    def open(self, path: Path) -> None:
        """Load a file and wait for its load event."""
        self.call("Page.navigate", url=Path(path).resolve().as_uri())
        self.wait_for("Page.loadEventFired")

    def reload(self) -> None:
        self.call("Page.reload", ignoreCache=True)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page (an exception in it fails the test)."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"JavaScript error: {result['exceptionDetails']}")
        return result["result"].get("value")

    def press(self, key: str = "Enter") -> None:
        """A real key press (keyDown/keyUp) on the focused element."""
        codes = {"Enter": 13, " ": 32, "Tab": 9}
        common = {"key": key, "code": "Space" if key == " " else key, "windowsVirtualKeyCode": codes[key]}
        self.call("Input.dispatchKeyEvent", type="keyDown", text="\r" if key == "Enter" else key, **common)
        self.call("Input.dispatchKeyEvent", type="keyUp", **common)

    def type_text(self, text: str) -> None:
        self.call("Input.insertText", text=text)

    def screenshot(self) -> bytes:
        """A PNG of the viewport."""
        return base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])

    def requests(self) -> list[str]:
        """The URL of every request the page made so far."""
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def console_errors(self) -> list[str]:
        """Uncaught exceptions and console/log errors (a content-security-policy violation is one)."""
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.exceptionThrown":
                out.append(str(p.get("exceptionDetails", {}).get("exception", {}).get("description")
                               or p.get("exceptionDetails")))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(p["entry"].get("text", ""))
            elif m == "Runtime.consoleAPICalled" and p.get("type") == "error":
                out.append(" ".join(str(a.get("value")) for a in p.get("args", [])))
        return out


# --- the tests ------------------------------------------------------------------------------------
WIDTH, HEIGHT = 1366, 768  # a common laptop screen
TABLE = "document.querySelector('#subgroups-and-fairness table.interactive-table')"


@pytest.fixture(scope="module")
def report_html(fake_run, tmp_path_factory) -> Path:
    """report.html of the fake study, as `valkit report` writes it (the PDF is not needed here)."""
    from valkit.report import render_report

    folder = tmp_path_factory.mktemp("twin")
    shutil.copy(fake_run / "results.json", folder / "results.json")
    [html] = render_report(folder, formats=("html",))
    return html


@pytest.fixture(scope="module")
def page(report_html):
    """report.html of the fake study open in headless Chromium at a laptop's screen size."""
    executable = find_chromium()
    if executable is None:
        why = ("Chromium not found: install it (`apt-get install -y chromium`, or `make sysdeps`) to test "
               "report.html in a browser")
        if os.environ.get("VALKIT_REQUIRE_CHROMIUM") == "1":
            pytest.fail(why + " (VALKIT_REQUIRE_CHROMIUM=1: CI must run these tests)")
        pytest.skip(why)
    with Chromium(executable, width=WIDTH, height=HEIGHT) as browser:
        browser.url = report_html.resolve().as_uri()
        browser.open(report_html)
        yield browser


def _rows(page) -> list[list[tuple[str, int]]]:
    """The visible rows of the first subgroup table: (text, colspan) of each cell."""
    return page.evaluate(f"""Array.from({TABLE}.tBodies[0].rows).filter(r => !r.hidden).map(r =>
        Array.from(r.cells).map(c => [c.innerText.trim(), c.colSpan]))""")


def _column(rows, col: int) -> list[str | None]:
    """The text at logical column ``col`` of each row (None where a spanning cell covers it)."""
    out = []
    for cells in rows:
        pos, found = 0, None
        for text, span in cells:
            if col < pos + span:
                found = text if span == 1 else None
                break
            pos += span
        out.append(found)
    return out


def _number(text: str | None) -> float | None:
    """The number on a cell's first line: "85.1%" over its CI → 85.1; "12 345" → 12345; words → None."""
    first = (text or "").split("\n")[0].replace("\u202f", "").replace("\u2212", "-").strip().rstrip("%")
    try:
        return float(first)
    except ValueError:
        return None


def _header_index(page, name: str) -> int:
    heads = page.evaluate(f"Array.from({TABLE}.tHead.rows[0].cells).map(c => c.textContent.trim())")
    return next(i for i, h in enumerate(heads) if h.startswith(name))


def _press_on(page, selector_js: str, key: str = "Enter") -> None:
    """Focus an element and press a key on it, as a keyboard user does."""
    assert page.evaluate(f"(() => {{ const e = {selector_js}; e.focus(); return document.activeElement === e; }})()")
    page.press(key)


def test_the_page_loads_without_errors_or_network_requests(page):
    assert page.console_errors() == []
    foreign = [u for u in page.requests() if u != page.url and not u.startswith("data:")]
    assert foreign == []
    assert page.evaluate("document.querySelectorAll('img').length") == page.evaluate(
        "Array.from(document.images).filter(i => i.complete).length")


def test_a_subgroup_table_sorts_by_a_numeric_column_from_the_keyboard(page):
    assert page.evaluate(f"{TABLE} !== null"), "no sortable subgroup table in report.html"
    original = _column(_rows(page), 0)
    for name in ("N", "Sensitivity"):
        col = _header_index(page, name)
        button = f"{TABLE}.tHead.rows[0].cells[{col}].querySelector('button')"
        orders = {}
        for direction in ("ascending", "descending"):
            _press_on(page, button)
            assert page.evaluate(f"{TABLE}.tHead.rows[0].cells[{col}].getAttribute('aria-sort')") == direction
            rows = _rows(page)
            values = [_number(t) for t in _column(rows, col)]
            known = [v for v in values if v is not None]
            assert known, f"column {name}: no numbers"
            assert known == sorted(known, reverse=direction == "descending"), (name, direction, values)
            assert values[:len(known)] == known  # rows without an estimate (insufficient evidence) come last
            orders[direction] = _column(rows, 0)
        assert sorted(orders["ascending"]) == sorted(original)  # rows moved, none lost
    assert orders["ascending"] != original or orders["descending"] != original


def test_a_subgroup_table_filters_by_text(page):
    labels = _column(_rows(page), 0)
    query = max(labels, key=len).split()[0]  # a word of the longest level name
    assert page.evaluate(f"""(() => {{ const i = {TABLE}.previousElementSibling.querySelector('input');
        i.focus(); return document.activeElement === i; }})()""")
    page.type_text(query)
    shown = _rows(page)
    assert 0 < len(shown) < len(labels)
    assert all(query.lower() in " ".join(t for t, _ in cells).lower() for cells in shown)
    status = page.evaluate(f"{TABLE}.previousElementSibling.querySelector('[role=status]').textContent")
    assert status == f"{len(shown)} of {len(labels)} rows shown"
    page.evaluate(f"""(() => {{ const i = {TABLE}.previousElementSibling.querySelector('input');
        i.value = ''; i.dispatchEvent(new Event('input')); }})()""")
    assert len(_rows(page)) == len(labels)


def test_a_section_collapses_and_a_sidebar_link_opens_it(page):
    toggle = "document.querySelector('#subgroups-and-fairness > h1 > button')"
    visible = f"{TABLE}.getClientRects().length > 0"
    assert page.evaluate(visible)
    _press_on(page, toggle)
    assert page.evaluate(f"{toggle}.getAttribute('aria-expanded')") == "false" and not page.evaluate(visible)
    assert page.evaluate("document.querySelector('#subgroups-and-fairness > h1').getClientRects().length > 0")
    _press_on(page, toggle)
    assert page.evaluate(f"{toggle}.getAttribute('aria-expanded')") == "true" and page.evaluate(visible)
    page.evaluate("document.querySelector('#report-sidebar .collapse-all').click()")
    assert not page.evaluate(visible)
    page.evaluate("document.querySelector('#report-sidebar a[href=\"#subgroups-and-fairness\"]').click()")
    assert page.evaluate(visible)  # following a link into a collapsed section opens it
    page.evaluate("document.querySelector('#report-sidebar .expand-all').click()")
    assert page.evaluate("document.querySelectorAll('.collapsed').length") == 0


def test_keyboard_reaches_the_skip_link_then_the_sidebar(page):
    page.reload()  # a fresh page: the keyboard starts at the top
    page.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.press("Tab")
    assert page.evaluate("document.activeElement.className") == "expand-all"


def test_the_sidebar_stays_in_view(page):
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    assert page.evaluate("window.scrollY") > 5 * HEIGHT
    rect = page.evaluate("(() => { const r = document.getElementById('report-sidebar').getBoundingClientRect();"
                         " return [r.top, r.bottom, r.width]; })()")
    assert abs(rect[0]) < 1 and rect[1] <= HEIGHT + 1 and rect[2] > 150


def test_screenshot_of_the_subgroup_table_is_a_full_size_non_blank_png(page, tmp_path):
    from PIL import Image, ImageStat

    page.evaluate("document.getElementById('subgroups-and-fairness').scrollIntoView()")
    png = page.screenshot()
    (tmp_path / "report.png").write_bytes(png)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(png)).convert("L")
    assert image.size == (WIDTH, HEIGHT)
    histogram = image.histogram()
    dark = sum(histogram[:128]) / (WIDTH * HEIGHT)  # text, rules and the sidebar's words
    assert 0.005 < dark < 0.5, f"{dark:.1%} dark pixels: a blank or broken page"
    assert ImageStat.Stat(image).stddev[0] > 10
