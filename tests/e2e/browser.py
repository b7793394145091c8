"""Browser tests: headless Chromium (Debian's chromium and chromium-driver,
through Selenium's WebDriver) against the local stack, with host names mapped
to 127.0.0.1 so that same-site and cross-site are the browser's own rules:

* app.example.test    the app's page (the demo page and the client module),
                      an allowed origin, same site as the API;
* api.example.test    the API (the local gateway);
* other.example.test  a page of the same site that is not an allowed origin;
* evil.other.test     a page of another site.

The pages are served by the local gateway (client/, under /client/); each
scenario runs its JavaScript in the page through WebDriver. The demo page
on app.example.test is pointed at api.example.test through its origin's
localStorage (`use_api`): its `?api=` takes same-origin values only. The
app's origin is treated as secure (as an https deploy is), so the Web Locks
API exists.
Run by flow.py after its own checks; `run(stack, expect)` and
`run_base_path(stack, expect)` are the two entry points.
"""

import http.client
import json
import os
import site
import subprocess
import time

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"


def tools():
    """Chromium and ChromeDriver (scripts/chromium) and Selenium (into
    .local/venv by scripts/python-tools, then importable here)."""
    out = subprocess.run([str(ROOT / "scripts" / "chromium")], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(out.stderr.strip())
    paths = dict(pair.split("=", 1) for pair in out.stdout.split())
    venv = subprocess.run([str(ROOT / "scripts" / "python-tools"), "selenium"],
                          capture_output=True, text=True, check=True).stdout.strip()
    site_packages = subprocess.run(
        [f"{venv}/python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip()
    site.addsitedir(site_packages)
    return paths["CHROMIUM"], paths["CHROMEDRIVER"]


class Browser:
    """One headless Chromium with its own empty profile."""

    def __init__(self, port):
        chromium, chromedriver = tools()
        os.environ["SE_OFFLINE"] = "true"  # never let Selenium fetch a driver
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        opts = webdriver.ChromeOptions()
        opts.binary_location = chromium
        secure = ",".join(f"http://{h}:{port}" for h in ("app.example.test", "api.example.test"))
        for arg in [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-background-timer-throttling",
            "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows",
            "--host-resolver-rules=MAP *.example.test 127.0.0.1, MAP *.other.test 127.0.0.1",
            f"--unsafely-treat-insecure-origin-as-secure={secure}",
        ]:
            opts.add_argument(arg)
        opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        self.driver = webdriver.Chrome(service=Service(chromedriver), options=opts)
        self.driver.set_script_timeout(60)
        self.version = self.driver.capabilities.get("browserVersion")

    def close(self):
        self.driver.quit()

    def open(self, url):
        self.driver.get(url)

    def js(self, body, *args):
        """Runs `body` (an async function body; `args` holds the arguments)
        in the current page and returns its JSON-able result; a thrown error
        comes back as {"error": "..."}."""
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "const args = Array.from(arguments).slice(0, -1);"
            f"(async () => {{ {body} }})().then(v => done({{ok: v}}), e => done({{error: String(e)}}));",
            *args,
        )
        return result.get("ok") if "ok" in result else result

    def cookies(self):
        """Every cookie of the profile (HttpOnly ones included), by CDP."""
        return self.driver.execute_cdp_cmd("Network.getAllCookies", {})["cookies"]

    def refresh_cookie(self):
        return self.cookie("refresh_token")

    def cookie(self, name):
        found = [c for c in self.cookies() if c["name"] == name]
        return found[0] if found else None

    def statuses(self, *paths):
        """The statuses of the responses to each of `paths` (not preflights)
        the network saw since the last call, from the performance log: even
        those CORS hid from the page. One list for one path, else a list
        per path."""
        requests, statuses = {}, {}
        for entry in self.driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            params = msg.get("params", {})
            if msg.get("method") == "Network.requestWillBeSent":
                r = params["request"]
                requests[params["requestId"]] = (r["method"], r["url"].split("?")[0])
            elif msg.get("method") == "Network.responseReceivedExtraInfo":
                # Also sent for answers CORS keeps from the page.
                statuses[params["requestId"]] = params["statusCode"]
        found = [[status for rid, status in statuses.items()
                  if requests.get(rid, ("", ""))[1].endswith(path)
                  and requests[rid][0] != "OPTIONS"] for path in paths]
        return found[0] if len(found) == 1 else found

    def sent(self):
        """The requests (not preflights) the network sent since the last
        read of the performance log (`statuses` reads it too), in order:
        [{"method", "url", "headers"}], header names in lower case, merged
        from what the page set (Network.requestWillBeSent) and what went on
        the wire (Network.requestWillBeSentExtraInfo)."""
        order, found = [], {}
        for entry in self.driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            params = msg.get("params", {})
            if msg.get("method") not in ("Network.requestWillBeSent", "Network.requestWillBeSentExtraInfo"):
                continue
            # The two events of one request come in either order.
            seen = found.setdefault(params["requestId"], {"method": "", "url": "", "headers": {}})
            headers = params.get("headers", {})
            if msg["method"] == "Network.requestWillBeSent":
                order.append(params["requestId"])
                seen.update(method=params["request"]["method"], url=params["request"]["url"])
                headers = params["request"].get("headers", {})
            seen["headers"].update({k.lower(): v for k, v in headers.items()})
        return [found[rid] for rid in dict.fromkeys(order) if found[rid]["method"] != "OPTIONS"]

    def new_tab(self, url):
        self.driver.switch_to.new_window("tab")
        self.open(url)
        return self.driver.current_window_handle

    def tab(self, handle):
        self.driver.switch_to.window(handle)


def click(b, element_id, wait_for=None, timeout=20):
    from selenium.webdriver.common.by import By
    output = b.driver.find_element(By.ID, "output")
    before = output.text
    b.driver.find_element(By.ID, element_id).click()
    deadline = time.time() + timeout
    while time.time() < deadline:
        text = output.text
        if text != before and (wait_for is None or wait_for in text):
            return text
        time.sleep(0.05)
    raise AssertionError(f"#{element_id}: the page did not answer (output: {output.text[:200]})")


def fill(b, username, password=PASSWORD):
    from selenium.webdriver.common.by import By
    for field, value in (("username", username), ("password", password)):
        el = b.driver.find_element(By.ID, field)
        el.clear()
        el.send_keys(value)


# The client module, imported from the page.
CLIENT = "const { createAuthClient } = await import('/client/auth-client.js');"


def open_app(b, url):
    """Opens the demo page and waits for its own page-load refresh to finish."""
    from selenium.webdriver.common.by import By
    b.open(url)
    deadline = time.time() + 20
    while time.time() < deadline:
        if "(page load)" in b.driver.find_element(By.ID, "output").text:
            return
        time.sleep(0.05)
    raise AssertionError("the demo page did not finish loading")


def use_api(b, origin, api):
    """Points the demo page of `origin` at `api` (another origin): through
    the origin's localStorage, which a link cannot set."""
    b.open(f"{origin}/client/README.md")
    b.driver.execute_script("localStorage.setItem('serverless-auth-demo:api', arguments[0]);", api)


def at_the_same_instant(b, tabs, body, delay=1.5):
    """Runs `body` in every tab at the same wall-clock instant and returns
    the results in tab order."""
    start = int((time.time() + delay) * 1000)
    for t in tabs:
        b.tab(t)
        b.driver.execute_script(
            "const at = arguments[0];"
            "window.__result = undefined;"
            f"setTimeout(() => (async () => {{ {body} }})().then("
            "  v => window.__result = {ok: v}, e => window.__result = {error: String(e)}),"
            "  at - Date.now());", start)
    results = []
    for t in tabs:
        b.tab(t)
        deadline = time.time() + 30
        while time.time() < deadline:
            r = b.driver.execute_script("return window.__result;")
            if r is not None:
                results.append(r.get("ok") if "ok" in r else r)
                break
            time.sleep(0.05)
        else:
            raise AssertionError("a tab did not finish")
    return results


def run(stack, expect):
    """Every scenario on the main stack (`stack`: flow.Stack)."""
    port = stack.http_port
    api = f"http://api.example.test:{port}"
    app = f"http://app.example.test:{port}/client/demo/"
    started = time.time()
    b = Browser(port)
    try:
        print(f"browser: Chromium {b.version}")
        user = f"browser.{int(time.time() * 1000)}"
        use_api(b, f"http://app.example.test:{port}", api)

        # A person uses the demo page.
        open_app(b, app)
        expect(b.driver.title == "serverless-auth demo", "the demo page loads from the local stack")
        fill(b, user)
        out = click(b, "register", "201")
        expect("201" in out, "the demo page registers a user")
        out = click(b, "login", "200")
        expect("200" in out, "the demo page logs in (cross-origin, same-site, credentials)")
        expect(b.driver.execute_script("return document.cookie") == "",
               "the refresh cookie is invisible to document.cookie")
        cookie = b.refresh_cookie()
        expect(cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
               and cookie["path"] == "/auth" and cookie["domain"] == "api.example.test",
               "the browser stored the refresh cookie: HttpOnly, SameSite=Strict, Path=/auth, api host only")
        device = b.cookie("device")
        expect(device is not None and device["httpOnly"] and device["sameSite"] == "Strict"
               and device["path"] == "/auth/login" and device["domain"] == "api.example.test"
               and device.get("expires", 0) > time.time() + 360 * 86400,
               "the browser stored the device cookie: HttpOnly, SameSite=Strict, Path=/auth/login, a year")
        out = click(b, "me", "GET /me")
        expect("GET /me → 200" in out and '"sid"' in out,
               "the page calls GET /me with its Bearer token through the authorizer")

        # Refresh rotates.
        before = b.refresh_cookie()["value"]
        out = click(b, "refresh", "POST /auth/refresh → 200")
        after = b.refresh_cookie()["value"]
        expect(after != before, "refresh rotates the cookie")
        out = click(b, "me", "GET /me")
        expect("GET /me → 200" in out, "the refreshed access token works")

        # Two tabs refreshing at the same instant, without the client module.
        first = b.driver.current_window_handle
        second = b.new_tab(app)
        open_app(b, app)
        raw = ("const r = await fetch(args_api + '/auth/refresh', {method: 'POST', credentials: 'include'});"
               "const body = await r.json();"
               "const me = await fetch(args_api + '/me', {headers: {Authorization: 'Bearer ' + body.access_token}});"
               "return {status: r.status, me: me.status, sid: (await me.json()).sid};")
        results = at_the_same_instant(b, [first, second], f"const args_api = '{api}'; " + raw)
        expect(all(r.get("status") == 200 and r.get("me") == 200 for r in results),
               f"two tabs refreshing at the same instant both get 200 and working access tokens: {results}")
        expect(results[0]["sid"] == results[1]["sid"], "both stay in the one session")
        again = at_the_same_instant(b, [first], f"const args_api = '{api}'; " + raw)
        expect(again[0].get("status") == 200, "the session goes on after the race (one successor, no reuse)")

        # Two tabs refreshing at the same instant through the client module,
        # on plain pages of the app's origin (no demo client beside it).
        blank = f"http://app.example.test:{port}/client/README.md"
        for t in (first, second):
            b.tab(t)
            b.open(blank)  # a fresh page: the client starts with no access token
            b.driver.execute_script("performance.clearResourceTimings();")
        module = (CLIENT + f"const c = createAuthClient({{baseUrl: '{api}'}});"
                  "window.__client = c; await c.refresh(); return c.accessToken();")
        tokens = at_the_same_instant(b, [first, second], module)
        count = 0
        for t in (first, second):
            b.tab(t)
            count += b.driver.execute_script(
                "return performance.getEntriesByType('resource')"
                ".filter(e => e.name.endsWith('/auth/refresh')).length;")
        expect(all(isinstance(t, str) for t in tokens) and tokens[0] == tokens[1],
               "with the client module both tabs end with the same access token")
        expect(count == 1, f"the client module made one network refresh for two tabs (made {count})")
        b.tab(first)
        status = b.js(f"const r = await window.__client.fetch('{api}/me'); return r.status;")
        expect(status == 200, "the client's authenticated fetch reaches /me")
        # A token the authorizer refuses (HTTP API: 403): the client refreshes
        # once and retries once. The bad token arrives the way another tab's
        # would, on the client's BroadcastChannel (named after its API).
        b.statuses("/me")
        answer = b.js(
            f"new BroadcastChannel('serverless-auth:refresh:{api}').postMessage("
            "  {type: 'token', token: 'not.a.token', expiresAt: Date.now() + 3600e3});"
            "await new Promise(r => setTimeout(r, 200));"
            "const held = window.__client.accessToken();"
            f"const r = await window.__client.fetch('{api}/me');"
            "return {held, status: r.status};")
        time.sleep(0.3)
        me_calls, refreshes = b.statuses("/me", "/auth/refresh")
        expect(answer.get("held") == "not.a.token" and answer.get("status") == 200
               and me_calls == [403, 200] and refreshes == [200],
               f"on the authorizer's 403 the client refreshes once and retries once: "
               f"{answer}, /me {me_calls}, refresh {refreshes}")
        b.tab(second)
        b.driver.close()
        b.tab(first)

        # A foreign site: cannot read, refresh, log out or wipe the cookie.
        open_app(b, app)
        kept = b.refresh_cookie()["value"]
        evil = f"http://evil.other.test:{port}/client/README.md"
        b.open(evil)
        read = b.js(f"const r = await fetch('{api}/auth/login', {{method: 'POST', credentials: 'include',"
                    " headers: {'content-type': 'application/json'},"
                    f" body: JSON.stringify({{username: '{user}', password: '{PASSWORD}'}})}}); return r.status;")
        expect(isinstance(read, dict) and "error" in read, "a foreign page cannot read an answer (CORS)")
        b.js(f"await fetch('{api}/auth/refresh', {{method: 'POST', credentials: 'include', mode: 'no-cors'}});"
             "return true;")
        b.statuses("/auth/refresh")
        for path in ("/auth/logout", "/auth/refresh"):
            b.open(evil)
            b.driver.execute_script(
                "const f = document.createElement('form'); f.method = 'POST'; f.action = arguments[0];"
                "document.body.appendChild(f); f.submit();", api + path)
            time.sleep(1.0)
        cookie = b.refresh_cookie()
        expect(cookie is not None and cookie["value"] == kept,
               "a foreign site's fetch and form posts neither refresh, end nor wipe the session cookie")
        b.open(blank)
        status = b.js(f"const r = await fetch('{api}/auth/refresh', {{method: 'POST', credentials: 'include'}});"
                      "return r.status;")
        expect(status == 200, "the session still refreshes after the foreign site's attempts")

        # A same-site page that is not an allowed origin.
        b.open(f"http://other.example.test:{port}/client/README.md")
        b.statuses("/auth/refresh")
        b.js(f"try {{ await fetch('{api}/auth/refresh', {{method: 'POST', credentials: 'include'}}); }}"
             " catch (e) {} return true;")
        time.sleep(0.5)
        seen = b.statuses("/auth/refresh")
        expect(seen == [403], f"a same-site page not in ALLOWED_ORIGINS gets 403 (saw {seen})")
        expect(b.refresh_cookie() is not None, "... and its 403 does not clear the cookie")

        # A 429's Retry-After is readable by the page.
        b.open(blank)
        victim = f"{user}.locked"
        b.js(f"await fetch('{api}/auth/register', {{method: 'POST', headers: {{'content-type': 'application/json'}},"
             f" body: JSON.stringify({{username: '{victim}', password: '{PASSWORD}'}})}}); return true;")
        answer = b.js(
            "let last;"
            "for (let i = 0; i < 6; i++) {"
            f"  last = await fetch('{api}/auth/login', {{method: 'POST', credentials: 'include',"
            "    headers: {'content-type': 'application/json'},"
            f"    body: JSON.stringify({{username: '{victim}', password: 'wrong password here ' + i}})}});"
            "}"
            "return {status: last.status, retryAfter: last.headers.get('Retry-After')};")
        expect(answer.get("status") == 429 and answer.get("retryAfter") not in (None, ""),
               f"a 429's Retry-After is readable by the page: {answer}")

        # Logout ends the session and the cookie.
        open_app(b, app)
        click(b, "logout", "POST /auth/logout → 204")
        expect(b.refresh_cookie() is None, "logout removes the cookie from the browser")
        status = b.js(f"const r = await fetch('{api}/auth/refresh', {{method: 'POST', credentials: 'include'}});"
                      "return r.status;")
        expect(status == 401, "after logout the browser has no session")

        # The account routes from the page: Bearer plus cookie, cross-origin
        # (each a preflighted request the gateway answers).
        fill(b, user)
        click(b, "login", "POST /auth/login → 200")
        out = click(b, "sessions", "GET /auth/sessions")
        expect("GET /auth/sessions → 200" in out and '"current": true' in out,
               "the page lists its sessions, its own marked current")
        from selenium.webdriver.common.by import By
        new = "a brand new browser passphrase"
        fill(b, user)  # the page forgets the password once logged in
        b.driver.find_element(By.ID, "new-password").send_keys(new)
        out = click(b, "change-password", "POST /auth/password")
        expect("POST /auth/password → 204" in out, "the page changes the password")
        out = click(b, "refresh", "POST /auth/refresh")
        expect("→ 200" in out, "its own session goes on after the change")
        fill(b, user, new)
        out = click(b, "delete-account", "DELETE /auth/account")
        expect("DELETE /auth/account → 204" in out and b.refresh_cookie() is None,
               "the page deletes the account and the answer clears the cookie")

        token_scope(b, port, expect)
    finally:
        b.close()
    print(f"browser: main scenarios in {time.time() - started:.1f} s")


def token_scope(b, port, expect):
    """The client attaches its token to its API's origin (and the origins
    it lists) only, never to another URL it is handed, and names its
    channel after its API; the demo page ignores a foreign `?api=`; the
    gateway refuses a Host that is not this machine. Its own user, on the
    app's origin calling the API's (cross-origin, same site)."""
    app = f"http://app.example.test:{port}"
    api = f"http://api.example.test:{port}"
    other = f"http://other.example.test:{port}"  # same site, not the API
    evil = f"http://evil.other.test:{port}"  # another site
    user = f"scope.{int(time.time() * 1000)}"

    def gets(requests, url):
        return [r for r in requests if r["method"] == "GET" and r["url"] == url]

    b.open(f"{app}/client/README.md")
    # Three clients on one page: two of one API (one of them also trusting
    # `other`), one whose API is `other`.
    status = b.js(
        CLIENT + "const [api, other, user, password] = args;"
        "window.__c = createAuthClient({baseUrl: api});"
        "window.__listed = createAuthClient({baseUrl: api, tokenOrigins: [other]});"
        "window.__elsewhere = createAuthClient({baseUrl: other});"
        "await __c.register(user, password);"
        "await __c.login(user, password);"
        "await new Promise(r => setTimeout(r, 300));"
        "return {c: !!__c.accessToken(), listed: __listed.accessToken() === __c.accessToken(),"
        "        elsewhere: __elsewhere.accessToken() && 'a token'};",  # never a token in a message
        api, other, user, PASSWORD)
    expect(status == {"c": True, "listed": True, "elsewhere": None},
           f"a login reaches the client of the same API on the page, not the client of another API: {status}")

    b.sent()
    status = b.js("return (await __c.fetch(args[0] + '/me')).status;", api)
    me = gets(b.sent(), f"{api}/me")
    expect(status == 200 and len(me) == 1 and me[0]["headers"].get("authorization", "").startswith("Bearer "),
           f"auth.fetch to the API's origin carries the token ({status}, {len(me)} request(s))")

    statuses = b.js("const s = [];"
                    "for (const url of args) s.push((await __c.fetch(url + '/me')).status);"
                    "return s;", evil, other)
    time.sleep(0.3)
    sent = b.sent()
    foreign = gets(sent, f"{evil}/me") + gets(sent, f"{other}/me")
    expect(statuses == [401, 401] and len(foreign) == 2
           and not any("authorization" in r["headers"] for r in foreign),
           f"auth.fetch to another site and to an unlisted origin of the same site sends no Authorization "
           f"and does not retry their 401: {statuses}, {[(r['url'], sorted(r['headers'])) for r in foreign]}")
    expect(not any(r["url"].endswith("/auth/refresh") for r in sent),
           "... nor refreshes for them")

    status = b.js("return (await __listed.fetch(args[0] + '/me')).status;", other)
    listed = gets(b.sent(), f"{other}/me")
    expect(status == 200 and len(listed) == 1
           and listed[0]["headers"].get("authorization", "").startswith("Bearer "),
           f"an origin listed in tokenOrigins gets the token ({status})")

    # Tokens posted on each channel reach the clients of that API only; the
    # old shared name reaches none.
    seen = b.js(
        "const [api, other] = args;"
        "const before = __c.accessToken();"
        "const post = (name, token) => new BroadcastChannel(name).postMessage("
        "  {type: 'token', token, expiresAt: Date.now() + 7200e3});"
        "post('serverless-auth:refresh', 'shared.name.token');"
        "post('serverless-auth:refresh:' + other, 'other.api.token');"
        "await new Promise(r => setTimeout(r, 300));"
        "return {kept: __c.accessToken() === before && __listed.accessToken() === before,"
        "        elsewhere: __elsewhere.accessToken()};",
        api, other)
    expect(seen == {"kept": True, "elsewhere": "other.api.token"},
           f"each client's BroadcastChannel is its API's: {seen}")

    # The demo page ignores a foreign ?api= (the stored API stands) and
    # takes a same-origin one.
    b.sent()
    open_app(b, f"{app}/client/demo/?api={evil}")
    from selenium.webdriver.common.by import By
    shown = b.driver.find_element(By.ID, "api").text
    expect(shown == api and not any(r["url"].startswith(evil) for r in b.sent()),
           f"the demo page ignores ?api= of another origin (API: {shown})")
    open_app(b, f"{app}/client/demo/?api=/prod")
    shown = b.driver.find_element(By.ID, "api").text
    expect(shown == f"{app}/prod", f"the demo page takes ?api= of its own origin (API: {shown})")

    # DNS rebinding: a name that is not this machine's is refused.
    def host_status(host):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("GET", "/client/README.md", headers={"Host": host})
            res = conn.getresponse()
            return res.status, res.read()
        finally:
            conn.close()
    refused = [host_status(h) for h in (f"rebound.example.com:{port}", "127.0.0.1.nip.io")]
    served = [host_status(h)[0] for h in (f"api.example.test:{port}", f"127.0.0.1:{port}", f"localhost:{port}")]
    expect(all(status == 421 and b"Misdirected" in body for status, body in refused) and served == [200] * 3,
           f"the gateway refuses a Host that is not this machine with 421 and serves its own names: "
           f"{[s for s, _ in refused]}, {served}")


def run_base_path(stack, expect):
    """The whole flow under a base path, with the cookie path following it."""
    port = stack.http_port
    api = f"http://api.example.test:{port}{stack.base_path}"
    app = f"http://app.example.test:{port}/client/demo/"
    b = Browser(port)
    try:
        user = f"base.{int(time.time() * 1000)}"
        use_api(b, f"http://app.example.test:{port}", api)
        open_app(b, app)
        fill(b, user)
        click(b, "register", "201")
        out = click(b, "login", "200")
        expect("200" in out, f"under {stack.base_path}: login")
        cookie = b.refresh_cookie()
        expect(cookie is not None and cookie["path"] == f"{stack.base_path}/auth",
               f"under {stack.base_path}: the cookie's path is {stack.base_path}/auth")
        before = cookie["value"]
        click(b, "refresh", "POST /auth/refresh → 200")
        expect(b.refresh_cookie()["value"] != before, f"under {stack.base_path}: refresh sends and rotates the cookie")
        out = click(b, "me", "GET /me")
        expect("GET /me → 200" in out, f"under {stack.base_path}: GET /me through the authorizer")
        click(b, "logout", "POST /auth/logout → 204")
        expect(b.refresh_cookie() is None, f"under {stack.base_path}: logout clears the cookie")
    finally:
        b.close()
