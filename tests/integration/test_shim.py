# SPDX-License-Identifier: Apache-2.0
"""crib-shim, the oci backend's per-container monitor, against real runc (no cribd).

Each test builds a busybox bundle in its own tmp dir and drives runc with
--root inside that dir, so no one else's runc state is touched.
"""
import calendar
import errno
import fcntl
import json
import os
import re
import select
import shutil
import signal
import socket
import stat
import struct
import subprocess
import termios
import time
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("CRIB_BUILD_DIR", os.path.join(ROOT, "build"))
SHIM = os.path.join(BUILD, "plugins", "crib-shim")
RUNC = shutil.which("runc") or "/usr/sbin/runc"
BUSYBOX = next((p for p in ("/bin/busybox", "/usr/bin/busybox") if os.path.exists(p)), None)

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="runc needs root"),
    pytest.mark.skipif(not os.access(RUNC, os.X_OK), reason="runc is not installed"),
    pytest.mark.skipif(BUSYBOX is None, reason="busybox is not installed (busybox-static)"),
    pytest.mark.skipif(not os.access(SHIM, os.X_OK), reason=f"{SHIM} is not built"),
]

CRI_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) (stdout|stderr) ([PF]) (.*)$")


class Ctr:
    """One container's bundle, runc root and shim dir, and the shim that runs it."""

    def __init__(self, base, args, stdin=False, log=True, runtime_args=(), tty=False):
        self.base = str(base)
        self.id = "crib-shim-test-" + uuid.uuid4().hex[:12]
        self.bundle = os.path.join(self.base, "bundle")
        self.runc_root = os.path.join(self.base, "runc-root")
        self.dir = os.path.join(self.base, "shim")
        self.log = os.path.join(self.base, "logs", "ctr.log") if log else None
        self.stdin = stdin
        self.tty = tty
        self.runtime_args = ["--root", self.runc_root, *runtime_args]
        self.runtime = RUNC
        self.monitor_exit = False
        self.shim_pid = None
        self.spawner = None
        os.makedirs(self.dir)
        self._make_bundle(args)

    @property
    def rootfs(self):
        return os.path.join(self.bundle, "rootfs")

    def _make_bundle(self, args):
        bindir = os.path.join(self.rootfs, "bin")
        os.makedirs(bindir)
        for d in ("proc", "sys", "dev", "tmp"):
            os.makedirs(os.path.join(self.rootfs, d))
        shutil.copy2(BUSYBOX, os.path.join(bindir, "busybox"))
        applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                                 check=True).stdout.split()
        for a in applets:
            if a != "busybox":
                os.symlink("busybox", os.path.join(bindir, a))
        subprocess.run([RUNC, "spec", "--bundle", self.bundle], check=True)
        path = os.path.join(self.bundle, "config.json")
        with open(path) as f:
            spec = json.load(f)
        spec["process"]["args"] = args
        spec["process"]["terminal"] = self.tty
        spec["process"]["env"] = ["PATH=/bin"]
        spec["root"]["readonly"] = False
        with open(path, "w") as f:
            json.dump(spec, f)

    def wrap_runtime(self, chatter=False):
        """Puts a script in front of runc that records its calls in self.calls and, with
        CHATTER, prints on stdout and stderr before run as a chatty runtime would (its
        warnings; a runtime's error comes last)."""
        self.calls = os.path.join(self.base, "calls")
        noise = "chatter" if chatter else ":"
        path = os.path.join(self.base, "runtime.sh")
        with open(path, "w") as f:
            f.write(f"""#!/bin/sh
echo "$*" >> {self.calls}
chatter() {{
  echo "chatter-out-$1"; echo "time=\\"x\\" level=warning msg=\\"chatter-$1\\"" >&2
  # More than the shim keeps of it (16 KiB) and than one read of the pipe takes.
  head -c 20000 /dev/zero | tr '\\0' y; echo
}}
case " $* " in *" run "*) {noise} before;; esac
exec {RUNC} "$@"
""")
        os.chmod(path, 0o755)
        self.runtime = path

    def runc(self, *args, check=True):
        return subprocess.run([RUNC, "--root", self.runc_root, *args], capture_output=True,
                              text=True, timeout=20, check=check)

    def spawn(self, timeout=10, extra_fds=()):
        """Starts the shim (EXTRA_FDS leaked into it) and returns its ready line."""
        r, w = os.pipe()
        cmd = [SHIM, "--runtime", self.runtime]
        for a in self.runtime_args:
            cmd += ["--runtime-arg", a]
        cmd += ["--id", self.id, "--bundle", self.bundle, "--dir", self.dir,
                "--ready-fd", str(w)]
        if self.log:
            cmd += ["--log", self.log]
        if self.stdin:
            cmd.append("--stdin")
        if self.tty:
            cmd.append("--tty")
        if self.monitor_exit:
            cmd.append("--monitor-exit")
        try:
            # Copies numbered above the ready fd, so that leaks land on both sides of it.
            above = [os.dup(fd) for fd in extra_fds]
            try:
                self.spawner = subprocess.Popen(cmd, pass_fds=(w, *extra_fds, *above),
                                                stdin=subprocess.DEVNULL)
            finally:
                for fd in above:
                    os.close(fd)
            os.close(w)
            w = -1
            data = b""
            deadline = time.monotonic() + timeout
            while True:
                left = deadline - time.monotonic()
                assert left > 0, f"no report on the ready fd within {timeout}s: {data!r}"
                if select.select([r], [], [], left)[0]:
                    chunk = os.read(r, 4096)
                    if not chunk:
                        break
                    data += chunk
            # The caller's process returns at once; the shim lives on detached.
            assert self.spawner.wait(timeout=5) == 0
        finally:
            if w >= 0:
                os.close(w)
            os.close(r)
        pid_path = os.path.join(self.dir, "shim.pid")
        if os.path.exists(pid_path):
            with open(pid_path) as f:
                self.shim_pid = int(f.read())
        text = data.decode()
        assert text.endswith("\n") and text.count("\n") == 1, f"one report line: {text!r}"
        return text[:-1]

    def start(self, **kw):
        """Spawns the shim, expects "ok PID" (the container runs); returns its pid."""
        t0 = time.time_ns()
        report = self.spawn(**kw)
        m = re.fullmatch(r"ok (\d+)", report)
        assert m, f"shim report: {report!r}"
        pid = int(m.group(1))
        with open(os.path.join(self.dir, "pid")) as f:
            assert int(f.read()) == pid
        # The monitor file names the shim (pid and start ticks), the container, its start.
        with open(os.path.join(self.dir, "monitor")) as f:
            shim, ticks, ctr, started = (int(v) for v in f.read().split())
        assert (shim, ctr) == (self.shim_pid, pid)
        assert ticks == int(proc_stat_fields(shim)[19])
        assert t0 < started <= time.time_ns()
        return pid

    def wait_exit(self, timeout=8):
        path = os.path.join(self.dir, "exit")
        wait_for(lambda: os.path.exists(path), timeout, "exit file")
        with open(path) as f:
            return f.read()

    def cleanup(self):
        self.runc("delete", "--force", self.id, check=False)
        # The shim ends with its container; kill only if it outlived the delete.
        if self.shim_pid and alive(self.shim_pid):
            try:
                wait_for(lambda: not alive(self.shim_pid), 3, "shim exit")
            except AssertionError:
                os.kill(self.shim_pid, signal.SIGKILL)
        if self.spawner and self.spawner.poll() is None:
            self.spawner.kill()
            self.spawner.wait()


