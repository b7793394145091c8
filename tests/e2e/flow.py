#!/usr/bin/env python3
"""End-to-end: start the local stack exactly as `make dev` does, then drive a
whole session over real HTTP with a cookie jar that stores the refresh cookie
the way a browser does, call `GET /me` through the local gateway and its
authorizer with the token just issued, run schemathesis against openapi.yaml
on the same stack, put it under load (load.py: LOAD_SECONDS, default 20, and
LOAD_CLIENTS, default 8), and run the browser tests (browser.py: headless
Chromium) on it and on a second stack under a base path.

Standard library only. Exits non-zero on the first failed expectation; always
stops the stack it started. Usage: tests/e2e/flow.py (make e2e).
"""

import http.cookiejar
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import browser
import interop
import load

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"
# Cargo's target directory (CARGO_TARGET_DIR, else target/ in the workspace).
TARGET = ROOT / os.environ.get("CARGO_TARGET_DIR", "target")
# Everything the stack and the functions print goes here, beside the Rust
# test binaries' logs, for the leak scan that ends `make test` (scan-logs).
LOG_DIR = TARGET / "test-logs"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    """`scripts/dev` on free ports. The browser tests' host names
    (browser.py) are allowed origins: app.example.test is the app's site."""

    def __init__(self, base_path="", **extra):
        self.http_port = free_port()
        self.ddb_port = free_port()
        self.base_path = f"/{base_path}" if base_path else ""
        self.origin = f"http://127.0.0.1:{self.http_port}"
        self.base = self.origin + self.base_path
        self.log = open(LOG_DIR / f"e2e-stack-{self.http_port}.log", "w")
        origins = ",".join([self.origin, f"http://app.example.test:{self.http_port}"])
        # Every request of the run comes from 127.0.0.1, and schemathesis
        # alone makes hundreds of failed logins: the per-address limit is
        # tested by tests/tests/abuse.rs, not left to trip the browser tests.
        extra.setdefault("LOGIN_MAX_FAILURES_PER_IP", "1000000")
        env = dict(os.environ, HTTP_PORT=str(self.http_port), DYNAMODB_PORT=str(self.ddb_port),
                   INVOKE_PORT=str(free_port()), BASE_PATH=base_path, ALLOWED_ORIGINS=origins, **extra)
        self.proc = subprocess.Popen(
            [str(ROOT / "scripts" / "dev")], cwd=ROOT, env=env,
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def wait_ready(self, timeout=900):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"scripts/dev exited early; see {self.log.name}")
            try:
                status, _, _ = request(self.base + "/auth/login", {}, method="POST", jar=None)
                if status == 400:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise SystemExit(f"local stack not ready after {timeout} s; see {self.log.name}")

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def request(url, body=None, method="POST", jar=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    handlers = [urllib.request.HTTPCookieProcessor(jar)] if jar is not None else []
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(req, timeout=30) as res:
            return res.status, res.headers, res.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


PASSED = 0


def expect(cond, what):
    global PASSED
    if not cond:
        raise AssertionError(what)
    PASSED += 1
    print(f"ok  {what}")


def refresh_cookie(jar):
    return next((c for c in jar if c.name == "refresh_token"), None)


def flow(stack):
    base = stack.base
    jar = http.cookiejar.CookieJar()
    user = f"e2e.{int(time.time() * 1000)}"

    status, _, body = request(base + "/auth/register", {"username": user, "password": PASSWORD}, jar=jar)
    expect(status == 201, "register answers 201")
    expect(json.loads(body) == {"username": user, "roles": ["user"]}, "register body")

    status, headers, body = request(base + "/auth/login", {"username": user, "password": PASSWORD}, jar=jar)
    expect(status == 200, "login answers 200")
    expect(headers.get("Cache-Control") == "no-store", "login answer is no-store")
    tokens = json.loads(body)
    expect(tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900, "login body")
    cookie = refresh_cookie(jar)
    expect(cookie is not None, "the browser stored the refresh cookie")
    expect(cookie.path == stack.base_path + "/auth", f"cookie path is {stack.base_path}/auth")
    expect(cookie.has_nonstandard_attr("HttpOnly"), "cookie is HttpOnly")
    expect(not cookie.secure, "cookie is not Secure locally (COOKIE_SECURE=false)")
    expect(cookie.expires and abs(cookie.expires - (time.time() + 7 * 86400)) < 120, "cookie lives 7 days")
    probe = urllib.request.Request(base + "/me")
    jar.add_cookie_header(probe)
    expect(probe.get_header("Cookie") is None, "the browser does not send the cookie outside /auth")

    status, _, _ = request(base + "/auth/login", {"username": user, "password": "wrong password here"}, jar=None)
    expect(status == 401, "wrong password answers 401")

    # GET /me through the gateway: the authorizer decides, me reads its context.
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    status, _, body = request(base + "/me", None, method="GET", headers=bearer)
    expect(status == 200, "GET /me with the access token answers 200 through the authorizer")
    me = json.loads(body)
    expect(set(me) == {"sub", "roles", "sid"} and me["roles"] == ["user"] and me["sid"],
           "me answers sub, roles and sid from the authorizer's context")
    status, _, body = request(base + "/me", None, method="GET")
    expect(status == 401 and json.loads(body) == {"message": "Unauthorized"},
           "GET /me without a token: 401 from the gateway, the authorizer not asked")
    tampered = {"Authorization": f"Bearer {tokens['access_token'][:-2]}xx"}
    status, _, body = request(base + "/me", None, method="GET", headers=tampered)
    expect(status == 403 and json.loads(body) == {"message": "Forbidden"},
           "GET /me with a tampered token: 403, as HTTP API answers an authorizer's refusal")
    allowed = {"Origin": stack.origin, "Access-Control-Request-Method": "GET",
               "Access-Control-Request-Headers": "authorization"}
    status, headers, _ = request(base + "/me", None, method="OPTIONS", headers=allowed)
    expect(status == 204 and headers.get("Access-Control-Allow-Origin") == stack.origin
           and headers.get("Access-Control-Allow-Credentials") == "true",
           "the preflight of GET /me is answered by the gateway, without a token")
    foreign = dict(allowed, Origin="https://evil.example")
    status, headers, _ = request(base + "/me", None, method="OPTIONS", headers=foreign)
    expect(status == 204 and headers.get("Access-Control-Allow-Origin") is None,
           "a foreign origin's preflight gets no CORS headers")
    status, _, _ = request(base + "/auth/login", None, method="GET")
    expect(status == 404, "a method without a route is the gateway's 404")

    old = refresh_cookie(jar).value
    status, headers, body = request(base + "/auth/refresh", None, jar=jar)
    expect(status == 200, "refresh with the cookie answers 200")
    expect(refresh_cookie(jar).value != old, "refresh rotated the cookie")
    expect("access_token" in json.loads(body), "refresh returns an access token")

    status, _, _ = request(base + "/auth/refresh", None, jar=None,
                           headers={"Cookie": f"refresh_token={old}", "Origin": "https://evil.example"})
    expect(status == 403, "cookie refresh from a foreign origin is refused (CSRF)")

    status, _, _ = request(base + "/auth/logout", None, jar=jar)
    expect(status == 204, "logout answers 204")
    expect(refresh_cookie(jar) is None, "logout removed the cookie from the browser")
    status, _, body = request(base + "/auth/refresh", None, jar=None,
                              headers={"Cookie": f"refresh_token={old}"})
    expect(status == 401 and json.loads(body)["error"] == "invalid_token", "the session is gone after logout")


def startup_refusals():
    """Every function refuses a bad secret at cold start: exit 1 and one JSON
    log line naming the variable, never a value. A function that does not
    read a variable (register and `me` read no secret; logout never an
    access secret; the authorizer never a refresh secret) gets past its
    configuration instead (then stops: no Lambda runtime here). The account
    function verifies access tokens, so it refuses as the authorizer does. Every output
    is kept in LOG_DIR for the leak scan."""
    good_access = "startup-check-access-secret-0123456789abc"
    good_refresh = "startup-check-refresh-secret-0123456789ab"
    short = "short-SECRET-VALUE-1234"
    base = {"PATH": os.environ.get("PATH", ""), "USERS_TABLE": "u", "SESSIONS_TABLE": "s",
            "JWT_ISSUER": "https://auth.example.com", "JWT_AUDIENCE": "https://api.example.com",
            "AWS_REGION": "us-east-1"}
    # Which functions hold which secret (template.yaml gives each exactly those).
    current_access = {"login", "refresh", "authorizer", "account"}
    # The account function signs device tokens (a password change) with the
    # refresh secret, and a reauthentication's access tokens.
    current_refresh = {"login", "refresh", "logout", "account"}
    cases = [
        ("JWT_ACCESS_SECRET", "missing", {"JWT_REFRESH_SECRET": good_refresh}, current_access),
        ("JWT_ACCESS_SECRET", "short", {"JWT_ACCESS_SECRET": short, "JWT_REFRESH_SECRET": good_refresh},
         current_access),
        ("JWT_ACCESS_SECRET_PREVIOUS", "equal to JWT_ACCESS_SECRET",
         {"JWT_ACCESS_SECRET": good_access, "JWT_ACCESS_SECRET_PREVIOUS": good_access,
          "JWT_REFRESH_SECRET": good_refresh}, {"authorizer", "account"}),
        ("JWT_REFRESH_SECRET", "missing", {"JWT_ACCESS_SECRET": good_access}, current_refresh),
        ("JWT_REFRESH_SECRET", "short", {"JWT_ACCESS_SECRET": good_access, "JWT_REFRESH_SECRET": short},
         current_refresh),
        ("JWT_REFRESH_SECRET", "equal to JWT_ACCESS_SECRET",
         {"JWT_ACCESS_SECRET": good_access, "JWT_REFRESH_SECRET": good_access}, {"login", "refresh", "account"}),
    ]
    # ES256: a key on another curve in one variable, a good key in the other.
    # Only the functions that hold the bad one refuse.
    good_private, good_public = es256_pair("prime256v1")
    p384_private, p384_public = es256_pair("secp384r1")
    es256 = {"JWT_ACCESS_ALGORITHM": "ES256", "JWT_REFRESH_SECRET": good_refresh}
    cases += [
        ("JWT_ACCESS_PRIVATE_KEY", "on P-384",
         dict(es256, JWT_ACCESS_PRIVATE_KEY=p384_private, JWT_ACCESS_PUBLIC_KEY=good_public),
         {"login", "refresh", "account"}),
        ("JWT_ACCESS_PUBLIC_KEY", "on P-384",
         dict(es256, JWT_ACCESS_PRIVATE_KEY=good_private, JWT_ACCESS_PUBLIC_KEY=p384_public),
         {"authorizer", "account", "jwks"}),
        ("JWT_ACCESS_ALGORITHM", "RS256",
         dict(es256, JWT_ACCESS_ALGORITHM="RS256", JWT_ACCESS_SECRET=good_access),
         {"login", "refresh", "authorizer", "account", "jwks"}),
    ]
    binaries = ["register", "login", "refresh", "logout", "account", "authorizer", "jwks", "me"]
    with open(LOG_DIR / f"e2e-startup-{os.getpid()}.log", "w") as log:
        for binary in binaries:
            for var, what, env, refusers in cases:
                run = subprocess.run([str(TARGET / "debug" / binary)], env=dict(base, **env),
                                     capture_output=True, text=True, timeout=30)
                out = run.stdout + run.stderr
                log.write(f"# {binary}: {var} {what}\n{out}")
                # Any secret, or any line of a key's PEM body (the algorithm's
                # name is no secret and the refusal names what it expects).
                leaked = any(piece in out for k, v in env.items()
                             if k.startswith("JWT_") and k != "JWT_ACCESS_ALGORITHM"
                             for piece in v.splitlines() if piece and not piece.startswith("-----"))
                lines = [l for l in run.stdout.splitlines() if l.strip()]
                errors = [json.loads(l) for l in lines if l.startswith("{")]
                if binary in refusers:
                    named = len(lines) == 1 and len(errors) == 1 and errors[0].get("level") == "ERROR" \
                        and var in errors[0].get("error", "")
                    expect(run.returncode == 1 and named and not leaked,
                           f"{binary} refuses to start on {var} {what}: one line naming it, no value")
                else:
                    refused = run.returncode == 1 or var in out or "refusing to start" in out
                    expect(not refused and not leaked,
                           f"{binary} does not hold {var}: {what}, it neither stops nor leaks")


def es256_pair(curve):
    """A fresh PKCS#8 private key on `curve` and its SPKI public key (PEM)."""
    private = subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", f"ec_paramgen_curve:{curve}"],
                             check=True, capture_output=True, text=True).stdout
    public = subprocess.run(["openssl", "pkey", "-pubout"], input=private, check=True,
                            capture_output=True, text=True).stdout
    return private, public


