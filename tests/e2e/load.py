#!/usr/bin/env python3
"""Load over the local stack: N clients, each with its own user, log in and
then refresh sequentially with the refresh cookie they last received, for a
fixed time. Expected: no 5xx at all, no 401 (a sequential client must never
trip reuse detection or lose its session), and every client's last refresh
token still works at the end. Prints requests, requests per second and
p50/p99 latency per endpoint.

The figures are those of the local stack (`cargo lambda watch`: debug
builds, one invocation at a time per function, DynamoDB Local), not of
Lambda; they show regressions and queueing, not production capacity.

Standard library only; loopback only; bounded by --seconds. flow.py runs it
after its flow on the same stack (LOAD_SECONDS, LOAD_CLIENTS); alone it
starts the stack the same way, or uses one given with --url:

    tests/e2e/load.py [--seconds 20] [--clients 8] [--url http://127.0.0.1:9000]
"""

import argparse
import http.client
import json
import sys
import threading
import time
import urllib.parse

PASSWORD = "correct horse battery staple"
ENDPOINTS = ("register", "login", "refresh")


class Client:
    """One user on one keep-alive connection, holding the refresh cookie the
    way a browser does (only the latest one)."""

    def __init__(self, base, name):
        url = urllib.parse.urlsplit(base)
        self.host, self.port = url.hostname, url.port
        self.name = name
        self.conn = None
        self.cookie = None
        self.samples = {e: [] for e in ENDPOINTS}  # (status, seconds)

    def post(self, endpoint, body=None):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if self.cookie is not None and endpoint == "refresh":
            headers["Cookie"] = f"refresh_token={self.cookie}"
        data = None if body is None else json.dumps(body)
        for retry in (False, True):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            started = time.perf_counter()
            try:
                self.conn.request("POST", f"/auth/{endpoint}", body=data, headers=headers)
                res = self.conn.getresponse()
                payload = res.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed an idle keep-alive connection: reconnect
                # once. Should it have applied a refresh anyway, the resent
                # token is then the previous one within the reuse interval
                # and gets the same successor, as a browser's retry would.
                self.conn.close()
                self.conn = None
                if retry:
                    raise
                continue
            took = time.perf_counter() - started
            self.samples[endpoint].append((res.status, took))
            for value in res.headers.get_all("Set-Cookie") or []:
                first = value.split(";", 1)[0]
                if first.startswith("refresh_token="):
                    self.cookie = first[len("refresh_token="):] or None
            return res.status, payload
        raise AssertionError("unreachable")

    def run(self, deadline, failures):
        try:
            status, body = self.post("register", {"username": self.name, "password": PASSWORD})
            if status != 201:
                failures.append(f"{self.name}: register answered {status} {body[:200]!r}")
                return
            status, body = self.post("login", {"username": self.name, "password": PASSWORD})
            if status != 200 or self.cookie is None:
                failures.append(f"{self.name}: login answered {status} {body[:200]!r}")
                return
            while time.monotonic() < deadline:
                status, body = self.post("refresh")
                if status != 200:
                    failures.append(f"{self.name}: refresh answered {status} {body[:200]!r}")
                    return
        except Exception as e:  # noqa: BLE001 - reported as a failure, the run goes on
            failures.append(f"{self.name}: {type(e).__name__}: {e}")
        finally:
            if self.conn is not None:
                self.conn.close()
                self.conn = None

    def final_check(self, failures):
        """True when the session survived: the last refresh token still
        refreshes."""
        if self.cookie is None:
            return False
        try:
            status, body = self.post("refresh")
        except OSError as e:
            status, body = type(e).__name__, str(e).encode()
        finally:
            if self.conn is not None:
                self.conn.close()
        if status != 200:
            failures.append(f"{self.name}: last refresh token refused at the end: {status} {body[:200]!r}")
        return status == 200


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def run(base, seconds=20.0, clients=8, log_path=None):
    """Runs the load against `base` and prints the figures. Returns the list
    of failures (empty when every expectation held). With `log_path` (the
    stack's log), also counts reuse detections logged during the run."""
    # Held open from here: the run's part of the log is read through this
    # handle, even should the file be removed meanwhile. A 401 would show a
    # reuse detection anyway; the log says why.
    try:
        log = open(log_path, "rb") if log_path else None
    except OSError:
        log = None
    if log is not None:
        log.seek(0, 2)
    stamp = int(time.time() * 1000)
    users = [Client(base, f"load.{stamp}.{i}") for i in range(clients)]
    failures = []
    started = time.monotonic()
    deadline = started + seconds
    threads = [threading.Thread(target=u.run, args=(deadline, failures), daemon=True) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 300)
        if t.is_alive():
            failures.append("a client did not finish within its bound")
    elapsed = time.monotonic() - started
    lost = sum(1 for u in users if not u.final_check(failures))

    samples = {e: [s for u in users for s in u.samples[e]] for e in ENDPOINTS}
    all_samples = [s for e in ENDPOINTS for s in samples[e]]
    five_xx = sum(1 for status, _ in all_samples if status >= 500)
    if five_xx:
        failures.append(f"{five_xx} answers were 5xx")
    reuse = None
    if log is not None:
        with log:
            reuse = log.read().count(b"refresh_reuse_detected")
        if reuse:
            failures.append(f"{reuse} refresh_reuse_detected events for sequential clients")

    print(f"load: {clients} clients, {seconds:g} s of login then sequential refreshes, "
          f"{elapsed:.1f} s wall")
    print("load: figures of the local stack (cargo lambda watch, debug builds, one invocation "
          "at a time per function, DynamoDB Local), not of Lambda")
    print(f"load: {'endpoint':<9} {'requests':>8} {'rps':>7} {'p50 ms':>8} {'p99 ms':>8}  statuses")
    for e in ENDPOINTS + ("all",):
        rows = all_samples if e == "all" else samples[e]
        times = sorted(t for _, t in rows)
        statuses = {}
        for status, _ in rows:
            statuses[status] = statuses.get(status, 0) + 1
        print(f"load: {e:<9} {len(rows):>8} {len(rows) / elapsed:>7.1f} "
              f"{percentile(times, 50) * 1000:>8.1f} {percentile(times, 99) * 1000:>8.1f}  "
              f"{dict(sorted(statuses.items()))}")
    print(f"load: 5xx {five_xx}; lost sessions {lost} of {clients}; reuse detected "
          f"{'not checked' if reuse is None else reuse}")
    for f in failures:
        print(f"load: FAILED {f}", file=sys.stderr)
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the refresh loops")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients, one user each")
    parser.add_argument("--url", help="a running local stack (default: start one as flow.py does)")
    args = parser.parse_args()
    if args.url:
        return 1 if run(args.url, args.seconds, args.clients) else 0

    from flow import LOG_DIR, ROOT, Stack  # the same stack as `make e2e`

    (ROOT / ".local").mkdir(exist_ok=True)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    stack = Stack()
    try:
        stack.wait_ready()
        failures = run(stack.base, args.seconds, args.clients, log_path=stack.log.name)
    finally:
        stack.stop()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
