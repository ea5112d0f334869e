"""The web UI in a real headless Chromium, driven by Selenium (Tests/StrataServerTests/WebUITests).

    ui_browser.py BASE_URL SCREENSHOT_DIR ULIDS
    ui_browser.py --replay STRATA_BINARY DATA_DIR SCREENSHOT_DIR

BASE_URL is a Strata holding x_total{i="0".."2"} (counters) and g{i="0".."2"} (gauges) for
the last 40 minutes, the blocks ULIDS (comma-separated, as `strata tsdb list` listed them) and
the rule group "ui" (GHigh firing for g{i="2"}, GSlow pending, GNever inactive).

With --replay, the browser opens first, then `strata serve` starts on DATA_DIR (whose WAL takes
seconds to replay) and /tsdb-status is loaded at once: it must show the replay in progress,
then the head once it is done.

Prints "ok <scenario>" or "FAIL <scenario>: why" per scenario and "measure <name> <value>"
lines; exits 1 if any failed.
"""
import datetime, gzip, json, os, re, subprocess, sys, time, urllib.parse, urllib.request
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.select import Select

UNIT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "ui", "tests", "unit.js")
failures = []


def check(name, cond, why=""):
    print(("ok " if cond else "FAIL ") + name + ("" if cond else ": " + why), flush=True)
    if not cond:
        failures.append(name)