def account(stack):
    """The account routes through the gateway (no authorizer in front: the
    function verifies the Bearer token itself), as a client runs them."""
    base = stack.base
    user = f"acct.{int(time.time() * 1000)}"
    status, _, _ = request(base + "/auth/register", {"username": user, "password": PASSWORD})
    expect(status == 201, "account: register")
    jars = [http.cookiejar.CookieJar(), http.cookiejar.CookieJar()]
    access = []
    for jar in jars:
        status, _, body = request(base + "/auth/login", {"username": user, "password": PASSWORD}, jar=jar)
        access.append(json.loads(body)["access_token"])
    here = {"Authorization": f"Bearer {access[0]}"}
    status, _, body = request(base + "/auth/sessions", None, method="GET", headers=here)
    listed = json.loads(body)["sessions"] if status == 200 else []
    # Both logins fall in one second: newest first cannot order them.
    expect(len(listed) == 2 and sorted(s["current"] for s in listed) == [False, True]
           and listed[0]["created_at"] >= listed[1]["created_at"],
           "GET /auth/sessions lists both sessions, newest first, the caller's marked")
    status, _, body = request(base + "/auth/sessions", None, method="GET")
    expect(status == 401 and json.loads(body)["error"] == "invalid_token",
           "GET /auth/sessions without a token: the function's own 401 invalid_token")
    preflight = {"Origin": stack.origin, "Access-Control-Request-Method": "DELETE",
                 "Access-Control-Request-Headers": "authorization,content-type"}
    other = next(s["sid"] for s in listed if not s["current"])
    status, headers, _ = request(base + f"/auth/sessions/{other}", None, method="OPTIONS", headers=preflight)
    expect(status == 204 and headers.get("Access-Control-Allow-Origin") == stack.origin,
           "the preflight of DELETE /auth/sessions/{sid} succeeds")
    status, _, _ = request(base + f"/auth/sessions/{other}", None, method="DELETE", headers=here)
    expect(status == 204, "DELETE /auth/sessions/{sid} ends the other session")
    status, _, _ = request(base + "/auth/refresh", None, jar=jars[1])
    expect(status == 401, "the ended session no longer refreshes")
    status, _, body = request(base + "/auth/password",
                              {"current_password": PASSWORD, "new_password": "1qaz2wsx3edc4rfv"}, headers=here)
    expect(status == 400 and json.loads(body)["error"] == "weak_password",
           "a common new password: 400 weak_password")
    new = "an entirely new passphrase"
    status, _, _ = request(base + "/auth/password", {"current_password": PASSWORD, "new_password": new},
                           headers=here)
    expect(status == 204, "POST /auth/password changes it")
    status, _, _ = request(base + "/auth/refresh", None, jar=jars[0])
    expect(status == 200, "the calling session goes on after the change")
    status, _, _ = request(base + "/auth/account", {"password": new}, method="DELETE", headers=here, jar=jars[0])
    expect(status == 204 and refresh_cookie(jars[0]) is None,
           "DELETE /auth/account deletes it and clears the cookie")
    status, _, _ = request(base + "/auth/login", {"username": user, "password": new})
    expect(status == 401, "the deleted user cannot log in")