def sanitized():
    """Sanitizer runtimes make the shim big: its memory bound holds only for a plain build."""
    with open(SHIM, "rb") as f:
        data = f.read()
    return any(tag in data for tag in (b"__asan_", b"__tsan_", b"__ubsan_", b"__msan_"))


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def proc_stat(pid):
    """(state, ppid, session) of PID, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return fields[0], int(fields[1]), int(fields[3])


def proc_stat_fields(pid):
    """/proc/PID/stat's fields from the third (state) on."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def alive(pid):
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def read_cri_log(path):
    """The log's records as (time, stream, tag, text), after checking every line's shape."""
    records = []
    with open(path, "rb") as f:
        data = f.read().decode()
    assert data.endswith("\n"), "the log ends with a complete record"
    for line in data[:-1].split("\n"):
        m = CRI_LINE.match(line)
        assert m, f"not a CRI log line: {line[:120]!r}"
        records.append(m.groups())
    return records


def reassemble(records, stream):
    return "".join(text + ("\n" if tag == "F" else "")
                   for _, s, tag, text in records if s == stream)


def parse_exit(text):
    parts = text.split()
    assert text.endswith("\n") and len(parts) in (2, 3), f"exit file: {text!r}"
    return int(parts[0]), int(parts[1]), parts[2:]


