# SPDX-License-Identifier: Apache-2.0
"""cribctl, the admin API's command-line client, against a running cribd.

Every command in both output forms, the errors and exit codes, following
logs, top on a container that burns CPU, and pagination (CRIBCTL_PAGE_SIZE=1
makes cribctl follow continue tokens across every item).
"""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import BUILD, create_container, free_port, run_pod, wait_for

# CRIBCTL runs another build's cribctl (a sanitizer build) against this build's cribd.
CRIBCTL = os.environ.get("CRIBCTL") or os.path.join(BUILD, "cribctl", "cribctl")
BURN = ["sh", "-c", "while :; do :; done"]


def cribctl(d, *args, check=True, env=None, timeout=60, endpoint=None):
    """Runs cribctl against D's admin socket (or ENDPOINT's arguments)."""
    endpoint = ["--socket", d.admin_socket] if endpoint is None else endpoint
    r = subprocess.run([CRIBCTL, *endpoint, *args], capture_output=True, text=True,
                       env=dict(os.environ, **(env or {})), timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"cribctl {' '.join(args)} exited {r.returncode}:\n"
                             f"{r.stdout}{r.stderr}")
    return r


def bare(*args, env=None):
    """cribctl with no daemon in sight."""
    return subprocess.run([CRIBCTL, *args], capture_output=True, text=True,
                          env=dict(os.environ, **(env or {})), timeout=30)


def table(out):
    """A cribctl table as a list of {header: cell}; columns are 3+ spaces apart."""
    lines = out.splitlines()
    headers = re.split(r" {3,}", lines[0])
    starts, pos = [], 0
    for h in headers:
        pos = lines[0].index(h, pos)
        starts.append(pos)
        pos += len(h)
    rows = []
    for line in lines[1:]:
        cells = [line[s:e].strip() for s, e in zip(starts, starts[1:] + [None])]
        rows.append(dict(zip(headers, cells)))
    return rows


def items(d, *args, **kw):
    return json.loads(cribctl(d, *args, "-o", "json", **kw).stdout)["items"]


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=10)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def raw_get(d, path):
    conn = UnixHTTPConnection(d.admin_socket)
    conn.request("GET", path)
    resp = conn.getresponse()
    return resp.status, json.loads(resp.read())


@pytest.fixture
def admin(cribd):
    """cribd once its admin socket answers."""
    wait_for(lambda: cribctl(cribd, "backends", check=False).returncode == 0,
             what="the admin socket")
    return cribd


def logged_pod(d, **kw):
    return run_pod(d, log_directory=d.logs, **kw)


def test_version_and_help():
    r = bare("--version")
    assert r.returncode == 0 and r.stdout == "cribctl 0.1.0\n"
    r = bare("--help")
    assert r.returncode == 0
    for word in ["backends", "classes", "pods", "ps", "inspect", "logs", "reload", "top",
                 "CRIB_ADMIN_SOCKET", "CRIBCTL_PAGE_SIZE", "/run/crib/admin.sock"]:
        assert word in r.stdout
    r = bare("ps", "--help")
    assert r.returncode == 0 and "ps [-a]" in r.stdout


@pytest.mark.parametrize("args", [
    [],
    ["frobnicate"],
    ["--bogus", "pods"],
    ["pods", "--bogus"],
    ["pods", "extra"],
    ["backends", "--all"],
    ["logs"],
    ["logs", "a", "b"],
    ["logs", "--tail", "-1", "abc"],
    ["inspect"],
    ["top", "-d", "0"],
    ["top", "-d", "x"],
    ["top", "-n", "0"],
    ["-o", "yaml", "pods"],
    ["pods", "-o"],
    ["--url", "http://127.0.0.1:1", "pods"],
    ["--token-file", "/dev/null", "pods"],
    ["--socket", "/x", "--url", "http://127.0.0.1:1", "--token-file", "/dev/null", "pods"],
])
def test_bad_usage_exits_2(args):
    r = bare(*args, env={"CRIB_ADMIN_SOCKET": "/nonexistent/admin.sock"})
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("cribctl: ") and "--help" in r.stderr
    assert r.stdout == ""


def test_bad_page_size_exits_2():
    r = bare("pods", env={"CRIBCTL_PAGE_SIZE": "0"})
    assert r.returncode == 2 and "CRIBCTL_PAGE_SIZE" in r.stderr