def contract(stack):
    """schemathesis against openapi.yaml on the same stack: one deterministic
    pass (about 1,000 requests); `scripts/schemathesis` alone runs longer. It
    gets an access token of its own user, so the account routes are reached
    past their bearer check."""
    user = f"st.{int(time.time() * 1000)}"
    # Not the spec's example password, which schemathesis sends as is.
    password = f"schemathesis cannot guess {os.urandom(8).hex()}"
    request(stack.base + "/auth/register", {"username": user, "password": password})
    status, _, body = request(stack.base + "/auth/login", {"username": user, "password": password})
    expect(status == 200, "schemathesis' user logs in")
    env = dict(os.environ, ST_MAX_TIME=os.environ.get("ST_MAX_TIME", "0"),
               ST_BEARER=json.loads(body)["access_token"])
    run = subprocess.run([str(ROOT / "scripts" / "schemathesis"), stack.base], cwd=ROOT, env=env)
    expect(run.returncode == 0, "schemathesis: no 5xx, every answer conforms to openapi.yaml")


def published_keys(stack):
    """ES256: the published keys, the discovery document, a token that names
    its key by thumbprint, other verifiers, and API Gateway's JWT authorizer
    (the gateway fetches our discovery document itself)."""
    base = stack.base
    status, headers, body = request(base + "/.well-known/jwks.json", None, method="GET")
    keys = json.loads(body).get("keys", []) if status == 200 else []
    expect(status == 200 and headers.get("Cache-Control", "").startswith("public, max-age="),
           "GET /.well-known/jwks.json: 200, public and cacheable, without a token")
    expect(len(keys) == 1 and keys[0]["kty"] == "EC" and keys[0]["crv"] == "P-256"
           and keys[0]["alg"] == "ES256" and keys[0]["use"] == "sig"
           and set(keys[0]) == {"kty", "crv", "x", "y", "kid", "alg", "use"},
           "the JWKS holds one P-256 key with public members only")
    status, _, body = request(base + "/.well-known/openid-configuration", None, method="GET")
    discovery = json.loads(body) if status == 200 else {}
    expect(discovery.get("issuer") == base and discovery.get("jwks_uri") == base + "/.well-known/jwks.json",
           "the discovery document names our issuer and its jwks_uri")

    user = f"es.{int(time.time() * 1000)}"
    request(base + "/auth/register", {"username": user, "password": PASSWORD})
    status, _, body = request(base + "/auth/login", {"username": user, "password": PASSWORD})
    token = json.loads(body)["access_token"] if status == 200 else ""
    header = json.loads(b64url(token.split(".")[0])) if token else {}
    expect(header == {"typ": "JWT", "alg": "ES256", "kid": keys[0]["kid"]} if keys else False,
           "an ES256 access token names the published key")
    sub = json.loads(b64url(token.split(".")[1]))["sub"]
    interop.run(stack, token, sub, expect)

    bearer = {"Authorization": f"Bearer {token}"}
    status, _, body = request(base + "/me/gateway-jwt", None, method="GET", headers=bearer)
    me = json.loads(body) if status == 200 else {}
    expect(me.get("sub") == sub and me.get("roles") == ["user"] and me.get("sid"),
           "GET /me/gateway-jwt through API Gateway's JWT authorizer: sub, roles and sid from the claims")
    for what, headers in [("no token", {}), ("a forged token", {"Authorization": f"Bearer {interop.forge(token)}"})]:
        status, _, body = request(base + "/me/gateway-jwt", None, method="GET", headers=headers)
        expect(status == 401 and json.loads(body) == {"message": "Unauthorized"},
               f"GET /me/gateway-jwt with {what}: 401 from the JWT authorizer")


