#!/usr/bin/env python3
"""Opens a page in headless Chromium and reports what its console said.

usage: report_browser.py CHROMIUM PAGE.html SCREENSHOT.png DOM.html WIDTH HEIGHT

Drives Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe:
no port, no network), because `--enable-logging=stderr` logs every console
message as INFO whatever its level, and does not log a resource that failed to
load at all. Prints one line per console message of level warning or error,
uncaught exception and failed load ("console: LEVEL: TEXT"), writes the
screenshot and the DOM after load, and exits 0 whether or not there were
messages (the caller decides); exits 1 when the browser could not be driven.
"""

import base64
import fcntl
import json
import os
import subprocess
import sys
import tempfile
import time

TIMEOUT_S = 60  # the whole visit; a hung browser fails the test instead of CI


def high_fd(fd):
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


class Browser:
    def __init__(self, chromium, width, height, profile):
        # Chromium reads commands on fd 3 and writes replies and events on fd 4;
        # the pipe ends are moved above 10 first so that dup2 cannot clobber one.
        cmd_r, self.cmd_w = map(high_fd, os.pipe())
        self.out_r, out_w = map(high_fd, os.pipe())

        def child_fds():
            os.dup2(cmd_r, 3)
            os.dup2(out_w, 4)

        self.proc = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--remote-debugging-pipe", "--user-data-dir=" + profile,
             "--no-first-run", "--hide-scrollbars",
             "--window-size=%d,%d" % (width, height), "about:blank"],
            preexec_fn=child_fds, pass_fds=(3, 4),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(cmd_r)
        os.close(out_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []
        self.deadline = time.monotonic() + TIMEOUT_S

    def _read_message(self):
        while b"\0" not in self.buffer:
            if time.monotonic() > self.deadline:
                raise TimeoutError("Chromium did not answer within %d s" % TIMEOUT_S)
            chunk = os.read(self.out_r, 1 << 16)
            if not chunk:
                raise EOFError("Chromium closed its DevTools pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, session=None, **params):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self.cmd_w, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read_message()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError("%s: %s" % (method, reply["error"]))
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method):
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(i)
        while True:
            event = self._read_message()
            if event.get("method") == method:
                return event
            self.events.append(event)

    def close(self):
        try:
            self.call("Browser.close")
        except (EOFError, OSError, RuntimeError, TimeoutError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def complaints(events):
    """The console messages of level warning/error, exceptions and failed loads."""
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            yield "%s: %s" % (params["type"], text)
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            yield "exception: %s" % details.get("exception", {}).get("description", details["text"])
        elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
            entry = params["entry"]
            yield "%s: %s %s" % (entry["level"], entry["text"], entry.get("url", ""))


def main():
    chromium, page, screenshot, dom = sys.argv[1:5]
    width, height = int(sys.argv[5]), int(sys.argv[6])
    with tempfile.TemporaryDirectory(prefix="shoal-chromium-") as profile:
        browser = Browser(chromium, width, height, profile)
        try:
            target = browser.call("Target.createTarget", url="about:blank")["targetId"]
            session = browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            for domain in ("Runtime", "Log", "Page"):
                browser.call(domain + ".enable", session)
            # The window's size less its (invisible) frame: set the page's own.
            browser.call("Emulation.setDeviceMetricsOverride", session, width=width,
                         height=height, deviceScaleFactor=1, mobile=False)
            browser.call("Page.navigate", session, url="file://" + os.path.abspath(page))
            browser.wait_for("Page.loadEventFired")
            # A round trip after load: messages logged during load arrive before its reply.
            html = browser.call("Runtime.evaluate", session,
                                expression="document.documentElement.outerHTML")["result"]["value"]
            shot = browser.call("Page.captureScreenshot", session, format="png",
                                captureBeyondViewport=False)["data"]
        except (EOFError, OSError, RuntimeError, TimeoutError, KeyError) as e:
            print("report_browser: cannot drive %s: %r" % (chromium, e), file=sys.stderr)
            return 1
        finally:
            browser.close()
    with open(screenshot, "wb") as f:
        f.write(base64.b64decode(shot))
    with open(dom, "w") as f:
        f.write(html)
    for line in complaints(browser.events):
        print("console: " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