def test_no_daemon_names_the_socket(tmp_path):
    sock = str(tmp_path / "nobody.sock")
    r = bare("--socket", sock, "pods")
    assert r.returncode == 1
    assert sock in r.stderr and r.stderr.startswith("cribctl: ")
    # The environment sets the default socket; --socket beats it.
    r = bare("ps", env={"CRIB_ADMIN_SOCKET": sock})
    assert r.returncode == 1 and sock in r.stderr
    r = bare("--socket", sock + "2", "ps", env={"CRIB_ADMIN_SOCKET": sock})
    assert r.returncode == 1 and sock + "2" in r.stderr
    # A socket file that nobody listens on.
    s = socket.socket(socket.AF_UNIX)
    s.bind(sock)
    s.close()
    r = bare("--socket", sock, "backends")
    assert r.returncode == 1 and sock in r.stderr and "refused" in r.stderr.lower()
    r = bare("--url", f"http://127.0.0.1:{free_port()}", "--token-file", "/dev/null", "pods")
    assert r.returncode == 1


def test_env_socket(admin):
    r = subprocess.run([CRIBCTL, "classes"], capture_output=True, text=True,
                       env=dict(os.environ, CRIB_ADMIN_SOCKET=admin.admin_socket))
    assert r.returncode == 0 and table(r.stdout)[0]["NAME"] == "proc"


def test_backends(admin):
    out = cribctl(admin, "backends").stdout
    assert out.splitlines()[0].split() == ["NAME", "STATUS", "ABI", "CLASSES", "PODS",
                                           "CONTAINERS", "CAPABILITIES", "MESSAGE"]
    rows = {r["NAME"]: r for r in table(out)}
    tp = rows["testproc"]
    assert tp["STATUS"] == "healthy" and tp["CLASSES"] == "proc"
    assert tp["PODS"] == "0" and tp["CONTAINERS"] == "0" and tp["MESSAGE"] == ""
    assert re.fullmatch(r"\d+\.\d+", tp["ABI"])
    js = {b["name"]: b for b in items(admin, "backends")}
    assert js["testproc"]["runtime_classes"] == ["proc"]
    assert tp["CAPABILITIES"] == (",".join(js["testproc"].get("capabilities", [])) or "-")
    # -o goes before or after the command.
    again = json.loads(cribctl(admin, "-o", "json", "backends").stdout)["items"]
    assert [b["name"] for b in again] == [b["name"] for b in js.values()]


def test_unhealthy_backend_shows_its_message(make_cribd):
    d = make_cribd(classes={"proc": "backend = testproc", "bad": "backend = testfail"},
                   backends={"testfail": "fail_init = true"}).start()
    wait_for(lambda: cribctl(d, "backends", check=False).returncode == 0, what="admin socket")
    rows = {r["NAME"]: r for r in table(cribctl(d, "backends").stdout)}
    assert rows["testfail"]["STATUS"] != "healthy"
    assert rows["testfail"]["MESSAGE"] != ""
    bad = {c["name"]: c for c in items(d, "classes")}["bad"]
    assert bad["status"] != "ready"


def test_classes(admin):
    out = cribctl(admin, "classes").stdout
    assert out.splitlines()[0].split() == ["NAME", "BACKEND", "DEFAULT", "STATUS", "PODS",
                                           "SOURCE", "MESSAGE"]
    row = table(out)[0]
    assert row["NAME"] == "proc" and row["BACKEND"] == "testproc" and row["DEFAULT"] == "true"
    assert row["STATUS"] == "ready" and row["PODS"] == "0"
    assert row["SOURCE"].startswith(os.path.join(admin.conf_d, "10-classes.conf") + ":")
    js = items(admin, "classes")
    assert [c["name"] for c in js] == ["proc"] and js[0]["default"] is True