@pytest.fixture
def ctr_factory(tmp_path):
    made = []

    def make(args, **kw):
        c = Ctr(tmp_path / f"c{len(made)}", args, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.cleanup()


def test_logs_cri_format(ctr_factory):
    long_line = "x" * 20000
    script = ("head -c 20000 /dev/zero | tr '\\0' x; echo; printf 'a\\nbb'; "
              "printf 'e1\\ne2' >&2")
    c = ctr_factory(["sh", "-c", script])
    t0 = time.time_ns()
    c.start()
    code, finished, rest = parse_exit(c.wait_exit())
    t1 = time.time_ns()
    assert (code, rest) == (0, [])
    assert t0 < finished <= t1

    records = read_cri_log(c.log)
    assert reassemble(records, "stdout") == long_line + "\na\nbb"
    assert reassemble(records, "stderr") == "e1\ne2"
    out = [r for r in records if r[1] == "stdout"]
    err = [r for r in records if r[1] == "stderr"]
    # A partial last line is a P record; complete lines end in F.
    assert out[-1][2:] == ("P", "bb") or (out[-1][2] == "P" and out[-1][3].endswith("b"))
    assert ("F", "a") in [(r[2], r[3]) for r in out]
    assert [(r[2], r[3]) for r in err] in ([("F", "e1"), ("P", "e2")],
                                            [("F", "e1"), ("P", "e"), ("P", "2")])
    # The 20000-byte line comes as P pieces of at most 16 KiB ended by an F (whose text
    # may be empty when the newline arrived in a read of its own).
    first_f = next(i for i, r in enumerate(out) if r[2] == "F")
    assert first_f >= 1 and all(r[2] == "P" for r in out[:first_f])
    assert "".join(r[3] for r in out[:first_f + 1]) == long_line
    assert all(len(r[3]) <= 16384 for r in records)
    stamps = [r[0] for r in records]
    for s in stamps:
        ns = calendar.timegm(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")) * 10**9 + int(s[20:29])
        assert t0 - 10**9 < ns <= t1
    # Nothing the runtime said while running it is in the container's log.
    assert "level=" not in "".join(r[3] for r in records)


def test_reopen_on_sigusr1(ctr_factory):
    c = ctr_factory(["sh", "-c", "echo one; while [ ! -e /go ]; do sleep 0.02; done; "
                                 "echo two; exec sleep 100"])
    try:
        c.start()
        wait_for(lambda: os.path.exists(c.log) and "one" in open(c.log).read(), 5, "line one")
        reopened = os.path.join(c.dir, "reopened")
        assert not os.path.exists(reopened)
        os.rename(c.log, c.log + ".1")
        os.kill(c.shim_pid, signal.SIGUSR1)
        wait_for(lambda: os.path.exists(reopened), 5, "reopened counter")
        with open(reopened) as f:
            assert f.read() == "1\n"
        # The new file exists as soon as the counter moved, before any output.
        assert os.path.exists(c.log)
        open(os.path.join(c.rootfs, "go"), "w").close()
        wait_for(lambda: "two" in open(c.log).read(), 5, "line two in the new log")
        old = [r[3] for r in read_cri_log(c.log + ".1")]
        new = [r[3] for r in read_cri_log(c.log)]
        assert old == ["one"] and new == ["two"]
        os.kill(c.shim_pid, signal.SIGUSR1)
        wait_for(lambda: open(reopened).read() == "2\n", 5, "second reopen")
    finally:
        c.runc("kill", c.id, "KILL", check=False)
    assert parse_exit(c.wait_exit())[0] == 137


def test_exit_code_and_shim_ends(ctr_factory):
    c = ctr_factory(["sh", "-c", "exit 3"], log=False)
    c.start()
    code, _, rest = parse_exit(c.wait_exit())
    assert (code, rest) == (3, [])
    # The exit file is written last: the shim is gone right after it.
    wait_for(lambda: not alive(c.shim_pid), 3, "shim exit")
    assert not os.path.exists(os.path.join(c.dir, "shim.log"))


def test_killed_by_runc_kill(ctr_factory):
    c = ctr_factory(["sleep", "100"])
    pid = c.start()
    assert alive(pid)
    time.sleep(0.2)
    assert not os.path.exists(os.path.join(c.dir, "exit"))
    c.runc("kill", c.id, "KILL")
    code, _, rest = parse_exit(c.wait_exit())
    assert (code, rest) == (137, [])
    wait_for(lambda: not alive(c.shim_pid), 3, "shim exit")


def test_missing_binary(ctr_factory):
    c = ctr_factory(["/nonexistent"])
    c.wrap_runtime()
    report = c.spawn()
    m = re.fullmatch(r"err (\d+) (.+)", report)
    assert m, f"shim report: {report!r}"
    assert int(m.group(1)) == 2
    assert "/nonexistent" in m.group(2)
    assert "level=" not in m.group(2) and "time=" not in m.group(2)
    # The shim deleted what run left before it reported.
    assert c.runc("list", "-q").stdout.strip() == ""
    with open(c.calls) as f:
        calls = [line.split()[2:] for line in f.read().splitlines()]
    assert calls == [["run", "--detach", "--bundle", c.bundle, "--pid-file", c.dir + "/pid",
                      c.id], ["delete", "--force", c.id]]
    assert c.shim_pid is not None
    wait_for(lambda: not alive(c.shim_pid), 3, "shim exit")
    assert not os.path.exists(os.path.join(c.dir, "exit"))


def test_missing_runtime(ctr_factory):
    c = ctr_factory(["true"])
    c.runtime = "/nonexistent/runc"
    report = c.spawn()
    m = re.fullmatch(r"err (\d+) (.+)", report)
    assert m and int(m.group(1)) == 2, report
    assert "/nonexistent/runc" in m.group(2)


def test_survives_caller_and_keeps_stdin_open(ctr_factory):
    # cat ends at EOF: it keeps running only because the shim holds stdin's write end.
    c = ctr_factory(["cat"], stdin=True)
    leak = os.open(os.path.join(c.base, "leaked"), os.O_WRONLY | os.O_CREAT)
    try:
        pid = c.start(extra_fds=(leak,))
    finally:
        os.close(leak)
    spawner = c.spawner.pid
    _, ppid, sid = proc_stat(c.shim_pid)
    assert ppid not in (os.getpid(), spawner)
    # A session of its own, which it does not lead (no controlling terminal, ever).
    assert sid not in (os.getsid(0), c.shim_pid)
    # Signals that would end a normal daemon do not end the shim.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        os.kill(c.shim_pid, sig)
    time.sleep(0.5)
    assert alive(c.shim_pid) and alive(pid)
    assert json.loads(c.runc("state", c.id).stdout)["status"] == "running"
    # What one more container costs: the shim's private pages.  VmRSS also counts the
    # libc text it shares with every other process.
    with open(f"/proc/{c.shim_pid}/status") as f:
        rss = int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1))
    with open(f"/proc/{c.shim_pid}/smaps_rollup") as f:
        rollup = dict(re.findall(r"^(\w+):\s+(\d+) kB", f.read(), re.M))
    private = int(rollup["Private_Clean"]) + int(rollup["Private_Dirty"])
    print(f"idle shim: VmRSS {rss} kB, private {private} kB, Pss {rollup['Pss']} kB")
    if not sanitized():
        assert private <= 1024
    # /dev/null on 0-2, the log, three pipes, the signalfd, the pidfd, the attach socket:
    # nothing from the caller.
    fds = {int(fd): os.readlink(f"/proc/{c.shim_pid}/fd/{fd}")
           for fd in os.listdir(f"/proc/{c.shim_pid}/fd")}
    assert [fds[i] for i in (0, 1, 2)] == ["/dev/null"] * 3
    kinds = sorted("log" if t == c.log else re.sub(r":\[\d+\]$", "", t)
                   for fd, t in fds.items() if fd > 2)
    assert kinds == ["anon_inode:[pidfd]", "anon_inode:[signalfd]", "log",
                     "pipe", "pipe", "pipe", "socket"], fds
    c.runc("kill", c.id, "KILL")
    assert parse_exit(c.wait_exit())[0] == 137


