# SPDX-License-Identifier: Apache-2.0
"""The streaming server: Exec, Attach and PortForward URLs used by crictl v1.26.1.

The testproc class runs exec'd commands as host processes, so these tests exercise
cribd's side (tokens, HTTP upgrade, SPDY sessions, limits, port-forward into a pod's
network namespace) without a container runtime; test_oci.py runs the same clients
against runc.
"""
import http.client
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.parse

import grpc
import pytest
from conftest import create_container, pb, rpc_error, run_pod, wait_for
from test_crictl import CRICTL, crictl


def crictl_env(d):
    return dict(os.environ, CONTAINER_RUNTIME_ENDPOINT="unix://" + d.socket,
                IMAGE_SERVICE_ENDPOINT="unix://" + d.socket)


def exec_url(d, cid, cmd, **kw):
    kw.setdefault("stdout", True)
    return d.rs().Exec(pb.ExecRequest(container_id=cid, cmd=cmd, **kw)).url


def upgrade(url, protocol="v4.channel.k8s.io", upgrade_to="SPDY/3.1"):
    """Asks URL for an upgrade the way crictl does; returns (status, body, headers)."""
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    headers = {"X-Stream-Protocol-Version": protocol}
    if upgrade_to:
        headers.update({"Connection": "Upgrade", "Upgrade": upgrade_to})
    conn.request("POST", u.path, headers=headers)
    resp = conn.getresponse()
    body = resp.read() if resp.status != 101 else b""
    conn.close()
    return resp.status, body.decode(), dict(resp.getheaders())


def proc_with_cmdline(*argv):
    """Pids of processes whose command line is exactly ARGV."""
    want = "\0".join(argv) + "\0"
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/cmdline") as f:
                if f.read() == want:
                    pids.append(int(p))
        except OSError:
            pass
    return pids


@pytest.fixture
def ctr(cribd):
    pod, cfg = run_pod(cribd, name="streams")
    return pod, create_container(cribd, pod, cfg, command=["sleep", "600"])


def test_exec_output_streams_and_exit_code(cribd, ctr):
    _, cid = ctr
    r = crictl(cribd, "exec", cid, "sh", "-c", "echo out; echo err >&2; exit 7", check=False)
    assert r.returncode == 1
    assert r.stdout == "out\n"
    assert "err\n" in r.stderr
    assert "command terminated with exit code 7" in r.stderr
    assert crictl(cribd, "exec", cid, "echo", "hello").stdout == "hello\n"


def test_exec_stdin_reaches_eof(cribd, ctr):
    _, cid = ctr
    data = "".join(f"line {i}\n" for i in range(20000))  # 228 KiB: several data frames
    r = subprocess.run([CRICTL, "exec", "-i", cid, "sh", "-c", "cat; echo done"], input=data,
                       capture_output=True, text=True, env=crictl_env(cribd), timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == data + "done\n"


def test_exec_missing_command_fails(cribd, ctr):
    _, cid = ctr
    r = crictl(cribd, "exec", cid, "/no/such/binary", check=False)
    assert r.returncode != 0
    assert "cannot run" in r.stderr


# The client's first terminal size travels on the resize stream after the session opened,
# so a command may start before it lands (as with kubelet's streaming server): ask again.
# (busybox's `stty size` of a 0x0 terminal complains and still exits 0, hence the case.)
STTY_SIZE = ("for i in $(seq 1 50); do s=$(stty size 2>/dev/null); "
             "case $s in [1-9]*) echo $s; break;; esac; sleep 0.1; done")


def test_exec_tty_and_resize(cribd, ctr):
    _, cid = ctr
    # script(1) gives crictl a terminal of a known size; crictl sends it on the resize stream.
    cmd = f"stty cols 91 rows 13; {CRICTL} exec -it {cid} sh -c '{STTY_SIZE}'"
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True,
                       env=crictl_env(cribd), timeout=60)
    assert "13 91" in r.stdout, r.stdout + r.stderr
    cmd = f"{CRICTL} exec -it {cid} sh -c 'exit 4'"
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True,
                       env=crictl_env(cribd), timeout=60)
    assert "exit code 4" in r.stdout