def test_pods(admin):
    p1, _ = run_pod(admin, name="web", namespace="prod")
    p2, _ = run_pod(admin, name="db", namespace="dev", attempt=2)
    out = cribctl(admin, "pods").stdout
    assert out.splitlines()[0].split() == ["POD", "ID", "CREATED", "STATE", "NAME", "NAMESPACE",
                                           "ATTEMPT", "CLASS", "BACKEND"]
    rows = {r["NAME"]: r for r in table(out)}
    assert set(rows) == {"web", "db"}
    web, db = rows["web"], rows["db"]
    assert web["POD ID"] == p1[:13] and db["POD ID"] == p2[:13]
    assert web["STATE"] == "ready" and web["NAMESPACE"] == "prod" and web["ATTEMPT"] == "0"
    assert db["ATTEMPT"] == "2" and db["CLASS"] == "proc" and db["BACKEND"] == "testproc"
    assert re.fullmatch(r"\d+ seconds? ago", web["CREATED"]), web["CREATED"]

    js = items(admin, "pods")
    assert sorted(p["id"] for p in js) == sorted([p1, p2])
    assert [p["id"] for p in items(admin, "pods", "--namespace", "dev")] == [p2]
    assert [p["NAME"] for p in table(cribctl(admin, "pods", "--namespace", "prod").stdout)] \
        == ["web"]
    assert len(items(admin, "pods", "-b", "testproc", "-c", "proc")) == 2
    assert items(admin, "pods", "--backend", "nope") == []
    assert items(admin, "pods", "--class", "nope") == []
    assert len(items(admin, "pods", "-s", "ready")) == 2
    assert table(cribctl(admin, "pods", "--namespace", "none").stdout) == []


def test_ps(admin):
    pid, pcfg = run_pod(admin, name="web")
    other, ocfg = run_pod(admin, name="other")
    running = create_container(admin, pid, pcfg, name="app", attempt=1)
    created = create_container(admin, pid, pcfg, name="sidecar", start=False)
    elsewhere = create_container(admin, other, ocfg, name="lone")
    out = cribctl(admin, "ps").stdout
    assert out.splitlines()[0].split() == ["CONTAINER", "IMAGE", "CREATED", "STATE", "NAME",
                                           "ATTEMPT", "POD", "ID", "POD", "BACKEND"]
    rows = {r["NAME"]: r for r in table(out)}
    assert set(rows) == {"app", "lone"}
    app = rows["app"]
    assert app["CONTAINER"] == running[:13] and app["IMAGE"] == "busybox"
    assert app["STATE"] == "running" and app["ATTEMPT"] == "1"
    assert app["POD ID"] == pid[:13] and app["POD"] == "web" and app["BACKEND"] == "testproc"
    assert app["CREATED"].endswith(" ago")

    every = {c["name"]: c for c in items(admin, "ps", "-a")}
    assert set(every) == {"app", "sidecar", "lone"}
    assert every["sidecar"]["id"] == created and every["sidecar"]["state"] == "created"
    assert [c["NAME"] for c in table(cribctl(admin, "ps", "--all").stdout)].count("sidecar") == 1
    assert [c["id"] for c in items(admin, "ps", "-s", "created")] == [created]
    assert sorted(c["id"] for c in items(admin, "ps", "-a", "--pod", pid)) \
        == sorted([running, created])
    assert [c["id"] for c in items(admin, "ps", "-p", other[:8])] == [elsewhere]
    assert items(admin, "ps", "--namespace", "nope") == []


def test_inspect(admin):
    pid, pcfg = run_pod(admin, name="web")
    cid = create_container(admin, pid, pcfg, name="app")
    for args in [[cid], [cid[:10]], ["-o", "table", cid], ["-o", "json", cid]]:
        out = cribctl(admin, "inspect", *args).stdout
        doc = json.loads(out)
        assert doc["id"] == cid and doc["pod_id"] == pid and doc["state"] == "running"
        # Pretty-printed with two spaces.
        assert out.startswith('{\n  "')
    doc = json.loads(cribctl(admin, "inspect", pid[:12]).stdout)
    assert doc["id"] == pid and [c["id"] for c in doc["containers"]] == [cid]

    r = cribctl(admin, "inspect", "deadbeef", check=False)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("cribctl: ") and "(HTTP 404)" in r.stderr
    assert "deadbeef" in r.stderr
    # Not an id at all: the server says so (escaped, it cannot name another route).
    r = cribctl(admin, "inspect", "not-hex/..", check=False)
    assert r.returncode == 1 and re.search(r"\(HTTP 4\d\d\)", r.stderr)


def test_server_errors_exit_1_with_its_message(admin):
    status, body = raw_get(admin, "/v1/containers?state=bogus")
    r = cribctl(admin, "ps", "-s", "bogus", check=False)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr == f"cribctl: {body['message']} (HTTP {status})\n"
    status, body = raw_get(admin, "/v1/containers/abcdef0123/logs")
    r = cribctl(admin, "logs", "abcdef0123", check=False)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr == f"cribctl: {body['message']} (HTTP {status})\n"