def test_without_stdin_container_sees_eof(ctr_factory):
    c = ctr_factory(["cat"], log=False)
    c.start()
    assert parse_exit(c.wait_exit())[0] == 0


def test_runtime_delete_ends_container_and_shim(ctr_factory):
    # runtime delete --force kills the init, and the shim ends normally.
    c = ctr_factory(["sleep", "100"])
    c.start()
    c.runc("delete", "--force", c.id)
    code, _, rest = parse_exit(c.wait_exit())
    assert code == 137 and rest == []
    wait_for(lambda: not alive(c.shim_pid), 3, "shim exit")


def test_output_before_run_returns_reaches_the_log(ctr_factory):
    # More than a pipe holds, on both streams, written before the runtime's run can have
    # returned (the container does not wait): none of it may be lost or taken for the
    # runtime's own output, and each stream keeps its order.
    script = ("i=0; while [ $i -lt 3000 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; "
              "echo err-$i >&2; i=$((i+1)); done")
    c = ctr_factory(["sh", "-c", script])
    c.start()
    assert parse_exit(c.wait_exit())[0] == 0
    records = read_cri_log(c.log)
    out = reassemble(records, "stdout").split("\n")
    err = reassemble(records, "stderr").split("\n")
    assert out[:-1] == [f"line-{i}-" + "x" * 32 for i in range(3000)] and out[-1] == ""
    assert err[:-1] == [f"err-{i}" for i in range(3000)]


def test_run_error_carries_the_runtime_message_not_its_chatter(ctr_factory):
    c = ctr_factory(["/nonexistent"])
    c.wrap_runtime(chatter=True)
    m = re.fullmatch(r"err (\d+) (.+)", c.spawn())
    assert m and "/nonexistent" in m.group(2)
    assert "chatter" not in m.group(2) and "yyyy" not in m.group(2)
    with open(c.calls) as f:
        assert f.read().split("\n")[0].split()[:3] == ["--root", c.runc_root, "run"]


# A runtime whose run forks a subreaper of its own that runs runc's run and stays: the
# container's init ends up its child, outside the caller's descendants.  The subreaper
# reports runc's exit code to its parent, which exits with it, and then does TAIL.
RUNTIME_WITH_SUBREAPER = """#!/usr/bin/python3
import ctypes, os, signal, subprocess, sys
r, w = os.pipe()
if os.fork() > 0:
    os.close(w)
    rc = os.read(r, 1)
    sys.exit(rc[0] if rc else 1)
os.close(r)
[SETSID]
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
rc = subprocess.call([RUNC] + sys.argv[1:])
args = sys.argv[1:]
null = os.open("/dev/null", os.O_RDWR)
for fd in (0, 1, 2):
    os.dup2(null, fd)
os.write(w, bytes([rc]))
os.close(w)
"""

# It keeps and reaps the init, and exits 0 whatever the init did.
SUBREAPER_RUNTIME = RUNTIME_WITH_SUBREAPER.replace("[SETSID]", "os.setsid()") + """
try:
    while True:
        os.wait()
except ChildProcessError:
    pass
"""


def test_init_outside_descendants_exit_unknown(ctr_factory):
    c = ctr_factory(["sh", "-c", "echo out; exit 3"])
    path = os.path.join(c.base, "subreaper-runtime")
    with open(path, "w") as f:
        f.write(SUBREAPER_RUNTIME.replace("[RUNC]", repr([RUNC])))
    os.chmod(path, 0o755)
    c.runtime = path
    c.start()
    # The shim cannot collect the status, but sees the exit through its pidfd.
    code, finished, rest = parse_exit(c.wait_exit())
    assert (code, rest) == (255, ["unknown"])
    assert finished > 0
    assert [r[3] for r in read_cri_log(c.log)] == ["out"]
    wait_for(lambda: not alive(c.shim_pid), 3, "shim exit")


# A runtime whose run leaves a monitor of its own as the init's parent, as crib-lxc leaves
# liblxc's: the subreaper waits for the init and exits as it did.
MONITOR_RUNTIME = RUNTIME_WITH_SUBREAPER.replace("[SETSID]", "") + """
pid = int(open(args[args.index("--pid-file") + 1]).read())
while True:
    p, status = os.wait()
    if p == pid:
        break
if os.WIFSIGNALED(status):
    signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
    os.kill(os.getpid(), os.WTERMSIG(status))
sys.exit(os.WEXITSTATUS(status))
"""