def test_client_disconnect_kills_the_command(cribd, ctr):
    _, cid = ctr
    client = subprocess.Popen([CRICTL, "exec", cid, "sleep", "4242"], env=crictl_env(cribd),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        pids = wait_for(lambda: proc_with_cmdline("sleep", "4242"), what="the exec'd sleep")
        client.kill()
        client.wait()
        wait_for(lambda: not any(os.path.exists(f"/proc/{p}") and
                                 proc_with_cmdline("sleep", "4242") for p in pids),
                 what="the exec'd command to be killed")
    finally:
        if client.poll() is None:
            client.kill()


def test_tokens_are_single_use(cribd, ctr):
    _, cid = ctr
    url = exec_url(cribd, cid, ["true"])
    u = urllib.parse.urlparse(url)
    assert u.scheme == "http" and u.hostname == "127.0.0.1" and u.path.startswith("/exec/")
    status, body, headers = upgrade(url)
    assert status == 101
    assert headers.get("X-Stream-Protocol-Version") == "v4.channel.k8s.io"
    status, body, _ = upgrade(url)
    assert status == 404 and "unknown or was used" in body
    # A token works only for its own kind of request.
    token = u.path.split("/")[-1]
    status, body, _ = upgrade(url.replace("/exec/", "/attach/"))
    assert status == 404


def test_upgrade_requirements(cribd, ctr):
    _, cid = ctr
    status, body, _ = upgrade(exec_url(cribd, cid, ["true"]), upgrade_to=None)
    assert status == 400 and "SPDY/3.1" in body
    status, body, _ = upgrade(exec_url(cribd, cid, ["true"]), protocol="v1.channel.k8s.io")
    assert status == 403 and "v4.channel.k8s.io" in body
    base = exec_url(cribd, cid, ["true"]).rsplit("/exec/", 1)[0]
    status, body, _ = upgrade(base + "/nothing/here")
    assert status == 404


def test_tokens_expire(make_cribd):
    d = make_cribd(extra="stream_token_ttl = 1\n").start()
    pod, cfg = run_pod(d, name="expire")
    cid = create_container(d, pod, cfg)
    url = exec_url(d, cid, ["true"])
    time.sleep(1.5)
    status, body, _ = upgrade(url)
    assert status == 404 and "expired" in body


def test_sessions_per_container_are_limited(make_cribd):
    d = make_cribd(extra="stream_max_per_object = 1\n").start()
    pod, cfg = run_pod(d, name="limit")
    cid = create_container(d, pod, cfg)
    first = subprocess.Popen([CRICTL, "exec", cid, "sleep", "4343"], env=crictl_env(d),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: proc_with_cmdline("sleep", "4343"), what="the first session")
        status, body, _ = upgrade(exec_url(d, cid, ["true"]))
        assert status == 429 and "stream_max_per_object = 1" in body
    finally:
        first.kill()
        first.wait()
    wait_for(lambda: upgrade(exec_url(d, cid, ["true"]))[0] == 101, what="the slot to free up")


def test_idle_sessions_end(make_cribd):
    d = make_cribd(extra="stream_idle_timeout = 1\n").start()
    pod, cfg = run_pod(d, name="idle")
    cid = create_container(d, pod, cfg)
    client = subprocess.Popen([CRICTL, "exec", cid, "sleep", "4848"], env=crictl_env(d),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: proc_with_cmdline("sleep", "4848"), what="the exec'd sleep")
        # No byte either way for a second: cribd ends the session and the command with it.
        client.wait(timeout=10)
        wait_for(lambda: not proc_with_cmdline("sleep", "4848"), what="the command to end")
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


def test_a_client_that_does_not_read_holds_little_memory(cribd, ctr):
    import websocket

    _, cid = ctr
    url = exec_url(cribd, cid, ["yes", "crib"])
    before = rss_kb(cribd.proc.pid)
    ws = websocket.create_connection(url.replace("http://", "ws://"),
                                     subprotocols=["v4.channel.k8s.io"], timeout=10)
    try:
        # The command writes as fast as it can; the client reads nothing for 3 s.
        time.sleep(3)
        grown = rss_kb(cribd.proc.pid) - before
        assert grown < 16 * 1024, f"cribd grew by {grown} KiB for one stalled client"
        # Paced, not cut off: the command still runs (a session over its output bound ends).
        assert proc_with_cmdline("yes", "crib")
        # The session is still alive and delivers once the client reads.
        op, msg = ws.recv_data()
        assert msg[0] == 1 and msg[1:].startswith(b"crib\ncrib\n"), msg[:300]
    finally:
        ws.close()
    wait_for(lambda: not proc_with_cmdline("yes", "crib"), what="the command to be killed")


def test_bad_requests(cribd, ctr):
    _, cid = ctr
    e = rpc_error(lambda: cribd.rs().Exec(pb.ExecRequest(container_id=cid, cmd=["true"])))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT and "stdin, stdout" in e.details()
    e = rpc_error(lambda: exec_url(cribd, cid, ["true"], tty=True, stderr=True))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT and "tty and stderr" in e.details()
    e = rpc_error(lambda: exec_url(cribd, cid, []))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT and "cmd" in e.details()
    e = rpc_error(lambda: exec_url(cribd, "f" * 64, ["true"]))
    assert e.code() == grpc.StatusCode.NOT_FOUND
    e = rpc_error(lambda: cribd.rs().Attach(pb.AttachRequest(container_id=cid, stdin=True,
                                                             stdout=True)))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT and "without stdin" in e.details()
    e = rpc_error(lambda: cribd.rs().PortForward(pb.PortForwardRequest(
        pod_sandbox_id="f" * 64)))
    assert e.code() == grpc.StatusCode.NOT_FOUND
    cribd.rs().StopContainer(pb.StopContainerRequest(container_id=cid, timeout=0))
    e = rpc_error(lambda: exec_url(cribd, cid, ["true"]))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION


def serve_http_in(netns, port, body):
    """A one-file HTTP server on 127.0.0.1:PORT inside NETNS (a child of this test)."""
    script = ("import http.server,sys\n"
              "class H(http.server.BaseHTTPRequestHandler):\n"
              "    def do_GET(self):\n"
              "        b=sys.argv[2].encode()*int(sys.argv[3])\n"
              "        self.send_response(200); self.send_header('Content-Length',str(len(b)))\n"
              "        self.end_headers(); self.wfile.write(b)\n"
              "    def log_message(self,*a): pass\n"
              "s=http.server.HTTPServer(('127.0.0.1',int(sys.argv[1])),H)\n"
              "print('ready', flush=True)\n"
              "s.serve_forever()\n")
    server = subprocess.Popen(["nsenter", f"--net={netns}", "/usr/bin/python3", "-c", script,
                               str(port), body, "100000"], stdout=subprocess.PIPE, text=True)
    # A connection refused ends crictl's whole port-forward: the server must listen first.
    assert server.stdout.readline() == "ready\n"
    return server


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/")
    resp = conn.getresponse()
    return resp.status, resp.read()


def test_port_forward_into_the_pod(cribd, ctr):
    pod, _ = ctr
    server = serve_http_in(cribd.netns_path(pod), 8080, "crib!")
    local = free_port()
    fwd = subprocess.Popen([CRICTL, "port-forward", pod, f"{local}:8080"],
                           env=crictl_env(cribd), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    try:
        assert "Forwarding from" in fwd.stdout.readline()

        def served():
            try:
                return fetch(local)
            except OSError:
                return None

        status, body = wait_for(served, what="the page through port-forward", timeout=20)
        assert status == 200 and body == b"crib!" * 100000
        # Several connections at once share the session.
        results = []
        threads = [threading.Thread(target=lambda: results.append(fetch(local)))
                   for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [r[0] for r in results] == [200] * 4
    finally:
        fwd.kill()
        server.kill()
        fwd.wait()
        server.wait()


def test_port_forward_to_a_closed_port_reports_it(cribd, ctr):
    pod, _ = ctr
    local = free_port()
    fwd = subprocess.Popen([CRICTL, "port-forward", pod, f"{local}:9"], env=crictl_env(cribd),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert "Forwarding from" in fwd.stdout.readline()
        with pytest.raises((http.client.HTTPException, OSError)):
            wait_for(lambda: fetch(local), timeout=3)
        out, _ = fwd.communicate(timeout=10)
        assert "error forwarding port 9" in out and "Connection refused" in out
    finally:
        if fwd.poll() is None:
            fwd.kill()
            fwd.wait()


def ws_exec(url, protocol, send=(), close_stdin=False, timeout=10):
    """Runs a session over WebSocket (websocket-client); returns {channel: bytes}."""
    import websocket

    ws = websocket.create_connection(url.replace("http://", "ws://"), subprotocols=[protocol],
                                     timeout=timeout)
    assert ws.getsubprotocol() == protocol
    b64 = "base64" in protocol
    for channel, data in send:
        if b64:
            import base64
            ws.send(str(channel) + base64.b64encode(data).decode())
        else:
            ws.send_binary(bytes([channel]) + data)
    if close_stdin:
        ws.send_binary(bytes([255, 0]))
    got = {}
    while True:
        try:
            op, msg = ws.recv_data()
        except websocket.WebSocketConnectionClosedException:
            break
        if op == websocket.ABNF.OPCODE_CLOSE:
            break
        if b64:
            import base64
            channel, data = int(chr(msg[0])), base64.b64decode(msg[1:])
        else:
            channel, data = msg[0], msg[1:]
        if channel == 255:  # v5: the server closed a channel
            continue
        got[channel] = got.get(channel, b"") + data
    ws.close()
    return got


@pytest.mark.parametrize("protocol", ["v5.channel.k8s.io", "v4.channel.k8s.io",
                                      "v4.base64.channel.k8s.io"])
def test_exec_over_websocket(cribd, ctr, protocol):
    _, cid = ctr
    url = exec_url(cribd, cid, ["sh", "-c", "echo out; echo err >&2; exit 6"], stderr=True)
    got = ws_exec(url, protocol)
    assert got.get(1) == b"out\n" and got.get(2) == b"err\n"
    status = got.get(3, b"").decode()
    assert '"ExitCode"' in status and '"6"' in status and "NonZeroExitCode" in status
    url = exec_url(cribd, cid, ["echo", "fine"])
    got = ws_exec(url, protocol)
    assert got.get(1) == b"fine\n" and '"Success"' in got.get(3, b"").decode()


def test_websocket_v5_closes_stdin(cribd, ctr):
    _, cid = ctr
    url = exec_url(cribd, cid, ["sh", "-c", "cat; echo eof"], stdin=True)
    got = ws_exec(url, "v5.channel.k8s.io", send=[(0, b"abc\n")], close_stdin=True)
    assert got.get(1) == b"abc\neof\n"


def test_websocket_upgrade_requirements(cribd, ctr):
    import websocket

    _, cid = ctr
    url = exec_url(cribd, cid, ["true"]).replace("http://", "ws://")
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        websocket.create_connection(url, subprotocols=["v9.channel.k8s.io"], timeout=5)
    assert e.value.status_code == 403
    pod, _ = ctr
    # Port-forward has no channel to close: no v5, as with kubelet.
    url = cribd.rs().PortForward(pb.PortForwardRequest(pod_sandbox_id=pod, port=[80])).url
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        websocket.create_connection(url.replace("http://", "ws://"),
                                    subprotocols=["v5.channel.k8s.io"], timeout=5)
    assert e.value.status_code == 403


def ws_port_forward(url, protocol, requests):
    """Port-forward over WebSocket: sends REQUESTS {channel: bytes}; returns {channel: bytes}."""
    import websocket

    ws = websocket.create_connection(url.replace("http://", "ws://"), subprotocols=[protocol],
                                     timeout=10)
    for channel, data in requests.items():
        ws.send_binary(bytes([channel]) + data)
    got = {}
    while True:
        try:
            op, msg = ws.recv_data()
        except websocket.WebSocketConnectionClosedException:
            break
        if op == websocket.ABNF.OPCODE_CLOSE:
            break
        got[msg[0]] = got.get(msg[0], b"") + msg[1:]
    ws.close()
    return got


def test_port_forward_over_websocket(cribd, ctr):
    pod, _ = ctr
    server = serve_http_in(cribd.netns_path(pod), 8080, "ws!")
    try:
        url = cribd.rs().PortForward(pb.PortForwardRequest(pod_sandbox_id=pod,
                                                           port=[8080, 9])).url
        got = ws_port_forward(url, "v4.channel.k8s.io",
                              {0: b"GET / HTTP/1.0\r\nHost: pod\r\n\r\n"})
        # Every channel starts with its port, little-endian; then the data.
        assert got[0][:2] == (8080).to_bytes(2, "little")
        assert got[1][:2] == (8080).to_bytes(2, "little")
        assert got[0][2:].startswith(b"HTTP/1.0 200") and got[0].endswith(b"ws!" * 100000)
        # The second port has nothing listening: its error channel says so.
        assert got[2][:2] == (9).to_bytes(2, "little")
        assert b"error forwarding port 9" in got[3] and b"Connection refused" in got[3]
    finally:
        server.kill()
        server.wait()


# The oci backend: the same clients against real containers (runc, and runsc when present).

from test_oci import Pod, oci, runtime_param, skip_missing  # noqa: E402,F401
from test_shim import read_until  # noqa: E402


def run_crictl(d, *args, stdin=None, timeout=60):
    return subprocess.run([CRICTL, *args], input=stdin, capture_output=True, text=True,
                          env=crictl_env(d), timeout=timeout)


def check_exec(d, pod, exact_tty=True):
    """crictl exec in a container of POD: streams, exit codes, input, a terminal's size.
    With EXACT_TTY the terminal's size and name must show (see test_oci_exec)."""
    cid = pod.create("ctr")
    r = run_crictl(d, "exec", cid, "sh", "-c", "echo out; echo err >&2; exit 3")
    assert r.returncode == 1 and r.stdout == "out\n"
    assert "err\n" in r.stderr and "exit code 3" in r.stderr
    data = "".join(f"line {i}\n" for i in range(20000))
    r = run_crictl(d, "exec", "-i", cid, "sh", "-c", "cat; echo done", stdin=data)
    assert r.returncode == 0 and r.stdout == data + "done\n", r.stderr
    r = run_crictl(d, "exec", cid, "/no/such/binary")
    assert r.returncode != 0 and "no/such/binary" in r.stderr
    # A terminal of the client's size, inside the container's namespaces.
    cmd = f"stty cols 91 rows 13; {CRICTL} exec -it {cid} sh -c '{STTY_SIZE}; tty; exit 4'"
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True,
                       text=True, env=crictl_env(d), timeout=60)
    assert "exit code 4" in r.stdout, r.stdout
    assert not exact_tty or ("13 91" in r.stdout and "/dev/pts/" in r.stdout), r.stdout


@runtime_param()
def test_oci_exec(oci, handler):
    skip_missing(handler)
    pod = Pod(oci, handler, name=f"exec-{handler}")
    try:
        # runc: the size arrives and `tty` names the terminal.  runsc: gVisor's /proc names
        # no terminal, and under load its exec terminal sometimes misses the size or the
        # last output (open in the note), so only the exit code is held to it.
        check_exec(oci, pod, exact_tty=handler == "runc")
    finally:
        pod.teardown()


def test_oci_exec_client_disconnect_kills_the_command(oci):
    pod = Pod(oci, "runc", name="exec-gone")
    try:
        cid = pod.create("ctr")
        client = subprocess.Popen([CRICTL, "exec", cid, "sleep", "4646"], env=crictl_env(oci),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: proc_with_cmdline("sleep", "4646"), what="the exec'd sleep")
        client.kill()
        client.wait()
        wait_for(lambda: not proc_with_cmdline("sleep", "4646"),
                 what="the exec'd command to be killed")
        # The container itself is untouched.
        assert pod.status(cid).state == pb.CONTAINER_RUNNING
    finally:
        pod.teardown()


def check_attach(d, pod):
    """crictl attach -i to a shell of POD: the input reaches it, the output comes back,
    and the shell keeps running."""
    cid = pod.create("sh", command=["sh"], stdin=True)
    # crictl sends the input, and its end of input ends the attach (as with kubelet).
    r = run_crictl(d, "attach", "-i", cid, stdin="echo hello-attach\n")
    assert r.returncode == 0, r.stderr
    assert "hello-attach" in r.stdout
    # The shell still runs, and took the input as the container's own stdin.
    assert pod.status(cid).state == pb.CONTAINER_RUNNING
    assert "hello-attach" in open(pod.log_path("sh")).read()
    e = rpc_error(lambda: d.rs().Attach(pb.AttachRequest(container_id=cid, tty=True,
                                                         stdout=True)))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT and "tty" in e.details()


def check_attach_stdin_once(d, pod):
    """With stdin_once, the end of the first attach's input is the container's EOF."""
    cid = pod.create("cat", command=["sh", "-c", "cat; echo bye"], stdin=True,
                     stdin_once=True)
    r = run_crictl(d, "attach", "-i", cid, stdin="once\n")
    assert r.returncode == 0, r.stderr
    assert "once" in r.stdout
    status = pod.wait_exit(cid)
    assert status.exit_code == 0
    assert "bye" in open(pod.log_path("cat")).read()


@runtime_param()
def test_oci_attach(oci, handler):
    skip_missing(handler)
    pod = Pod(oci, handler, name=f"attach-{handler}")
    try:
        check_attach(oci, pod)
    finally:
        pod.teardown()


def test_oci_attach_stdin_once_ends_the_container(oci):
    pod = Pod(oci, "runc", name="attach-once")
    try:
        check_attach_stdin_once(oci, pod)
    finally:
        pod.teardown()


def attach_tty_91x13(d, cid):
    """crictl attach -it on a terminal of 91x13: the container's shell sees that size."""
    # script(1) gives crictl a terminal of a known size; our input is what is typed
    # there.  Its end would be a ^D to the container's shell: it stays open until the end.
    cmd = f"stty cols 91 rows 13; {CRICTL} attach -it {cid}"
    client = subprocess.Popen(["script", "-qec", cmd, "/dev/null"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              env=crictl_env(d))
    try:
        # The size comes on the resize stream, maybe after the command: wait for it.
        client.stdin.write(f"{STTY_SIZE}; echo hi-$((6*7))\n".encode())
        client.stdin.flush()
        out = read_until(client.stdout.fileno(), rb"hi-42", timeout=30)
        assert b"13 91" in out, out
    finally:
        client.terminate()
        client.wait(timeout=20)
        client.stdin.close()
        client.stdout.close()


def check_attach_tty(d, pod, exact_tty=True, name="sh"):
    """A container NAME of POD with a terminal: attach -it sees the client's size, the log
    holds the terminal's output as stdout, and exec -it gets a terminal of its own."""
    cid = pod.create(name, command=["sh"], stdin=True, tty=True)
    attach_tty_91x13(d, cid)
    attached = [CRICTL, "attach", "-it", cid]
    wait_for(lambda: not proc_with_cmdline(*attached), what="crictl attach to end")
    # Detaching leaves the container running; its terminal was its only output.
    assert pod.status(cid).state == pb.CONTAINER_RUNNING
    # Bytes: the terminal's \r must not split the log's lines.
    with open(pod.log_path(name), "rb") as f:
        log = f.read()
    assert re.search(rb"Z stdout [PF] [^\n]*hi-42", log), log
    assert b"Z stderr " not in log, log
    # An exec session has a terminal of its own, as before.
    cmd = f"stty cols 91 rows 13; {CRICTL} exec -it {cid} sh -c '{STTY_SIZE}; exit 4'"
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True,
                       text=True, env=crictl_env(d), timeout=60)
    assert "exit code 4" in r.stdout, r.stdout
    assert not exact_tty or "13 91" in r.stdout, r.stdout
    # A terminal's one output cannot be attached as two streams.
    e = rpc_error(lambda: d.rs().Attach(pb.AttachRequest(container_id=cid, stdout=True,
                                                         stderr=True)))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT and "tty" in e.details()


@runtime_param()
def test_oci_attach_tty(oci, handler):
    skip_missing(handler)
    pod = Pod(oci, handler, name=f"attach-tty-{handler}")
    try:
        # Under load runsc's exec terminal sometimes loses its size or its output (as in
        # test_oci_exec[runsc], before terminals in containers existed): runc's must not.
        check_attach_tty(oci, pod, exact_tty=handler == "runc")
    finally:
        pod.teardown()


# runc only: between two runsc sandboxes on one pod's host network, gVisor's sockets answer
# EAGAIN under load (wget in one sandbox fails to reach httpd in the other), whatever cribd does.
def check_port_forward(d, pod):
    """crictl port-forward to httpd in a container of POD, with a page of 1 MiB."""
    pod.create("web", command=["sh", "-c", "mkdir -p /www && yes crib-pf | head -c 1048576"
                               " > /www/index.html && exec httpd -f -p 8080 -h /www"])
    cid = pod.create("probe")
    wait_for(lambda: pod.exec(cid, ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
                              ).exit_code == 0, what="httpd in the pod")
    local = free_port()
    fwd = subprocess.Popen([CRICTL, "port-forward", pod.id, f"{local}:8080"],
                           env=crictl_env(d), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    try:
        assert "Forwarding from" in fwd.stdout.readline()
        for _ in range(2):
            status, body = fetch(local)
            assert status == 200 and body == (b"crib-pf\n" * 131072)[:1048576]
    finally:
        fwd.kill()
        fwd.wait()


def test_oci_port_forward(oci):
    pod = Pod(oci, "runc", name="pf")
    try:
        check_port_forward(oci, pod)
    finally:
        pod.teardown()