def wait(driver, cond, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        try:
            v = cond()
            if v:
                return v
        except Exception:
            pass
        time.sleep(0.1)
    return None


def console_errors(driver):
    """SEVERE console entries, less the browser's note of an API request answered 400 or 422:
    that is the query's error, which the page shows (the syntax error scenario)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"
            and not ("/api/v1/" in e["message"] and ("status of 400" in e["message"] or "status of 422" in e["message"]))]


def api(path, **params):
    with urllib.request.urlopen(BASE + path + "?" + urllib.parse.urlencode(params), timeout=10) as r:
        return json.load(r)


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    # Lean: the rest of the test suite shares the machine's two cores.
    for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900", "--disable-gpu",
              "--disable-extensions", "--disable-background-networking", "--renderer-process-limit=1"]:
        options.add_argument(a)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def replay(strata, data, shots):
    """/tsdb-status follows a WAL replay: opened while Strata starts, it shows the replay, then the head."""
    driver = browser()
    log = open(os.path.join(data, "..", "replay.log"), "w+")
    server = subprocess.Popen([strata, "serve", "--http-address", "127.0.0.1:0", "--tsdb.path", data], stdout=log, stderr=subprocess.STDOUT)
    try:
        port = None
        end = time.time() + 30
        while port is None and time.time() < end and server.poll() is None:
            log.seek(0)
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", log.read())
            port = m and int(m.group(1))
            time.sleep(0.01)
        check("strata listens", port is not None, "no port in the log")
        if port is None:
            return
        driver.get(f"http://127.0.0.1:{port}/tsdb-status")
        seen = wait(driver, lambda: driver.find_elements(By.CSS_SELECTOR, ".replaying"), 10)
        state = [td.text for td in driver.find_elements(By.CSS_SELECTOR, ".wal-replay td")]
        check("tsdb status shows the replay in progress", seen is not None and state[-1:] == ["replaying"], str(state))
        driver.save_screenshot(os.path.join(shots, "tsdb-status-replaying.png"))
        head = wait(driver, lambda: driver.find_elements(By.CSS_SELECTOR, ".head-stats td"), 120)
        check("then the head once the replay is done", head is not None and head[0].text == "20000"
              and [td.text for td in driver.find_elements(By.CSS_SELECTOR, ".wal-replay td")][-1] == "done",
              str([td.text for td in head or []]))
        check("the replay note is gone", not driver.find_elements(By.CSS_SELECTOR, ".replaying"))
    finally:
        server.terminate()
        server.wait()
        driver.quit()


if sys.argv[1] == "--replay":
    replay(*sys.argv[2:5])
    sys.exit(1 if failures else 0)

BASE, SHOTS, ULIDS = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
driver = browser()
try:
    # / goes to the query page.
    driver.get(BASE + "/")
    check("root redirects to /graph", wait(driver, lambda: urllib.parse.urlparse(driver.current_url).path == "/graph"), driver.current_url)
    errors = console_errors(driver)
    check("no console errors on load", not errors, str(errors))

    # The JavaScript unit tests, run in the page.
    with open(UNIT) as f:
        unit = f.read()
    result = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const url = URL.createObjectURL(new Blob([arguments[0]], { type: "text/javascript" }));
        import(url).then((m) => m.run()).then(done, (e) => done(["module failed: " + e]));
    """, unit)
    check("javascript unit tests", result == [], "; ".join(result or []))

    # A Prometheus link opens the same view: the graph of three series.
    link = BASE + "/graph?" + urllib.parse.urlencode({"g0.expr": "rate(x_total[5m])", "g0.tab": "0", "g0.range_input": "30m"})
    driver.get(link)
    lines = wait(driver, lambda: driver.find_elements(By.CSS_SELECTOR, ".graph path.series-line") if len(driver.find_elements(By.CSS_SELECTOR, ".graph path.series-line")) == 3 else None)
    check("graph draws three series", lines is not None, str(len(driver.find_elements(By.CSS_SELECTOR, ".graph path.series-line"))))
    if lines:
        check("each line has points", all(len(l.get_attribute("d")) > 20 for l in lines), str([l.get_attribute("d")[:40] for l in lines]))
    check("expression filled from the link", driver.find_element(By.CSS_SELECTOR, ".expr").get_attribute("value") == "rate(x_total[5m])")
    check("legend lists the series", len(driver.find_elements(By.CSS_SELECTOR, ".legend li")) == 3)
    driver.save_screenshot(os.path.join(SHOTS, "graph.png"))

    # Hover: the tooltip names a series and shows its value at that time.
    graph = driver.find_element(By.CSS_SELECTOR, ".graph")
    ActionChains(driver).move_to_element_with_offset(graph, graph.size["width"] // 3, 0).perform()
    tip = wait(driver, lambda: driver.find_element(By.CSS_SELECTOR, ".tooltip-series"))
    # The value shown is the series' point at that time, as the API answered it.
    drawn = driver.execute_script("""
        const g = window.strata.panels[0].graph, line = document.querySelector(".tooltip-series");
        const s = g.series.find((s) => s.name === line.dataset.series);
        const j = s ? s.t.indexOf(Number(line.dataset.time)) : -1;
        return j >= 0 ? s.v[j] : null;
    """) if tip else None
    ok = tip is not None and tip.text.startswith('{i="') and drawn is not None and float(tip.get_attribute("data-value")) == drawn
    check("hover shows a tooltip with a series and its value", ok, (tip.text if tip else "no tooltip") + f" drawn={drawn}")
    driver.save_screenshot(os.path.join(SHOTS, "graph-hover.png"))

    # The legend hides a series.
    driver.find_elements(By.CSS_SELECTOR, ".legend li")[0].click()
    check("a legend click hides its series", wait(driver, lambda: len(driver.find_elements(By.CSS_SELECTOR, ".graph path.series-line")) == 2))

    # Table tab: the API's instant values.
    driver.get(BASE + "/graph?" + urllib.parse.urlencode({"g0.expr": "g", "g0.tab": "1"}))
    rows = wait(driver, lambda: driver.find_elements(By.CSS_SELECTOR, ".table tbody tr") if len(driver.find_elements(By.CSS_SELECTOR, ".table tbody tr")) == 3 else None)
    check("table shows three rows", rows is not None)
    if rows:
        shown = {r.find_elements(By.TAG_NAME, "td")[0].text: r.find_elements(By.TAG_NAME, "td")[1].text for r in rows}
        want = {}
        for s in api("/api/v1/query", query="g")["data"]["result"]:
            labels = ", ".join(f'{k}="{v}"' for k, v in sorted(s["metric"].items()) if k != "__name__")
            want[f"g{{{labels}}}"] = s["value"][1]
        check("table values are the API's", shown == want, f"{shown} != {want}")
    driver.save_screenshot(os.path.join(SHOTS, "table.png"))

    # A syntax error is shown at its position.
    expr = driver.find_element(By.CSS_SELECTOR, ".expr")
    expr.clear()
    expr.send_keys("sum(rate(x_total[5m])")
    driver.find_element(By.CSS_SELECTOR, ".execute").click()
    caret = wait(driver, lambda: driver.find_element(By.CSS_SELECTOR, ".error .caret"))
    message = driver.find_element(By.CSS_SELECTOR, ".error .error-message").text if caret else ""
    check("syntax error shown with its position", caret is not None and "parse error" in message and caret.get_attribute("data-column") == message.split(": ")[1].split(":")[1],
          message)
    driver.save_screenshot(os.path.join(SHOTS, "error.png"))

    # Autocomplete of metric names.
    expr.clear()
    expr.send_keys("x_to")
    option = wait(driver, lambda: [o for o in driver.find_elements(By.CSS_SELECTOR, ".autocomplete li") if o.text == "x_total"])
    check("autocomplete offers x_total", bool(option))
    expr.send_keys(Keys.TAB)
    check("tab completes it", expr.get_attribute("value") == "x_total", expr.get_attribute("value"))

    # The expression is highlighted token by token, under the text as typed.
    expr.clear()
    expr.send_keys('sum(rate(x_total{i="1"}[5m])) by (i)')
    kinds = lambda cls: [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".highlight .t-" + cls)]
    wait(driver, lambda: kinds("duration"))
    check("the expression is highlighted",
          kinds("function") == ["sum", "rate"] and kinds("metric") == ["x_total"] and kinds("label") == ["i", "i"]
          and kinds("string") == ['"1"'] and kinds("duration") == ["5m"] and kinds("keyword") == ["by"],
          str({k: kinds(k) for k in ["function", "metric", "label", "string", "duration", "keyword"]}))
    layer = driver.find_element(By.CSS_SELECTOR, ".highlight").get_attribute("textContent")
    check("the highlighted layer holds the text as typed", layer == expr.get_attribute("value") + "\n", repr(layer))

    # Format: the expression as /api/v1/format_query gives it.
    expr.clear()
    expr.send_keys("sum(rate(x_total[5m]))by(i)")
    driver.find_element(By.CSS_SELECTOR, ".format").click()
    want = api("/api/v1/format_query", query="sum(rate(x_total[5m]))by(i)")["data"]
    check("format puts the API's formatting in place", wait(driver, lambda: expr.get_attribute("value") == want), expr.get_attribute("value") + " != " + want)

    # Label names complete inside a selector, label values inside a matcher's quotes.
    expr.clear()
    expr.send_keys("x_total{")
    option = wait(driver, lambda: [o for o in driver.find_elements(By.CSS_SELECTOR, ".autocomplete li") if o.text == "i"])
    check("autocomplete offers the metric's label names", bool(option) and option[0].get_attribute("data-kind") == "label",
          str([o.text for o in driver.find_elements(By.CSS_SELECTOR, ".autocomplete li")]))
    expr.send_keys(Keys.TAB)
    check("tab completes the label name", expr.get_attribute("value") == "x_total{i", expr.get_attribute("value"))
    expr.send_keys('="')
    values = wait(driver, lambda: [o.text for o in driver.find_elements(By.CSS_SELECTOR, ".autocomplete li")] == ["0", "1", "2"])
    check("autocomplete offers the label's values", values is not None, str([o.text for o in driver.find_elements(By.CSS_SELECTOR, ".autocomplete li")]))
    expr.send_keys(Keys.ARROW_DOWN, Keys.TAB)
    check("arrows and tab pick a value", expr.get_attribute("value") == 'x_total{i="1', expr.get_attribute("value"))
    expr.send_keys('"}', Keys.ENTER)
    check("the completed selector runs", wait(driver, lambda: len(driver.find_elements(By.CSS_SELECTOR, ".table tbody tr")) == 1))

    # The time controls: a range step up and down, half a range back, and back to now.
    driver.find_element(By.CSS_SELECTOR, '.tab[data-tab="0"]').click()
    rng, end = driver.find_element(By.CSS_SELECTOR, ".range"), driver.find_element(By.CSS_SELECTOR, ".end")
    driver.find_element(By.CSS_SELECTOR, ".range-more").click()
    check("+ lengthens the range a step", rng.get_attribute("value") == "2h", rng.get_attribute("value"))
    driver.find_element(By.CSS_SELECTOR, ".range-less").click()
    driver.find_element(By.CSS_SELECTOR, ".range-less").click()
    check("− shortens it", rng.get_attribute("value") == "30m", rng.get_attribute("value"))
    before = time.time()
    driver.find_element(By.CSS_SELECTOR, ".end-back").click()
    moved = end.get_attribute("value")
    t = datetime.datetime.fromisoformat(moved.replace("Z", "+00:00")).timestamp() if moved else 0
    check("« moves the end back half the range", moved and abs(t - (before - 900)) < 60, moved)
    picker = driver.find_element(By.CSS_SELECTOR, ".end-picker").get_attribute("value")
    # (Chromium leaves ":00" seconds out of the picker's value)
    check("the picker shows the end", bool(moved) and picker[:16] == moved[:16], f"{picker} vs {moved}")
    driver.find_element(By.CSS_SELECTOR, ".end-now").click()
    check("now clears the end", end.get_attribute("value") == "")
    check("the time controls keep the URL", wait(driver, lambda: "g0.range_input=30m" in driver.current_url), driver.current_url)
    driver.save_screenshot(os.path.join(SHOTS, "time-controls.png"))

    # Back to the table of x_total for the URL check below.
    driver.find_element(By.CSS_SELECTOR, '.tab[data-tab="1"]').click()
    expr.clear()
    expr.send_keys("x_total")

    # The URL keeps the state: reloading it shows the same panel.
    driver.find_element(By.CSS_SELECTOR, ".execute").click()
    wait(driver, lambda: "x_total" in driver.current_url)
    again = driver.current_url
    driver.get(again)
    check("a link with the state reproduces the view",
          wait(driver, lambda: driver.find_element(By.CSS_SELECTOR, ".expr").get_attribute("value") == "x_total"
               and driver.find_element(By.CSS_SELECTOR, ".panel").get_attribute("data-tab") == "1"), again)
    errors = console_errors(driver)
    check("no console errors", not errors, str(errors))

    # The other pages: each loads, shows what the API holds, logs no error.
    def page(path, name):
        driver.get(BASE + path)
        loaded = wait(driver, lambda: driver.find_element(By.ID, "main").get_attribute("data-loaded") == "true")
        check(f"{path} loads", loaded is not None)
        errors = console_errors(driver) + [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#main .error")]
        check(f"{path} shows no error", not errors, str(errors))
        driver.save_screenshot(os.path.join(SHOTS, name + ".png"))

    def cells(selector):
        return [[td.text for td in tr.find_elements(By.TAG_NAME, "td")] for tr in driver.find_elements(By.CSS_SELECTOR, selector + " tbody tr")]

    page("/explore", "explore")
    row = [r for r in cells(".metrics") if r and r[0] == "x_total"]
    check("explore lists x_total with its 3 series", row and row[0][2] == "3", str(row))
    link = driver.find_element(By.CSS_SELECTOR, 'tr[data-metric="x_total"] a').get_attribute("href")
    check("explore links a metric to the query page", "/graph?" in link and "g0.expr=x_total" in link, link)
    driver.find_element(By.CSS_SELECTOR, 'tr[data-metric="x_total"] button.labels').click()
    labels = wait(driver, lambda: cells(".labels-of") or None)
    check("explore shows a metric's labels and values", labels is not None and ["i", "3"] == [c for c in next((r for r in labels if r[0] == "i"), [])[:2]], str(labels))
    filt = driver.find_element(By.CSS_SELECTOR, ".filter")
    filt.send_keys("x_t")
    visible = [tr.get_attribute("data-metric") for tr in driver.find_elements(By.CSS_SELECTOR, ".metrics tbody tr") if tr.is_displayed()]
    check("the explorer's filter keeps matching names", visible == ["x_total"], str(visible))

    page("/tsdb-status", "tsdb-status")
    by_metric = {r[0]: r[1] for r in cells(".series-by-metric")}
    check("tsdb status counts series by metric", by_metric.get("x_total") == "3" and by_metric.get("g") == "3", str(by_metric))
    head = cells(".head-stats")
    check("tsdb status shows head statistics", head and head[0][0] == str(api("/api/v1/status/tsdb")["data"]["headStats"]["numSeries"]), str(head))
    check("tsdb status shows WAL replay", cells(".wal-replay") and cells(".wal-replay")[0][-1] == "done", str(cells(".wal-replay")))

    # The block viewer: the blocks tsdb list listed, on the timeline and in the list.
    page("/blocks", "blocks")
    listed = [tr.get_attribute("data-ulid") for tr in driver.find_elements(By.CSS_SELECTOR, ".blocks-list tbody tr")]
    check("blocks lists what tsdb list lists", listed == ULIDS, f"{listed} != {ULIDS}")
    rects = driver.find_elements(By.CSS_SELECTOR, ".timeline rect.block")
    check("the timeline draws every block", sorted(r.get_attribute("data-ulid") for r in rects) == sorted(ULIDS), str(len(rects)))
    if rects:
        rects[-1].click()
        shown = wait(driver, lambda: cells(".block"))
        check("a click shows the block's details", shown and ["ULID", rects[-1].get_attribute("data-ulid")] in shown, str(shown))
        href = driver.find_element(By.CSS_SELECTOR, ".block-details a.inspect").get_attribute("href")
        with urllib.request.urlopen(href, timeout=30) as r:
            report = r.read().decode()
        check("the block links to strata bucket inspect's report", "/api/v1/blocks/inspect?selector=tenant_id" in href
              and rects[-1].get_attribute("data-ulid") in report and "COMP-LEVEL" in report, href + "\n" + report[:300])
        driver.save_screenshot(os.path.join(SHOTS, "blocks.png"))
    in_bucket = [b["ulid"] for b in api("/api/v1/blocks")["data"]["blocks"] if b["strata"]["bucket"]]
    Select(driver.find_element(By.CSS_SELECTOR, "select.where")).select_by_value("bucket")
    listed = [tr.get_attribute("data-ulid") for tr in driver.find_elements(By.CSS_SELECTOR, ".blocks-list tbody tr")]
    check("the location filter keeps the bucket's blocks", listed == in_bucket, f"{listed} != {in_bucket}")
    driver.find_element(By.CSS_SELECTOR, "input.find").send_keys(ULIDS[1].lower())
    listed = [tr.get_attribute("data-ulid") for tr in driver.find_elements(By.CSS_SELECTOR, ".blocks-list tbody tr")]
    check("a ULID finds its block", listed == [ULIDS[1]] and len(driver.find_elements(By.CSS_SELECTOR, ".timeline rect.block")) == 1, str(listed))

    # Rules and alerts, as /api/v1/rules has them once the group has run.
    def evaluated():
        groups = api("/api/v1/rules")["data"]["groups"]
        return groups and all(r["health"] == "ok" for r in groups[0]["rules"]) and \
            any(r.get("state") == "firing" for r in groups[0]["rules"])
    wait(driver, evaluated, 30)
    page("/rules", "rules")
    rows = {tr.get_attribute("data-rule"): tr.get_attribute("data-health") for tr in driver.find_elements(By.CSS_SELECTOR, ".rules tbody tr")}
    check("rules lists each rule with its health", rows == {"i:g:sum": "ok", "GHigh": "ok", "GSlow": "ok", "GNever": "ok"}, str(rows))
    check("rules shows the rule's expression", "expr: sum by (i) (g)" in driver.find_element(By.CSS_SELECTOR, ".rules").text)
    page("/alerts", "alerts")
    states = {sec.get_attribute("data-rule"): sec.get_attribute("data-state") for sec in driver.find_elements(By.CSS_SELECTOR, ".alert-rule")}
    check("alerts shows each alerting rule's state", states == {"GHigh": "firing", "GSlow": "pending", "GNever": "inactive"}, str(states))
    firing = cells('.alert-rule[data-rule="GHigh"] .alerts')
    check("a firing alert is listed with its labels and value", len(firing) == 1 and 'i="2"' in firing[0][0] and firing[0][1] == "firing"
          and float(firing[0][3]) > 18, str(firing))
    check("a pending rule lists its three alerts", len(cells('.alert-rule[data-rule="GSlow"] .alerts')) == 3)
    driver.find_element(By.CSS_SELECTOR, "input.state-inactive").click()
    check("the state filter hides inactive rules", not driver.find_element(By.CSS_SELECTOR, '.alert-rule[data-rule="GNever"]').is_displayed()
          and driver.find_element(By.CSS_SELECTOR, '.alert-rule[data-rule="GHigh"]').is_displayed())

    page("/status", "status")
    build = {r[0]: r[1] for r in cells(".build-info")}
    check("status shows the build", build.get("version") == api("/api/v1/status/buildinfo")["data"]["version"], str(build))
    page("/flags", "flags")
    flags = {r[0]: r[1] for r in cells(".flags")}
    check("flags shows --tsdb.path", flags.get("--tsdb.path") == api("/api/v1/status/flags")["data"]["tsdb.path"], str(list(flags)[:5]))
    page("/config", "config")
    check("config shows the YAML", driver.find_element(By.CSS_SELECTOR, "pre.config").text.strip() == api("/api/v1/status/config")["data"]["yaml"].strip())

    # Keyboard: Tab reaches the editor, Enter runs it, Enter on a legend entry hides its series.
    driver.get(BASE + "/graph?" + urllib.parse.urlencode({"g0.expr": "g", "g0.tab": "0"}))
    wait(driver, lambda: len(driver.find_elements(By.CSS_SELECTOR, ".graph path.series-line")) == 3)
    body = driver.find_element(By.TAG_NAME, "body")
    focused = []
    for _ in range(30):
        body.send_keys(Keys.TAB) if not focused else driver.switch_to.active_element.send_keys(Keys.TAB)
        focused.append(driver.switch_to.active_element.get_attribute("class") or "")
        if "expr" in focused[-1].split():
            break
    check("tab reaches the expression editor", "expr" in focused[-1].split(), str(focused))
    legend = driver.find_elements(By.CSS_SELECTOR, ".legend li")[1]
    legend.send_keys(Keys.ENTER)
    check("enter on a legend entry hides its series", wait(driver, lambda: len(driver.find_elements(By.CSS_SELECTOR, ".graph path.series-line")) == 2)
          and legend.get_attribute("aria-pressed") == "false")

    # The dark theme, kept across pages.
    driver.find_element(By.ID, "theme").click()
    theme = driver.execute_script("return document.documentElement.dataset.theme")
    driver.get(BASE + "/blocks")
    check("the theme switches and is kept", wait(driver, lambda: driver.execute_script("return document.documentElement.dataset.theme") == theme)
          and theme in ("dark", "light"), str(theme))
    wait(driver, lambda: driver.find_element(By.ID, "main").get_attribute("data-loaded") == "true")
    if theme == "light":
        driver.find_element(By.ID, "theme").click()
    driver.get(BASE + "/graph?" + urllib.parse.urlencode({"g0.expr": 'sum by (i) (rate(x_total{i=~"0|1"}[5m]))', "g0.tab": "0", "g0.range_input": "30m"}))
    wait(driver, lambda: len(driver.find_elements(By.CSS_SELECTOR, ".graph path.series-line")) == 2)
    driver.save_screenshot(os.path.join(SHOTS, "graph-dark.png"))
    driver.find_element(By.ID, "theme").click()

    # A narrow window: no page scrolls sideways.
    driver.set_window_size(420, 900)
    for path in ["/graph?" + urllib.parse.urlencode({"g0.expr": "rate(x_total[5m])", "g0.tab": "0"}), "/blocks", "/alerts", "/explore"]:
        driver.get(BASE + path)
        wait(driver, lambda: driver.find_elements(By.CSS_SELECTOR, ".graph path.series-line") or driver.find_element(By.ID, "main").get_attribute("data-loaded") == "true")
        time.sleep(0.3)
        widths = driver.execute_script("return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        check(f"{path.split('?')[0]} fits a narrow window", widths[0] <= widths[1], str(widths))
        driver.save_screenshot(os.path.join(SHOTS, "narrow-" + path.split("?")[0].strip("/") + ".png"))
    driver.set_window_size(1280, 900)
    driver.get(BASE + "/graph")

    # Drawing 100 series of 11,000 points (script time, reported, not asserted).
    ms = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        import(location.origin + "/ui/graph.js").then((g) => {
          const end = 1.7e12, start = end - 11000 * 15000, result = [];
          for (let s = 0; s < 100; s++) {
            const values = new Array(11000);
            for (let i = 0; i < 11000; i++) values[i] = [(start + i * 15000) / 1000, String(Math.sin(i / 300 + s) * 100 + s)];
            result.push({ metric: { __name__: "m", s: String(s) }, values });
          }
          const el = document.querySelector(".graph"), t0 = performance.now();
          g.drawGraph(el, document.querySelector(".tooltip"), document.querySelector(".legend"), result, { start, end });
          done(performance.now() - t0);
        }, (e) => done(-1));
    """)
    print(f"measure draw_100x11000_ms {ms:.0f}", flush=True)
    check("the big graph drew", ms > 0)

    # What the UI transfers, gzipped.
    total = 0
    for name in ["index.html", "app.js", "graph.js", "format.js", "pages.js", "style.css"]:
        path = "/graph" if name == "index.html" else "/ui/" + name
        with urllib.request.urlopen(BASE + path, timeout=10) as r:
            total += len(gzip.compress(r.read()))
    print(f"measure transfer_gzip_bytes {total}", flush=True)
    check("the UI is under 200 KiB gzipped", total < 200 * 1024, str(total))
finally:
    driver.quit()
sys.exit(1 if failures else 0)