def test_monitor_exit_is_the_containers(ctr_factory):
    c = ctr_factory(["sh", "-c", "echo out; sleep 0.3; exit 3"])
    path = os.path.join(c.base, "monitor-runtime")
    with open(path, "w") as f:
        f.write(MONITOR_RUNTIME.replace("[RUNC]", repr([RUNC])))
    os.chmod(path, 0o755)
    c.runtime = path
    c.monitor_exit = True
    c.start()
    # The init is the monitor's child, not the shim's: the monitor's status is the exit.
    code, finished, rest = parse_exit(c.wait_exit())
    assert (code, rest) == (3, [])
    assert finished > 0
    wait_for(lambda: not alive(c.shim_pid), 3, "shim exit")


def fake_runtime(c, body):
    """A shell script standing in for the runtime: BODY runs for every call."""
    path = os.path.join(c.base, "fake-runtime")
    with open(path, "w") as f:
        f.write("#!/bin/sh\necho \"$*\" >> " + os.path.join(c.base, "calls") + "\n" + body)
    os.chmod(path, 0o755)
    c.runtime = path
    c.runtime_args = ["--global"]


def test_run_error_text_is_bounded_utf8(ctr_factory):
    c = ctr_factory(["true"])
    # A last line far longer than a report may be, in two-byte characters.
    fake_runtime(c, 'case "$2" in run) echo first >&2; printf x >&2; '
                    'head -c 6000 /dev/zero | tr "\\0" "e" | sed "s/e/\\xc3\\xa9/g" >&2; '
                    'echo >&2; exit 1;; esac\n')
    report = c.spawn()
    # "err 5 x" puts the characters at odd offsets: the cut falls inside one of them.
    m = re.fullmatch(r"err (\d+) (xé+)", report)
    assert m, report[:80]
    assert int(m.group(1)) == 5  # EIO: nothing says a file is missing
    assert len(report.encode()) < 4096
    with open(os.path.join(c.base, "calls")) as f:
        assert [l.split()[:2] for l in f.read().splitlines()] == [["--global", "run"],
                                                                   ["--global", "delete"]]


def test_run_error_without_output(ctr_factory):
    c = ctr_factory(["true"])
    fake_runtime(c, 'case "$2" in run) exit 7;; esac\n')
    assert c.spawn() == f"err 5 {c.runtime} run exited with code 7"


def test_bad_command_line(tmp_path):
    r, w = os.pipe()
    try:
        p = subprocess.run([SHIM, "--ready-fd", str(w), "--id", "x"], pass_fds=(w,),
                           capture_output=True, text=True, timeout=10)
        os.close(w)
        w = -1
        assert p.returncode == 2 and "usage:" in p.stderr
        assert os.read(r, 4096).decode().startswith("err 22 ")
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


# ---- exec mode: one Exec session, driven as the backend's stream_open does ----

def recv_msg(sock, timeout=10):
    """One message from a SOCK_SEQPACKET socket: (text, fds); ("", []) at EOF."""
    sock.settimeout(timeout)
    data, fds, _, _ = socket.recv_fds(sock, 4096, 3)
    return data.decode(), fds


def read_all(fd, timeout=10):
    """FD's bytes to EOF (or EIO, a terminal's end)."""
    data = b""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"no EOF within {timeout}s: {data[-200:]!r}"
        if not select.select([fd], [], [], left)[0]:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError as e:
            if e.errno == errno.EIO:
                return data
            raise
        if not chunk:
            return data
        data += chunk


def read_until(fd, pattern, timeout=10):
    data = b""
    deadline = time.monotonic() + timeout
    while not re.search(pattern, data):
        left = deadline - time.monotonic()
        assert left > 0, f"{pattern!r} not seen within {timeout}s: {data[-200:]!r}"
        if select.select([fd], [], [], left)[0]:
            chunk = os.read(fd, 65536)
            assert chunk, f"EOF before {pattern!r} after {len(data)} bytes: {data[-200:]!r}"
            data += chunk
    return data


class Exec:
    """crib-shim exec for container C: the session's pipes (ours: stdin's write end,
    stdout's and stderr's read ends) and its ctl socket."""

    def __init__(self, c, argv, tty=False, stdin=False, stdout=True, stderr=True,
                 container_id=None):
        self.ctl, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.stdin = self.stdout = self.stderr = None
        child = [subprocess.DEVNULL] * 3
        if not tty:
            for i, want in enumerate((stdin, stdout, stderr)):
                if want:
                    r, w = os.pipe()
                    child[i], ours = (r, w) if i == 0 else (w, r)
                    setattr(self, ("stdin", "stdout", "stderr")[i], ours)
        cmd = [SHIM, "exec", "--runtime", c.runtime]
        for a in c.runtime_args:
            cmd += ["--runtime-arg", a]
        cmd += ["--id", container_id or c.id, "--dir", c.dir, "--ctl-fd", str(theirs.fileno())]
        if tty:
            cmd.append("--tty")
        cmd += ["--", *argv]
        try:
            self.proc = subprocess.Popen(cmd, stdin=child[0], stdout=child[1], stderr=child[2],
                                         pass_fds=(theirs.fileno(),))
        finally:
            theirs.close()
            for fd in child:
                if fd != subprocess.DEVNULL:
                    os.close(fd)
        self.report, fds = recv_msg(self.ctl, timeout=30)
        self.master = fds[0] if fds else None
        assert len(fds) == (1 if tty and self.report.startswith("started ") else 0), fds

    @property
    def pid(self):
        m = re.fullmatch(r"started (\d+)\n", self.report)
        assert m, f"exec report: {self.report!r}"
        return int(m.group(1))

    def exit_message(self, timeout=10):
        return recv_msg(self.ctl, timeout)[0]

    def close(self):
        for fd in (self.stdin, self.stdout, self.stderr, self.master):
            if fd is not None:
                os.close(fd)
        self.stdin = self.stdout = self.stderr = self.master = None
        self.ctl.close()
        return self.proc.wait(timeout=15)