def test_logs_tail_and_timestamps(admin):
    pid, pcfg = logged_pod(admin)
    cid = create_container(admin, pid, pcfg, log_path="c.log",
                           command=["sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done; "
                                                "printf partial; sleep 600"])
    want = "line1\nline2\nline3\nline4\nline5\npartial"
    wait_for(lambda: cribctl(admin, "logs", cid).stdout == want, what="the log lines")
    assert cribctl(admin, "logs", "--tail", "2", cid[:12]).stdout == "line5\npartial"
    assert cribctl(admin, "logs", "--tail", "0", cid).stdout == ""
    stamped = cribctl(admin, "logs", "--timestamps", "--tail", "2", cid).stdout
    lines = stamped.split("\n")
    assert len(lines) == 2
    for line, text in zip(lines, ["line5", "partial"]):
        ts, rest = line.split(" ", 1)
        assert rest == text and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", ts)
    assert cribctl(admin, "logs", "-t", cid).stdout.count("Z line") == 5


def test_logs_follow_streams_until_exit(admin):
    pid, pcfg = logged_pod(admin)
    cid = create_container(admin, pid, pcfg, log_path="f.log",
                           command=["sh", "-c", "echo first; sleep 1.5; for i in 1 2 3; do "
                                                "echo tick$i; sleep 0.5; done"])
    proc = subprocess.Popen([CRIBCTL, "--socket", admin.admin_socket, "logs", "-f", cid],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # The first line shows while the container still runs: cribctl does not buffer.
        first = proc.stdout.readline()
        assert first == "first\n"
        assert proc.poll() is None
        rest, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert rest == "tick1\ntick2\ntick3\n"
    # Following a container that has exited gives everything and ends.
    assert cribctl(admin, "logs", "-f", "--tail", "1", cid, timeout=20).stdout == "tick3\n"


def test_logs_follow_stops_on_ctrl_c(admin):
    pid, pcfg = logged_pod(admin)
    cid = create_container(admin, pid, pcfg, log_path="c.log",
                           command=["sh", "-c", "echo up; exec sleep 600"])
    proc = subprocess.Popen([CRIBCTL, "--socket", admin.admin_socket, "logs", "-f", cid],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "up\n"
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGINT
    proc.stdout.close()
    proc.stderr.close()


def test_reload(admin):
    out = cribctl(admin, "reload").stdout
    assert [r["NAME"] for r in table(out)] == ["proc"]
    admin.write_classes({"proc": "backend = testproc", "proc2": "backend = testproc"})
    rows = {r["NAME"]: r for r in table(cribctl(admin, "reload").stdout)}
    assert set(rows) >= {"proc", "proc2"}
    assert rows["proc2"]["STATUS"] == "ready" and rows["proc2"]["DEFAULT"] == "false"
    doc = json.loads(cribctl(admin, "reload", "-o", "json").stdout)
    assert "proc2" in [c["name"] for c in doc["items"]]
    assert "proc2" in [c["name"] for c in items(admin, "classes")]


def top_json(d, *args):
    out = cribctl(d, "top", "-o", "json", *args, timeout=30).stdout
    return [json.loads(line) for line in out.splitlines()]


def test_top(admin):
    pid, pcfg = run_pod(admin, name="busy")
    burner = create_container(admin, pid, pcfg, name="burner", command=BURN)
    idle = create_container(admin, pid, pcfg, name="idle", command=["sleep", "600"])
    create_container(admin, pid, pcfg, name="notstarted", start=False)

    start = time.monotonic()
    displays = top_json(admin, "-n", "1", "-d", "0.5")
    assert 0.5 <= time.monotonic() - start < 20
    assert len(displays) == 1
    rows = displays[0]
    assert [r["name"] for r in rows] == ["burner", "idle"]  # by CPU, running only
    burn = rows[0]
    assert set(burn) == {"id", "name", "pod", "backend", "cpu_percent",
                         "memory_working_set_bytes"}
    assert burn["id"] == burner and burn["pod"] == "busy" and burn["backend"] == "testproc"
    assert burn["cpu_percent"] > 30, rows
    assert burn["memory_working_set_bytes"] > 0
    assert rows[1]["id"] == idle and rows[1]["cpu_percent"] < 10

    # -n COUNT displays, one JSON array a line; fractions of seconds.
    assert len(top_json(admin, "-n", "2", "-d", "0.25")) == 2

    out = cribctl(admin, "top", "-n", "1", "-d", "0.5", timeout=30).stdout
    # Not a terminal: no screen clearing.
    assert "\033" not in out
    assert out.splitlines()[0].split() == ["CONTAINER", "NAME", "POD", "BACKEND", "CPU%", "MEM"]
    trows = table(out)
    assert trows[0]["CONTAINER"] == burner[:13] and trows[0]["NAME"] == "burner"
    assert float(trows[0]["CPU%"]) > 30
    assert re.fullmatch(r"\d+(\.\d)?(B|KiB|MiB|GiB)", trows[0]["MEM"])


def test_top_without_containers(admin):
    assert top_json(admin, "-n", "1", "-d", "0.1") == [[]]
    out = cribctl(admin, "top", "-n", "1", "-d", "0.1").stdout
    assert out.split() == ["CONTAINER", "NAME", "POD", "BACKEND", "CPU%", "MEM"]


def test_pagination_follows_continue_tokens(admin):
    made = [run_pod(admin, name=f"p{i}") for i in range(3)]
    pods = sorted(pid for pid, _ in made)
    # The server pages as asked: one pod and a token.
    status, page = raw_get(admin, "/v1/pods?limit=1")
    assert status == 200 and len(page["items"]) == 1 and page.get("continue")
    one = {"CRIBCTL_PAGE_SIZE": "1"}
    assert sorted(p["id"] for p in items(admin, "pods", env=one)) == pods
    assert sorted(r["POD ID"] for r in table(cribctl(admin, "pods", env=one).stdout)) \
        == [p[:13] for p in pods]
    # Containers likewise, with the state filter kept on every page.
    ctrs = [create_container(admin, pid, cfg, name=f"c{i}") for i, (pid, cfg) in enumerate(made)]
    create_container(admin, made[0][0], made[0][1], name="idle", start=False)
    assert sorted(c["id"] for c in items(admin, "ps", env=one)) == sorted(ctrs)
    assert len(items(admin, "ps", "-a", env={"CRIBCTL_PAGE_SIZE": "2"})) == 4


@pytest.mark.parametrize("tls", [False, True])
def test_tcp_with_token(make_cribd, tmp_path, tls):
    port = free_port()
    token = "cribctl-" + "t" * 24
    (tmp_path / "token").write_text(token + "\n")
    (tmp_path / "wrong").write_text("nope\n")
    extra = f"admin_address = 127.0.0.1:{port}\nadmin_token_file = {tmp_path}/token\n"
    scheme, tls_args = "http", []
    if tls:
        from test_admin import tls_files
        cert, key = tls_files(str(tmp_path))
        extra += f"admin_tls_cert = {cert}\nadmin_tls_key = {key}\n"
        scheme, tls_args = "https", ["--cacert", cert]
    d = make_cribd(extra=extra).start()
    url = f"{scheme}://127.0.0.1:{port}"
    ok = ["--url", url, "--token-file", str(tmp_path / "token"), *tls_args]
    wait_for(lambda: cribctl(d, "classes", check=False, endpoint=ok).returncode == 0,
             what="the TCP listener")
    assert table(cribctl(d, "classes", endpoint=ok).stdout)[0]["NAME"] == "proc"
    pid, _ = run_pod(d, name="remote")
    assert [p["id"] for p in items(d, "pods", endpoint=ok)] == [pid]

    r = cribctl(d, "pods", check=False,
                endpoint=["--url", url, "--token-file", str(tmp_path / "wrong"), *tls_args])
    assert r.returncode == 1 and "(HTTP 401)" in r.stderr
    r = cribctl(d, "pods", check=False,
                endpoint=["--url", url, "--token-file", str(tmp_path / "none"), *tls_args])
    assert r.returncode == 1 and str(tmp_path / "none") in r.stderr
    if tls:
        # Without the CA the server's certificate is refused.
        r = cribctl(d, "pods", check=False,
                    endpoint=["--url", url, "--token-file", str(tmp_path / "token")])
        assert r.returncode == 1 and url in r.stderr