def b64url(segment):
    import base64
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def es256_stack():
    """A second stack with ES256 access tokens: the same session flow, the
    account routes and the browser scenarios, plus the published keys."""
    stack = Stack(JWT_ACCESS_ALGORITHM="ES256")
    try:
        stack.wait_ready()
        print(f"ES256 stack ready at {stack.base}")
        flow(stack)
        account(stack)
        published_keys(stack)
        browser.run(stack, expect)
    finally:
        stack.stop()


def base_path(expect):
    """A second stack, under a base path (as a custom domain's API mapping
    serves it), through the browser."""
    stack = Stack(base_path="prod")
    try:
        stack.wait_ready()
        browser.run_base_path(stack, expect)
    finally:
        stack.stop()


def main():
    (ROOT / ".local").mkdir(exist_ok=True)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    stack = Stack()
    try:
        started = time.time()
        stack.wait_ready()
        print(f"local stack ready in {time.time() - started:.1f} s at {stack.base}")
        flow(stack)
        account(stack)
        failures = load.run(stack.base, seconds=float(os.environ.get("LOAD_SECONDS", "20")),
                            clients=int(os.environ.get("LOAD_CLIENTS", "8")), log_path=stack.log.name)
        expect(not failures, "load: no 5xx, no 401, no reuse detected, every session alive at the end")
        startup_refusals()
        contract(stack)
        browser.run(stack, expect)
        base_path(expect)
        es256_stack()
    except AssertionError as e:
        print(f"FAILED: {e} (stack log: {stack.log.name})", file=sys.stderr)
        print(f"{PASSED} passed, 1 failed")
        return 1
    finally:
        stack.stop()
    print(f"{PASSED} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