@pytest.fixture
def running(ctr_factory):
    """A container that idles, for exec sessions; killed at the end."""
    c = ctr_factory(["sleep", "1000"], log=False)
    c.start()
    yield c
    c.runc("kill", c.id, "KILL", check=False)


def exec_files(c):
    return [f for f in os.listdir(c.dir) if f.startswith("exec-")]


def test_exec_separate_streams_and_exit_code(running):
    e = Exec(running, ["sh", "-c", "echo out; echo err >&2; exit 5"])
    try:
        e.pid
        assert read_all(e.stdout) == b"out\n"
        assert read_all(e.stderr) == b"err\n"
        assert e.exit_message() == "exit 5\n"
    finally:
        assert e.close() == 0
    # The pid file, the runtime's log: gone once the process started.
    assert exec_files(running) == []


def test_exec_stdin_eof_reaches_the_process(running):
    e = Exec(running, ["sh", "-c", "cat; echo done"], stdin=True, stderr=False)
    try:
        os.write(e.stdin, b"hello\n")
        os.close(e.stdin)
        e.stdin = None
        assert read_all(e.stdout) == b"hello\ndone\n"
        assert e.exit_message() == "exit 0\n"
    finally:
        e.close()


def test_exec_killed_by_signal(running):
    e = Exec(running, ["sh", "-c", "kill -TERM $$"])
    try:
        assert e.exit_message() == f"exit {128 + signal.SIGTERM}\n"
    finally:
        e.close()


def set_winsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def test_exec_tty(running):
    script = "read a; stty size; read b; stty size; tty; exit 7"
    e = Exec(running, ["sh", "-c", script], tty=True)
    try:
        e.pid
        assert e.master is not None and os.isatty(e.master)
        set_winsize(e.master, 30, 100)
        os.write(e.master, b"a\n")
        read_until(e.master, rb"30 100\r\n")
        set_winsize(e.master, 40, 120)
        os.write(e.master, b"b\n")
        rest = read_all(e.master)
        assert b"40 120\r\n" in rest and b"/dev/pts/" in rest
        assert e.exit_message() == "exit 7\n"
    finally:
        assert e.close() == 0
    assert exec_files(running) == []


def test_exec_missing_binary(running):
    e = Exec(running, ["/nonexistent-binary"])
    m = re.fullmatch(r"err (\d+) (.+)\n", e.report)
    assert m, e.report
    assert int(m.group(1)) == errno.ENOENT and "/nonexistent-binary" in m.group(2)
    assert "level=" not in m.group(2)
    assert e.close() == 1
    assert exec_files(running) == []


def test_exec_in_missing_container(running):
    e = Exec(running, ["true"], container_id="crib-shim-test-missing")
    m = re.fullmatch(r"err (\d+) (.+)\n", e.report)
    assert m and "not exist" in m.group(2), e.report
    e.close()


def test_exec_ctl_eof_kills_the_process(running):
    e = Exec(running, ["sleep", "1000"], stdout=False, stderr=False)
    pid = e.pid
    assert alive(pid)
    # The backend's stream_close: its end of the ctl socket goes, and it reaps the shim.
    assert e.close() == 0
    assert not alive(pid)
    assert json.loads(running.runc("state", running.id).stdout)["status"] == "running"


def test_exec_holds_no_session_pipe(running):
    # The shim lets go of the pipes once the process runs: their ends are the process's.
    e = Exec(running, ["sleep", "1000"], stdin=True)
    try:
        fds = [os.readlink(f"/proc/{e.proc.pid}/fd/{fd}")
               for fd in os.listdir(f"/proc/{e.proc.pid}/fd")]
        assert [f for f in fds if f.startswith("pipe:")] == [], fds
    finally:
        e.close()


def test_exec_bad_command_line():
    p = subprocess.run([SHIM, "exec", "--runtime", RUNC, "--id", "x", "--dir", "/tmp",
                        "--ctl-fd", "1"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 2 and "crib-shim exec" in p.stderr


# ---- attach: sessions on the container's shim (SHIMDIR/attach) ----

class Attach:
    """One attach session: its pipes (ours: input's write end, the outputs' read ends)."""

    def __init__(self, c, stdin=True, stdout=True, stderr=True, once=False):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.connect(os.path.join(c.dir, "attach"))
        self.stdin = self.stdout = self.stderr = None
        theirs = []
        for i, want in enumerate((stdin, stdout, stderr)):
            if want:
                r, w = os.pipe()
                ours, t = (w, r) if i == 0 else (r, w)
                setattr(self, ("stdin", "stdout", "stderr")[i], ours)
                theirs.append(t)
        req = f"attach {int(stdin)} {int(stdout)} {int(stderr)} {int(once)}\n"
        try:
            socket.send_fds(self.sock, [req.encode()], theirs)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused: the reason is queued for us, or the recv below fails
        finally:
            for fd in theirs:
                os.close(fd)
        self.reply = recv_msg(self.sock)[0]

    def message(self, timeout=10):
        return recv_msg(self.sock, timeout)[0]

    def resize(self, cols, rows):
        self.sock.send(f"resize {cols} {rows}\n".encode())

    def close_input(self):
        os.close(self.stdin)
        self.stdin = None

    def close(self):
        for fd in (self.stdin, self.stdout, self.stderr):
            if fd is not None:
                os.close(fd)
        self.stdin = self.stdout = self.stderr = None
        self.sock.close()


def test_attach_input_output_and_exit(ctr_factory):
    c = ctr_factory(["sh"], stdin=True)
    c.start()
    path = os.path.join(c.dir, "attach")
    assert stat.S_ISSOCK(os.stat(path).st_mode) and os.stat(path).st_mode & 0o777 == 0o600
    a = Attach(c)
    watcher = Attach(c, stdin=False, stderr=False)
    try:
        assert (a.reply, watcher.reply) == ("ok\n", "ok\n")
        os.write(a.stdin, b"echo hi; echo oops >&2\n")
        assert read_until(a.stdout, rb"hi\n") == b"hi\n"
        assert read_until(a.stderr, rb"oops\n") == b"oops\n"
        assert read_until(watcher.stdout, rb"hi\n") == b"hi\n"
        # Without stdin_once the end of a session's input leaves the container's open.
        a.close_input()
        time.sleep(0.5)
        assert json.loads(c.runc("state", c.id).stdout)["status"] == "running"
        b = Attach(c, stderr=False)
        try:
            assert b.reply == "ok\n"
            os.write(b.stdin, b"echo second; exit 3\n")
            for s in (a, b, watcher):
                assert read_all(s.stdout).endswith(b"second\n")
                assert s.message() == "exit 3\n"
                # The session ends with the container.
                assert s.message() == ""
        finally:
            b.close()
    finally:
        a.close()
        watcher.close()
    assert parse_exit(c.wait_exit())[0] == 3
    assert not os.path.exists(path)
    # What the sessions saw is in the log as well.
    out = reassemble(read_cri_log(c.log), "stdout")
    assert out == "hi\nsecond\n"


def test_attach_stdin_once_closes_container_stdin(ctr_factory):
    c = ctr_factory(["sh", "-c", "cat; echo eof; exit 4"], stdin=True, log=False)
    c.start()
    a = Attach(c, stderr=False, once=True)
    try:
        assert a.reply == "ok\n"
        os.write(a.stdin, b"line\n")
        assert read_until(a.stdout, rb"line\n") == b"line\n"
        a.close_input()
        assert read_all(a.stdout) == b"eof\n"
        assert a.message() == "exit 4\n"
    finally:
        a.close()


def test_attach_refusals_and_session_limit(ctr_factory):
    c = ctr_factory(["sleep", "1000"], log=False)
    c.start()
    sessions = []
    try:
        # The container was started without --stdin: there is no stdin to attach to.
        s = Attach(c)
        assert re.fullmatch(r"err 22 .*stdin.*\n", s.reply), s.reply
        s.close()
        for _ in range(16):
            sessions.append(Attach(c, stdin=False))
            assert sessions[-1].reply == "ok\n"
        s = Attach(c, stdin=False)
        assert s.reply == f"err {errno.EMFILE} container '{c.id}' has 16 attach sessions " \
                          "already\n"
        s.close()
        # A session whose connection ends is dropped, and its place is free again.
        sessions.pop().close()
        deadline = time.monotonic() + 5
        while True:
            s = Attach(c, stdin=False)
            if s.reply == "ok\n" or time.monotonic() > deadline:
                break
            s.close()
        sessions.append(s)
        assert s.reply == "ok\n"
    finally:
        for s in sessions:
            s.close()
        c.runc("kill", c.id, "KILL", check=False)
    assert parse_exit(c.wait_exit())[0] == 137


def test_attach_slow_reader_is_dropped_not_waited_for(ctr_factory):
    c = ctr_factory(["sh"], stdin=True)
    c.start()
    slow = Attach(c, stdin=False, stderr=False)
    fast = Attach(c, stderr=False)
    try:
        assert (slow.reply, fast.reply) == ("ok\n", "ok\n")
        # 2.5 MiB, more than the 1 MiB a session's pipe holds, at a pace a reader that
        # reads keeps up with.
        os.write(fast.stdin, b"for i in $(seq 40); do head -c 65536 /dev/zero | tr '\\0' x; "
                             b"usleep 10000; done; echo; echo done\n")
        try:
            data = read_until(fast.stdout, rb"done\n", timeout=30)
        except AssertionError:
            pytest.fail(f"fast reader dropped: {fast.message()!r}")
        assert data == b"x" * 40 * 65536 + b"\ndone\n"
        assert re.fullmatch(r"err 105 .*fast enough\n", slow.message()), "slow reader"
        # It was dropped only once its pipe, grown to 1 MiB, was full.
        kept = read_all(slow.stdout)
        assert 1024 * 1024 - 16384 <= len(kept) <= 1024 * 1024 and set(kept) == {ord("x")}
        os.write(fast.stdin, b"exit 0\n")
        assert fast.message() == "exit 0\n"
    finally:
        slow.close()
        fast.close()
    assert parse_exit(c.wait_exit())[0] == 0
    out = reassemble(read_cri_log(c.log), "stdout")
    assert out == "x" * 40 * 65536 + "\ndone\n"


# ---- containers with a terminal (--tty): the runtime's console socket, the master ----

def shim_fds(c):
    return {int(fd): os.readlink(f"/proc/{c.shim_pid}/fd/{fd}")
            for fd in os.listdir(f"/proc/{c.shim_pid}/fd")}


def test_tty_output_is_stdout_in_the_log(ctr_factory):
    # Written at once, likely before the shim has the master: the terminal keeps it.
    c = ctr_factory(["sh", "-c", "echo out; echo err >&2; tty; exit 3"], tty=True)
    c.wrap_runtime()
    c.start()
    code, _, rest = parse_exit(c.wait_exit())
    assert (code, rest) == (3, [])
    records = read_cri_log(c.log)
    # One output, the terminal's (with its \r\n), all of it stdout.
    assert [r for r in records if r[1] == "stderr"] == []
    assert re.fullmatch(r"out\r\nerr\r\n/dev/pts/\d+\r\n", reassemble(records, "stdout"))
    with open(c.calls) as f:
        run = f.read().splitlines()[0].split()[2:]
    assert run[:3] == ["run", "--detach", "--console-socket"]
    assert run[4:] == ["--bundle", c.bundle, "--pid-file", c.dir + "/pid", c.id]
    # The socket is gone once the runtime is done with it.
    assert not os.path.exists(os.path.join(c.dir, "console.sock"))
    wait_for(lambda: not alive(c.shim_pid), 3, "shim exit")
    assert not os.path.exists(os.path.join(c.dir, "shim.log"))


def test_tty_shim_holds_the_master_not_the_slave(ctr_factory):
    c = ctr_factory(["sleep", "1000"], tty=True, stdin=True, log=False)
    c.start()
    try:
        fds = shim_fds(c)
        assert [fds[i] for i in (0, 1, 2)] == ["/dev/null"] * 3
        # The container's devpts instance names its master "ptmx", a slave by number.
        targets = sorted(re.sub(r"^/dev/(pts/)?ptmx$", "master", re.sub(r":\[\d+\]$", "", t))
                         for fd, t in fds.items() if fd > 2)
        # The master twice (output, and the container's stdin), no pipe, no slave.
        assert targets == ["anon_inode:[pidfd]", "anon_inode:[signalfd]", "master", "master",
                           "socket"], fds
    finally:
        c.runc("kill", c.id, "KILL")
    assert parse_exit(c.wait_exit())[0] == 137


def test_tty_attach_input_output_resize_and_exit(ctr_factory):
    c = ctr_factory(["sh"], tty=True, stdin=True)
    c.start()
    a = Attach(c, stderr=False)
    # stdin_once means nothing to a terminal: the end of this session's input closes nothing.
    once = Attach(c, stdout=False, stderr=False, once=True)
    try:
        assert (a.reply, once.reply) == ("ok\n", "ok\n")
        os.write(a.stdin, b"echo hi-tty\n")
        # The terminal echoes the input line; the command's output follows it.
        read_until(a.stdout, rb"\nhi-tty\r\n")
        once.close()
        a.resize(100, 30)
        os.write(a.stdin, b"stty size\n")
        read_until(a.stdout, rb"\n30 100\r\n")
        a.resize(120, 40)
        os.write(a.stdin, b"stty size; exit 5\n")
        rest = read_all(a.stdout)
        assert b"\n40 120\r\n" in rest, rest
        assert a.message() == "exit 5\n"
    finally:
        a.close()
        once.close()
    assert parse_exit(c.wait_exit())[0] == 5
    records = read_cri_log(c.log)
    assert [r for r in records if r[1] == "stderr"] == []
    out = reassemble(records, "stdout")
    assert "\nhi-tty\r\n" in out and "\n40 120\r\n" in out


def test_tty_without_stdin_refuses_input(ctr_factory):
    c = ctr_factory(["sh", "-c", "read x; echo never"], tty=True, log=False)
    c.start()
    try:
        s = Attach(c, stderr=False)
        assert re.fullmatch(r"err 22 .*stdin.*\n", s.reply), s.reply
        s.close()
        w = Attach(c, stdin=False, stderr=False)
        assert w.reply == "ok\n"
        # A message other than a resize ends the session.
        w.sock.send(b"hello\n")
        assert w.message() == ""
        w.close()
        assert json.loads(c.runc("state", c.id).stdout)["status"] == "running"
    finally:
        c.runc("kill", c.id, "KILL")
    assert parse_exit(c.wait_exit())[0] == 137


def test_resize_without_a_terminal_is_ignored(ctr_factory):
    c = ctr_factory(["sh"], stdin=True, log=False)
    c.start()
    a = Attach(c, stderr=False)
    try:
        assert a.reply == "ok\n"
        a.resize(80, 24)
        os.write(a.stdin, b"echo still-here; exit 2\n")
        assert read_all(a.stdout) == b"still-here\n"
        assert a.message() == "exit 2\n"
    finally:
        a.close()


def test_tty_run_error_carries_the_runtime_message(ctr_factory):
    c = ctr_factory(["/nonexistent"], tty=True)
    c.wrap_runtime(chatter=True)
    report = c.spawn()
    m = re.fullmatch(r"err (\d+) (.+)", report)
    assert m, f"shim report: {report!r}"
    assert int(m.group(1)) == 2 and "/nonexistent" in m.group(2)
    assert "chatter" not in m.group(2)
    assert c.runc("list", "-q").stdout.strip() == ""
    assert not os.path.exists(os.path.join(c.dir, "console.sock"))
    wait_for(lambda: not alive(c.shim_pid), 3, "shim exit")
