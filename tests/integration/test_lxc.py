# SPDX-License-Identifier: Apache-2.0
"""The lxc backend through CRI: the oci backend's code with crib-lxc as its runtime, so
every pod's infra container and every CRI container is an LXC container (liblxc) under
the class's lxcpath, <run_dir>/backends/lxc/lxcpath/<class> unless the class names one.

Each test gets its own cribd (make_cribd); images come from the session's registry.  What
a failed test leaves (LXC containers outlive cribd, each held by its liblxc monitor) is
deleted with crib-lxc itself when the test ends."""
import json
import os
import subprocess
import time

import grpc
import pytest

from conftest import PLUGINS, container_config, pb, pid_alive, rpc_error, wait_for
from test_oci import IMAGE, RUNTIMES, Pod, read_log, stream_text

CRIB_LXC = os.path.join(PLUGINS, "crib-lxc")
CGROUP_ROOT = "/sys/fs/cgroup"


def need_lxc():
    if os.geteuid() != 0:
        pytest.skip("running LXC containers needs root")
    if not os.access(CRIB_LXC, os.X_OK):
        pytest.skip("crib-lxc is not built (scripts/deps.sh installs lxc-dev)")


def lxcpath(d, cls="lxc"):
    return os.path.join(d.run, "backends", "lxc", "lxcpath", cls)


def lxc_delete_all(d):
    """Force-deletes every LXC container left under D's lxcpaths (a failed test's)."""
    base = os.path.join(d.run, "backends", "lxc", "lxcpath")
    for cls in os.listdir(base) if os.path.isdir(base) else []:
        root = os.path.join(base, cls)
        for cid in os.listdir(root):
            subprocess.run([CRIB_LXC, "--root", root, "delete", "--force", cid],
                           capture_output=True, timeout=60)
            # An infra container is named by its pod's id: its pod cgroup goes too, if empty.
            for cg in cgroup_dirs(f"crib/pod-{cid[:12]}"):
                try:
                    os.rmdir(cg)
                except OSError:
                    pass


@pytest.fixture
def lx(make_cribd):
    """A cribd whose default class runs on the lxc backend with its default lxcpath."""
    need_lxc()
    d = make_cribd(default_class="lxc", classes={"lxc": "backend = lxc"}).start()
    yield d
    lxc_delete_all(d)


def lxc_state(d, cid, cls="lxc"):
    """crib-lxc's `state ID` for the container, as JSON; None when it does not exist."""
    p = subprocess.run([CRIB_LXC, "--root", lxcpath(d, cls), "state", cid],
                       capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        assert "does not exist" in p.stderr, p.stderr
        return None
    return json.loads(p.stdout)


def lxc_config(d, cid, cls="lxc"):
    """LXC's saved config of the container, as (key, value) pairs in order."""
    with open(os.path.join(lxcpath(d, cls), cid, "config")) as f:
        return [tuple(part.strip() for part in line.split("=", 1))
                for line in f.read().splitlines() if "=" in line and not line.startswith("#")]


def cgroups_path(d, cid, cls="lxc"):
    """The container's cgroup as LXC was told it (lxc.cgroup.dir.container)."""
    [path] = [v for k, v in lxc_config(d, cid, cls) if k == "lxc.cgroup.dir.container"]
    return path


def cgroup_dirs(rel):
    """Every directory REL names in the host's cgroup hierarchies."""
    out = []
    for ctrl in sorted(os.listdir(CGROUP_ROOT)):
        base = os.path.join(CGROUP_ROOT, ctrl)
        if os.path.islink(base) or not os.path.isdir(base):
            continue
        if os.path.isdir(os.path.join(base, rel)):
            out.append(os.path.join(base, rel))
    return out


def read_cgroup(rel, controller, name):
    with open(os.path.join(CGROUP_ROOT, controller, rel, name)) as f:
        return f.read().strip()


def ctr_pid(d, cid):
    """The container's init pid as the backend recorded it (crib-lxc's pid file)."""
    with open(os.path.join(d.run, "backends", "lxc", "containers", cid, "pid")) as f:
        return int(f.read())


class LxcPod(Pod):
    """test_oci's Pod on the lxc class, whose containers can have a working directory and
    another image."""

    def __init__(self, d, handler="lxc", **kw):
        super().__init__(d, handler, **kw)

    def create(self, name="ctr", command=None, start=True, linux=None, working_dir="",
               image=IMAGE, **kw):
        if not working_dir and image == IMAGE:
            return super().create(name=name, command=command, start=start, linux=linux, **kw)
        cfg = container_config(name=name, command=command, image=image,
                               log_path=f"{name}.log", **kw)
        cfg.working_dir = working_dir
        cfg.linux.security_context.namespace_options.pid = \
            self.cfg.linux.security_context.namespace_options.pid
        self.d.pull(image)
        cid = self.d.rs().CreateContainer(pb.CreateContainerRequest(
            pod_sandbox_id=self.id, config=cfg, sandbox_config=self.cfg), timeout=120).container_id
        if start:
            self.d.rs().StartContainer(pb.StartContainerRequest(container_id=cid), timeout=60)
        return cid


def log_text(pod, name="ctr", stream="stdout"):
    """What the container wrote to STREAM so far, from its CRI log (every line must parse)."""
    path = pod.log_path(name)
    return stream_text(read_log(path), stream) if os.path.exists(path) else ""


def assert_gone(d, pod_id, ids, cls="lxc"):
    """Nothing of the pod and its LXC containers IDS is left: no lxcpath directory, no
    state crib-lxc would report, no container, pod or LXC monitor cgroup."""
    root = lxcpath(d, cls)
    for cid in [pod_id, *ids]:
        assert not os.path.exists(os.path.join(root, cid)), os.listdir(root)
        assert lxc_state(d, cid, cls) is None
        assert cgroup_dirs(f"crib/pod-{pod_id[:12]}/{cid}") == []
        assert cgroup_dirs(f"crib.lxc/{cid}.monitor") == []
    assert cgroup_dirs(f"crib/pod-{pod_id[:12]}") == []


def test_lifecycle_on_lxc(lx):
    pod = LxcPod(lx, name="life", share_pid=True, hostname="lxchost")
    root = lxcpath(lx)
    # The infra container is an LXC container named by the pod's id.
    assert os.listdir(root) == [pod.id]
    infra = lxc_state(lx, pod.id)
    assert infra["status"] == "running" and infra["pid"] > 0
    cid = pod.create(command=["sh", "-c", "echo hello; echo oops >&2; sleep 600"])
    st = pod.status(cid)
    assert st.state == pb.CONTAINER_RUNNING
    assert st.started_at > 0 and st.image_ref
    assert st.log_path == pod.log_path()
    assert sorted(os.listdir(root)) == sorted([pod.id, cid])
    state = lxc_state(lx, cid)
    assert state["status"] == "running"
    assert state["pid"] == ctr_pid(lx, cid)
    assert os.path.realpath(state["bundle"]) == os.path.realpath(
        os.path.join(lx.run, "backends", "lxc", "containers", cid))
    assert dict(lxc_config(lx, cid))["lxc.rootfs.managed"] == "0"
    cg = cgroups_path(lx, cid)
    assert cg == f"crib/pod-{pod.id[:12]}/{cid}"
    assert str(state["pid"]) in read_cgroup(cg, "pids", "cgroup.procs").split()
    # The pod's PID namespace is the infra container's: the shell is not PID 1 in there.
    assert os.readlink(f"/proc/{state['pid']}/ns/pid") == \
        os.readlink(f"/proc/{infra['pid']}/ns/pid")
    assert pod.exec(cid, ["hostname"]).stdout == b"lxchost\n"
    wait_for(lambda: "oops" in log_text(pod, stream="stderr"), what="the log lines")
    assert log_text(pod) == "hello\n"
    ps = lx.rs().ListContainers(pb.ListContainersRequest()).containers
    assert [(c.id, c.state) for c in ps] == [(cid, pb.CONTAINER_RUNNING)]

    t0 = time.time()
    lx.rs().StopContainer(pb.StopContainerRequest(container_id=cid, timeout=10), timeout=60)
    # Not PID 1, it dies of the SIGTERM itself: no escalation to SIGKILL after 10 s.
    assert time.time() - t0 < 5
    st = pod.status(cid)
    assert st.state == pb.CONTAINER_EXITED
    assert st.finished_at >= st.started_at
    assert st.exit_code == 143
    assert not pid_alive(state["pid"])
    assert lxc_state(lx, cid)["status"] == "stopped"
    # Stop and Remove are idempotent.
    lx.rs().StopContainer(pb.StopContainerRequest(container_id=cid, timeout=1), timeout=60)
    lx.rs().RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=60)
    lx.rs().RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=60)
    assert rpc_error(lambda: pod.status(cid)).code() == grpc.StatusCode.NOT_FOUND
    assert os.listdir(root) == [pod.id]
    assert cgroup_dirs(cg) == []
    pod.teardown()
    assert list(lx.rs().ListPodSandbox(pb.ListPodSandboxRequest()).items) == []
    assert not pid_alive(infra["pid"])
    assert os.listdir(root) == []
    assert_gone(lx, pod.id, [cid])


def test_own_pid_namespace_stop_escalates(lx):
    """kubelet's default, a PID namespace per container: the command is the LXC container's
    init, PID 1, to which the kernel delivers no SIGTERM without a handler."""
    pod = LxcPod(lx, name="own")
    graceful = pod.create(name="graceful", command=[
        "sh", "-c", "trap 'exit 7' TERM; echo $$; while true; do sleep 0.1; done"])
    stubborn = pod.create(name="stubborn", command=["sleep", "600"])
    wait_for(lambda: log_text(pod, "graceful"), what="the shell's pid")
    assert log_text(pod, "graceful") == "1\n"
    t0 = time.time()
    lx.rs().StopContainer(pb.StopContainerRequest(container_id=graceful, timeout=30), timeout=60)
    assert time.time() - t0 < 10
    assert pod.status(graceful).exit_code == 7
    t0 = time.time()
    lx.rs().StopContainer(pb.StopContainerRequest(container_id=stubborn, timeout=2), timeout=60)
    assert 2 <= time.time() - t0 < 15
    assert pod.status(stubborn).exit_code == 137
    pod.teardown()
    assert_gone(lx, pod.id, [graceful, stubborn])


def test_exiting_container_logs_both_streams(lx):
    pod = LxcPod(lx, name="exits")
    cid = pod.create(command=["sh", "-c", "echo out; echo err >&2; exit 7"])
    st = pod.wait_exit(cid)
    assert (st.exit_code, st.reason) == (7, "Error")
    assert st.started_at > 0 and st.finished_at > 0
    wait_for(lambda: "err" in log_text(pod, stream="stderr"), what="the stderr line")
    # read_log asserts that every line is in CRI format (time stream tag text).
    assert sorted(read_log(pod.log_path())) == [("stderr", "F", "err"), ("stdout", "F", "out")]
    # Exited, the LXC container is kept (stopped) until RemoveContainer.
    assert lxc_state(lx, cid)["status"] == "stopped"
    lx.rs().RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=60)
    assert not os.path.exists(os.path.join(lxcpath(lx), cid))
    pod.teardown()
    assert_gone(lx, pod.id, [cid])


def test_containers_that_exit_at_once_start(lx):
    """A command that ends at once still started: StartContainer succeeds and the status
    has its exit code, however soon after the start it ended (not a StartError)."""
    pod = LxcPod(lx, name="quick")
    outcomes, ids = [], []
    for i in range(40):
        cid = pod.create(name=f"q{i}", command=["sh", "-c", f"exit {i % 3}"], start=False)
        ids.append(cid)
        try:
            lx.rs().StartContainer(pb.StartContainerRequest(container_id=cid), timeout=60)
            started = "started"
        except grpc.RpcError as e:
            started = e.details()
        st = pod.wait_exit(cid)
        outcomes.append((started, st.exit_code, st.reason))
    pod.teardown()
    # Started or not, nothing of them is left.
    assert_gone(lx, pod.id, ids)
    want = [("started", i % 3, "Completed" if i % 3 == 0 else "Error") for i in range(40)]
    assert [o for o in outcomes if o[0] != "started"] == []
    assert outcomes == want


def test_exec_sync_env_and_working_dir(lx):
    pod = LxcPod(lx, name="exec")
    cid = pod.create(command=["sh", "-c", 'echo "$GREETING from $(pwd)"; exec sleep 600'],
                     envs={"GREETING": "hello lxc"}, working_dir="/etc")
    wait_for(lambda: log_text(pod), what="the container's line")
    assert log_text(pod) == "hello lxc from /etc\n"
    r = pod.exec(cid, ["sh", "-c", "echo a; echo b >&2; exit 3"])
    assert (r.stdout, r.stderr, r.exit_code) == (b"a\n", b"b\n", 3)
    r = pod.exec(cid, ["sh", "-c", 'echo "$GREETING"; pwd; id -u'])
    assert (r.stdout, r.stderr, r.exit_code) == (b"hello lxc\n/etc\n0\n", b"", 0)
    # The exec'd process is in the container: its PID namespace (it sees sleep as PID 1)
    # and its cgroup.
    r = pod.exec(cid, ["sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; cat /proc/self/cgroup"])
    out = r.stdout.decode()
    assert out.startswith("sleep 600 "), out
    assert "pids:/\n" in out or f"pids:/crib/pod-{pod.id[:12]}/{cid}\n" in out, out
    assert pod.exec(cid, ["/no/such/binary"]).exit_code != 0
    pod.teardown()
    assert_gone(lx, pod.id, [cid])


def test_resources_applied_and_updated(lx):
    pod = LxcPod(lx, name="res")
    linux = pb.LinuxContainerConfig(resources=pb.LinuxContainerResources(
        memory_limit_in_bytes=64 << 20, cpu_shares=512, cpu_quota=50000, cpu_period=100000))
    cid = pod.create(command=["sleep", "600"], linux=linux)
    cg = cgroups_path(lx, cid)
    assert cg == f"crib/pod-{pod.id[:12]}/{cid}"
    # The container's init is in that cgroup, in every controller read below.
    pid = ctr_pid(lx, cid)
    for ctrl in ("memory", "cpu", "pids"):
        assert str(pid) in read_cgroup(cg, ctrl, "cgroup.procs").split(), ctrl
    assert read_cgroup(cg, "memory", "memory.limit_in_bytes") == str(64 << 20)
    memsw = os.path.join(CGROUP_ROOT, "memory", cg, "memory.memsw.limit_in_bytes")
    if os.path.exists(memsw):
        assert read_cgroup(cg, "memory", "memory.memsw.limit_in_bytes") == str(64 << 20)
    assert read_cgroup(cg, "cpu", "cpu.shares") == "512"
    assert read_cgroup(cg, "cpu", "cpu.cfs_quota_us") == "50000"
    assert read_cgroup(cg, "cpu", "cpu.cfs_period_us") == "100000"
    # Raised (swap limit first), then lowered (memory first).
    for limit in (96 << 20, 32 << 20):
        lx.rs().UpdateContainerResources(pb.UpdateContainerResourcesRequest(
            container_id=cid, linux=pb.LinuxContainerResources(memory_limit_in_bytes=limit)))
        assert read_cgroup(cg, "memory", "memory.limit_in_bytes") == str(limit)
    lx.rs().UpdateContainerResources(pb.UpdateContainerResourcesRequest(
        container_id=cid, linux=pb.LinuxContainerResources(cpu_shares=256, cpu_quota=20000,
                                                           cpu_period=100000)))
    assert read_cgroup(cg, "cpu", "cpu.shares") == "256"
    assert read_cgroup(cg, "cpu", "cpu.cfs_quota_us") == "20000"
    assert pod.status(cid).state == pb.CONTAINER_RUNNING
    pod.teardown()
    assert_gone(lx, pod.id, [cid])


def test_container_and_pod_stats(lx):
    pod = LxcPod(lx, name="stats")
    cid = pod.create(command=[
        "sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exec sleep 600"])
    s = lx.rs().ContainerStats(pb.ContainerStatsRequest(container_id=cid)).stats
    assert s.attributes.id == cid
    assert s.attributes.metadata.name == "ctr"
    assert s.cpu.usage_core_nano_seconds.value > 0
    assert s.memory.working_set_bytes.value > 0
    listed = lx.rs().ListContainerStats(pb.ListContainerStatsRequest()).stats
    assert [x.attributes.id for x in listed] == [cid]
    ps = lx.rs().PodSandboxStats(pb.PodSandboxStatsRequest(pod_sandbox_id=pod.id)).stats
    assert ps.linux.memory.working_set_bytes.value > 0
    assert ps.linux.cpu.usage_core_nano_seconds.value >= s.cpu.usage_core_nano_seconds.value
    pod.teardown()


def test_class_keys_are_checked(make_cribd):
    need_lxc()
    # The class with a lxcpath of its own needs the daemon's directory: written after.
    d = make_cribd(default_class="lxc", classes={"lxc": "backend = lxc"})
    own = os.path.join(d.base, "own-lxcpath")
    d.write_classes({
        "lxc": "backend = lxc",
        "badsys": "backend = lxc\nsystem = yes",
        "tmpl": "backend = lxc\ntemplate = nosuch",
        "both": "backend = lxc\ntemplate = busybox\nrootfs = /",
        "norootfs": "backend = lxc\nrootfs = /nonexistent/rootfs",
        "typo": "backend = lxc\nlxcpth = /tmp/x",
        "rel": "backend = lxc\nlxcpath = relative/dir",
        "halfattach": "backend = lxc\nsystem = true\nattach = true",
        "userns": "backend = lxc\nidmap = 0:100000:65536",
        "usertmpl": "backend = lxc\ntemplate = busybox\nidmap = 100000:65536",
        "own": f"backend = lxc\nlxcpath = {own}",
    })
    d.start()
    try:
        conf = os.path.join(d.conf_d, "10-classes.conf")
        for cls, line, text in [
                ("badsys", 6, "system 'yes' is not one of true, false"),
                ("tmpl", 10, "template 'nosuch': no LXC template at "
                             "/usr/share/lxc/templates/lxc-nosuch"),
                ("both", 15, "rootfs and template both name the root filesystem"),
                ("norootfs", 19, "rootfs '/nonexistent/rootfs': No such file or directory"),
                ("typo", 23, "unknown key 'lxcpth' for backend lxc"),
                ("rel", 27, "lxcpath 'relative/dir' is not an absolute path"),
                ("halfattach", 32, "attach = true needs system = true and a template or "
                                   "rootfs"),
                ("userns", 36, "idmap '0:100000:65536' is not HOST:SIZE"),
                ("usertmpl", 41, "idmap works with OCI images only")]:
            e = rpc_error(lambda: LxcPod(d, cls, name=cls))
            assert e.code() == grpc.StatusCode.FAILED_PRECONDITION, e.details()
            assert f"{conf}:{line}: {text}" in e.details()
        assert list(d.rs().ListPodSandbox(pb.ListPodSandboxRequest()).items) == []
        # The refused classes take nothing down: a class with its own lxcpath serves.
        pod = LxcPod(d, "own", name="own")
        assert os.listdir(own) == [pod.id]
        assert not os.path.exists(lxcpath(d, "own"))
        pod.teardown()
        assert os.listdir(own) == []
    finally:
        for cid in os.listdir(own) if os.path.isdir(own) else []:
            subprocess.run([CRIB_LXC, "--root", own, "delete", "--force", cid],
                           capture_output=True, timeout=60)


SYSTEM_IMAGE = "crib-test/system"


def test_system_container_runs_init_and_its_services(make_cribd):
    """system = true: the image's /sbin/init (busybox init) is the container's init, runs
    the two services of its inittab, and Stop halts it: no SIGKILL, exit code 0."""
    need_lxc()
    d = make_cribd(default_class="sys", classes={"sys": "backend = lxc\nsystem = true"}).start()
    try:
        pod = LxcPod(d, "sys", name="sys")
        # The command is not the system's: init runs whatever it says.
        cid = pod.create(image=SYSTEM_IMAGE, command=["sleep", "1"])
        assert pod.status(cid).state == pb.CONTAINER_RUNNING
        assert lxc_state(d, cid, "sys")["status"] == "running"
        # The infra container stays crib-pause: only CRI containers are systems.
        assert "lxc.signal.halt" not in dict(lxc_config(d, pod.id, "sys"))

        def services():
            out = pod.exec(cid, ["ps", "-o", "pid,args"]).stdout.decode()
            return out if "httpd" in out and "ticker" in out else None
        ps = wait_for(services, timeout=20, what="init's two services")
        assert any(line.split(None, 1) == ["1", "init"] for line in ps.splitlines()), ps
        r = pod.exec(cid, ["wget", "-q", "-O", "-", "http://127.0.0.1:8080/"])
        assert (r.exit_code, r.stdout) == (0, b"served by the system container\n")
        def ticker():
            # The shell truncates the file before it writes: empty for a moment.
            out = pod.exec(cid, ["cat", "/tmp/ticker"]).stdout.strip()
            return int(out) if out else 0
        t1 = wait_for(ticker, what="the ticker")
        wait_for(lambda: ticker() > t1, what="the ticker to tick")
        # A service init respawns: kill httpd, it comes back.
        pod.exec(cid, ["killall", "httpd"])
        wait_for(lambda: pod.exec(cid, ["wget", "-q", "-O", "-",
                                        "http://127.0.0.1:8080/"]).exit_code == 0,
                 timeout=20, what="httpd respawned")
        wait_for(lambda: "crib-test system up" in log_text(pod), what="init's sysinit line")

        t0 = time.time()
        d.rs().StopContainer(pb.StopContainerRequest(container_id=cid, timeout=30), timeout=90)
        # Halted (SIGPWR), not SIGTERM's reboot nor the SIGKILL 30 s later.
        assert time.time() - t0 < 15
        st = pod.status(cid)
        assert (st.state, st.exit_code, st.reason) == (pb.CONTAINER_EXITED, 0, "Completed")
        assert "crib-test system down" in log_text(pod)
        d.rs().RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=60)
        pod.teardown()
        assert_gone(d, pod.id, [cid], "sys")
    finally:
        lxc_delete_all(d)


def test_template_makes_the_root_filesystem(make_cribd):
    """template = busybox: LXC's busybox template makes each container's root filesystem
    (the image is pulled as kubelet does, but not used), deleted with the container; a
    template that fails makes Start fail with its words and leaves nothing."""
    need_lxc()
    d = make_cribd(default_class="tmpl", classes={"tmpl": "backend = lxc"})
    failing = os.path.join(d.base, "failing-template")
    with open(failing, "w") as f:
        f.write("#!/bin/sh\necho 'preparing...'\necho 'no rootfs for you' >&2\nexit 3\n")
    os.chmod(failing, 0o755)
    d.write_classes({"tmpl": "backend = lxc\ntemplate = busybox",
                     "bad": f"backend = lxc\ntemplate = {failing}"})
    d.start()
    try:
        pod = LxcPod(d, "tmpl", name="tmpl")
        cid = pod.create(command=["sh", "-c", "cat /etc/inittab; exec sleep 600"])
        root = lxcpath(d, "tmpl")
        assert os.path.isfile(os.path.join(root, cid, "rootfs", "etc", "inittab"))
        assert dict(lxc_config(d, cid, "tmpl"))["lxc.rootfs.path"] == \
            "dir:" + os.path.join(root, cid, "rootfs")
        wait_for(lambda: "tty1::respawn:/bin/getty" in log_text(pod), what="the template's inittab")
        # The template's own output is not the container's.
        assert "Copying" not in log_text(pod) and "busybox" not in log_text(pod, stream="stderr")
        assert pod.exec(cid, ["cat", "/etc/hostname"]).exit_code == 0
        d.rs().StopContainer(pb.StopContainerRequest(container_id=cid, timeout=1), timeout=60)
        d.rs().RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=60)
        assert not os.path.exists(os.path.join(root, cid))
        pod.teardown()
        assert_gone(d, pod.id, [cid], "tmpl")

        bad = LxcPod(d, "bad", name="bad")
        cid = bad.create(start=False)
        e = rpc_error(lambda: d.rs().StartContainer(pb.StartContainerRequest(container_id=cid),
                                                    timeout=60))
        assert f"LXC template '{failing}' failed" in e.details(), e.details()
        assert "no rootfs for you" in e.details()
        st = bad.status(cid)
        assert (st.state, st.reason) == (pb.CONTAINER_EXITED, "StartError")
        assert not os.path.exists(os.path.join(lxcpath(d, "bad"), cid))
        assert log_text(bad) == ""
        d.rs().RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=60)
        bad.teardown()
        assert_gone(d, bad.id, [cid], "bad")
    finally:
        lxc_delete_all(d)


def busybox_tree(path, marker):
    """A root filesystem of busybox's applets in PATH, with /marker."""
    os.makedirs(os.path.join(path, "bin"))
    for sub in ("etc", "proc", "sys", "dev", "tmp"):
        os.makedirs(os.path.join(path, sub))
    subprocess.run(["cp", "/bin/busybox", os.path.join(path, "bin", "busybox")], check=True)
    for applet in ("sh", "cat", "echo", "sleep", "ls"):
        os.symlink("busybox", os.path.join(path, "bin", applet))
    with open(os.path.join(path, "marker"), "w") as f:
        f.write(marker)


def test_rootfs_directory_is_shared_read_only_underneath(make_cribd):
    """rootfs = DIR: every container runs on an overlay of DIR, writes to its own layer,
    and DIR never changes; DIR gone makes Start fail clearly and leaves nothing."""
    need_lxc()
    d = make_cribd(default_class="dir", classes={"dir": "backend = lxc"})
    tree = os.path.join(d.base, "tree")
    busybox_tree(tree, "from the class's directory\n")
    d.write_classes({"dir": f"backend = lxc\nrootfs = {tree}"})
    d.start()
    try:
        pod = LxcPod(d, "dir", name="dir")
        cids = [pod.create(name=f"c{i}", command=[
            "sh", "-c", f"cat /marker; echo {i} > /marker; echo {i} > /tmp/mine; exec sleep 600"])
            for i in range(2)]
        for i, cid in enumerate(cids):
            wait_for(lambda: log_text(pod, f"c{i}"), what=f"c{i}'s log")
            assert log_text(pod, f"c{i}") == "from the class's directory\n"
            assert pod.exec(cid, ["cat", "/marker"]).stdout == f"{i}\n".encode()
            assert pod.exec(cid, ["ls", "/tmp"]).stdout == b"mine\n"
        with open(os.path.join(tree, "marker")) as f:
            assert f.read() == "from the class's directory\n"
        assert os.listdir(os.path.join(tree, "tmp")) == []
        for cid in cids:
            d.rs().StopContainer(pb.StopContainerRequest(container_id=cid, timeout=1), timeout=60)
            d.rs().RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=60)

        # The directory goes away under the class: Start says so, and nothing is left.
        subprocess.run(["rm", "-rf", tree], check=True)
        cid = pod.create(name="late", start=False)
        e = rpc_error(lambda: d.rs().StartContainer(pb.StartContainerRequest(container_id=cid),
                                                    timeout=60))
        assert f"rootfs {tree}: No such file or directory" in e.details(), e.details()
        assert not os.path.exists(os.path.join(lxcpath(d, "dir"), cid))
        d.rs().RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=60)
        pod.teardown()
        assert_gone(d, pod.id, [*cids, cid], "dir")
    finally:
        lxc_delete_all(d)


def system_tree(path):
    """busybox_tree made a system: /sbin/init and an inittab with httpd on 127.0.0.1:8080."""
    busybox_tree(path, "the pod's system\n")
    for applet in ("init", "httpd", "ps", "wget", "id", "touch", "hostname"):
        os.symlink("busybox", os.path.join(path, "bin", applet))
    os.makedirs(os.path.join(path, "sbin"))
    os.symlink("/bin/busybox", os.path.join(path, "sbin", "init"))
    os.makedirs(os.path.join(path, "srv", "www"))
    with open(os.path.join(path, "srv", "www", "index.html"), "w") as f:
        f.write("served by the pod's system\n")
    with open(os.path.join(path, "etc", "inittab"), "w") as f:
        f.write("::respawn:/bin/httpd -f -p 127.0.0.1:8080 -h /srv/www\n")


def test_attached_processes_share_the_pod_system(make_cribd):
    """attach = true: the pod's LXC container is the system (an overlay of the class's
    rootfs, /sbin/init with its service), and each CRI container is a process attached
    into it: the pod's processes, network and files, plus its own cgroup with its limits,
    its own mounts and user."""
    need_lxc()
    d = make_cribd(default_class="pod", classes={"pod": "backend = lxc"})
    tree = os.path.join(d.base, "system")
    system_tree(tree)
    vol = os.path.join(d.base, "vol")
    os.makedirs(vol)
    with open(os.path.join(vol, "data"), "w") as f:
        f.write("from the host\n")
    d.write_classes({"pod": f"backend = lxc\nsystem = true\nrootfs = {tree}\nattach = true"})
    d.start()
    try:
        pod = LxcPod(d, "pod", name="attach", hostname="sysbox")
        root = lxcpath(d, "pod")
        assert dict(lxc_config(d, pod.id, "pod"))["lxc.rootfs.path"] == \
            f"overlay:{tree}:{os.path.join(root, pod.id, 'delta0')}"
        cfg = container_config(name="app", image=IMAGE, log_path="app.log", command=[
            "sh", "-c", "echo hello from $(id -u); exec sleep 600"])
        cfg.mounts.append(pb.Mount(container_path="/data", host_path=vol, readonly=True))
        cfg.linux.resources.memory_limit_in_bytes = 64 << 20
        cfg.linux.security_context.run_as_user.value = 1234
        d.pull(IMAGE)
        cid = d.rs().CreateContainer(pb.CreateContainerRequest(
            pod_sandbox_id=pod.id, config=cfg, sandbox_config=pod.cfg), timeout=120).container_id
        d.rs().StartContainer(pb.StartContainerRequest(container_id=cid), timeout=60)
        assert pod.status(cid).state == pb.CONTAINER_RUNNING
        # A process in the pod's container, not an LXC container of its own.
        assert not os.path.exists(os.path.join(root, cid, "config"))
        assert lxc_state(d, cid, "pod")["status"] == "running"
        pid = ctr_pid(d, cid)
        infra = lxc_state(d, pod.id, "pod")["pid"]
        for ns in ("pid", "net", "uts", "ipc"):
            assert os.readlink(f"/proc/{pid}/ns/{ns}") == os.readlink(f"/proc/{infra}/ns/{ns}")
        assert os.readlink(f"/proc/{pid}/ns/mnt") != os.readlink(f"/proc/{infra}/ns/mnt")
        # Its own cgroup below the pod's, with its limit.
        cg = f"crib/pod-{pod.id[:12]}/{cid}"
        assert str(pid) in read_cgroup(cg, "memory", "cgroup.procs").split()
        assert read_cgroup(cg, "memory", "memory.limit_in_bytes") == str(64 << 20)
        d.rs().UpdateContainerResources(pb.UpdateContainerResourcesRequest(
            container_id=cid, linux=pb.LinuxContainerResources(memory_limit_in_bytes=96 << 20)))
        assert read_cgroup(cg, "memory", "memory.limit_in_bytes") == str(96 << 20)

        wait_for(lambda: log_text(pod, "app"), what="app's log")
        assert log_text(pod, "app") == "hello from 1234\n"
        ps = pod.exec(cid, ["ps", "-o", "pid,user,args"]).stdout.decode()
        assert any(line.split()[:1] == ["1"] and line.split()[-1] == "init"
                   for line in ps.splitlines()), ps
        assert "httpd" in ps and "sleep 600" in ps
        wait_for(lambda: pod.exec(cid, ["wget", "-q", "-O", "-", "http://127.0.0.1:8080/"])
                 .stdout == b"served by the pod's system\n", what="the pod's httpd")
        assert pod.exec(cid, ["id", "-u"]).stdout == b"1234\n"
        assert pod.exec(cid, ["hostname"]).stdout == b"sysbox\n"
        assert pod.exec(cid, ["cat", "/marker"]).stdout == b"the pod's system\n"
        assert pod.exec(cid, ["cat", "/data/data"]).stdout == b"from the host\n"
        r = pod.exec(cid, ["touch", "/data/new"])
        assert r.exit_code != 0 and b"Read-only" in r.stderr
        # The volume is the container's alone: the pod's init does not see it.
        assert not os.path.exists(f"/proc/{infra}/root/data/data")
        # cribd killed and back: the process (its monitor's child) ran on and is found.
        d.kill9()
        assert pid_alive(pid)
        d.start()
        assert pod.status(cid).state == pb.CONTAINER_RUNNING
        assert pod.exec(cid, ["id", "-u"]).stdout == b"1234\n"

        d.rs().StopContainer(pb.StopContainerRequest(container_id=cid, timeout=10), timeout=60)
        st = pod.status(cid)
        assert (st.state, st.exit_code) == (pb.CONTAINER_EXITED, 143)
        assert not pid_alive(pid)
        # The system runs on.
        assert lxc_state(d, pod.id, "pod")["status"] == "running"

        # A command that is not there: Start says so, and nothing is left.
        bad = pod.create(name="bad", command=["/nonexistent/cmd"], start=False)
        e = rpc_error(lambda: d.rs().StartContainer(pb.StartContainerRequest(container_id=bad),
                                                    timeout=60))
        assert "exec /nonexistent/cmd: No such file or directory" in e.details(), e.details()
        assert not os.path.exists(os.path.join(root, bad))
        assert cgroup_dirs(f"crib/pod-{pod.id[:12]}/{bad}") == []
        for c in (cid, bad):
            d.rs().RemoveContainer(pb.RemoveContainerRequest(container_id=c), timeout=60)
        assert cgroup_dirs(cg) == []
        assert cgroup_dirs(f"crib.lxc/{cid}.monitor") == []
        assert os.listdir(root) == [pod.id]
        pod.teardown()
        assert_gone(d, pod.id, [cid, bad], "pod")
    finally:
        lxc_delete_all(d)


def test_bidirectional_mount_propagates_both_ways(lx):
    """PROPAGATION_BIDIRECTIONAL (rshared): LXC leaves a container's mounts slaves of the
    host's, so crib-lxc's start-host hook puts a peer of the host's mount over the bind;
    then a mount on either side shows on the other, as critest's rshared spec checks."""
    src = os.path.join(lx.base, "shared-src")
    os.makedirs(src)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", src], check=True)
    try:
        subprocess.run(["mount", "--make-shared", src], check=True)
        pod = LxcPod(lx, name="prop", privileged=True)
        cfg = container_config(name="ctr", image=IMAGE, log_path="ctr.log")
        cfg.mounts.append(pb.Mount(container_path="/mnt/shared", host_path=src,
                                   propagation=pb.PROPAGATION_BIDIRECTIONAL))
        cfg.linux.security_context.privileged = True
        lx.pull(IMAGE)
        cid = lx.rs().CreateContainer(pb.CreateContainerRequest(
            pod_sandbox_id=pod.id, config=cfg, sandbox_config=pod.cfg), timeout=120).container_id
        lx.rs().StartContainer(pb.StartContainerRequest(container_id=cid), timeout=60)
        # Host to container.
        os.makedirs(os.path.join(src, "fromhost"))
        subprocess.run(["mount", "-t", "tmpfs", "tmpfs", os.path.join(src, "fromhost")],
                       check=True)
        r = pod.exec(cid, ["grep", "-c", " /mnt/shared/fromhost ", "/proc/self/mountinfo"])
        assert r.exit_code == 0, r.stdout
        # Container to host.
        r = pod.exec(cid, ["sh", "-c", "mkdir /mnt/shared/fromctr && "
                                       "mount -t tmpfs tmpfs /mnt/shared/fromctr"])
        assert r.exit_code == 0, r.stderr
        assert os.path.ismount(os.path.join(src, "fromctr"))
        pod.teardown()
        assert_gone(lx, pod.id, [cid])
    finally:
        subprocess.run(["umount", "-R", "-l", src], capture_output=True)


def test_missing_command_fails_start_and_leaves_nothing(lx):
    pod = LxcPod(lx, name="missing")
    cid = pod.create(command=["/nonexistent/cmd"], start=False)
    assert pod.status(cid).state == pb.CONTAINER_CREATED
    e = rpc_error(lambda: lx.rs().StartContainer(pb.StartContainerRequest(container_id=cid),
                                                 timeout=60))
    assert "/nonexistent/cmd" in e.details()
    st = pod.status(cid)
    assert (st.state, st.exit_code, st.reason) == (pb.CONTAINER_EXITED, 128, "StartError")
    assert "/nonexistent/cmd" in st.message
    assert lxc_state(lx, cid) is None or lxc_state(lx, cid)["status"] == "stopped"
    lx.rs().RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=60)
    assert not os.path.exists(os.path.join(lxcpath(lx), cid))
    assert not os.path.exists(os.path.join(lx.run, "backends", "lxc", "containers", cid))
    assert cgroup_dirs(f"crib/pod-{pod.id[:12]}/{cid}") == []
    assert list(lx.rs().ListContainers(pb.ListContainersRequest()).containers) == []
    # The pod is unharmed: another container runs in it.
    good = pod.create(name="good", command=["sleep", "600"])
    assert pod.status(good).state == pb.CONTAINER_RUNNING
    pod.teardown()
    assert_gone(lx, pod.id, [cid, good])


def test_survives_cribd_kill(lx):
    pod = LxcPod(lx, name="survive")
    cid = pod.create(command=[
        "sh", "-c", "i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.05; done"])
    quits = pod.create(name="quits", command=["sh", "-c", "sleep 2; exit 5"])
    pid = ctr_pid(lx, cid)
    wait_for(lambda: log_text(pod).count("\n") >= 3, what="the first ticks")
    lx.kill9()
    before = log_text(pod).count("\n")
    time.sleep(2.5)
    # Its monitors, not cribd, hold the container and write its log.
    assert pid_alive(pid)
    assert lxc_state(lx, cid)["status"] == "running"
    assert log_text(pod).count("\n") > before + 5
    lx.start()
    ids = {c.id: c.state for c in lx.rs().ListContainers(pb.ListContainersRequest()).containers}
    assert set(ids) == {cid, quits}
    assert ids[cid] == pb.CONTAINER_RUNNING
    assert pod.status(cid).state == pb.CONTAINER_RUNNING
    assert ctr_pid(lx, cid) == pid == lxc_state(lx, cid)["pid"]
    # The container that ended while cribd was away has its exit code.
    assert pod.wait_exit(quits).exit_code == 5
    n = log_text(pod).count("\n")
    wait_for(lambda: log_text(pod).count("\n") > n + 5, what="more ticks after the restart")
    # Every line arrived, in order, none twice.
    text = log_text(pod)
    lines = text.splitlines()
    assert lines == [f"tick{i}" for i in range(len(lines))]
    r = pod.exec(cid, ["echo", "still here"])
    assert r.stdout == b"still here\n"
    # The restarted cribd still hears the exit: PID 1 ignores SIGTERM, SIGKILL follows.
    lx.rs().StopContainer(pb.StopContainerRequest(container_id=cid, timeout=2), timeout=60)
    st = pod.status(cid)
    assert (st.state, st.exit_code) == (pb.CONTAINER_EXITED, 137)
    assert not pid_alive(pid)
    lx.rs().RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=60)
    pod.teardown()
    assert_gone(lx, pod.id, [cid, quits])


def test_lxc_and_runc_pods_side_by_side(make_cribd):
    need_lxc()
    if not os.access(RUNTIMES["runc"], os.X_OK):
        pytest.skip("runc is not installed (scripts/deps.sh installs it)")
    d = make_cribd(default_class="runc", classes={
        "runc": f"backend = oci\nbinary = {RUNTIMES['runc']}",
        "lxc": "backend = lxc",
    }).start()
    try:
        pods, cids = {}, {}
        for handler in ("runc", "lxc"):
            pods[handler] = Pod(d, handler, name=f"on-{handler}") if handler == "runc" \
                else LxcPod(d, name=f"on-{handler}")
            cids[handler] = pods[handler].create(command=[
                "sh", "-c", f"echo hello from {handler}; exec sleep 600"])
        listed = {c.id: c for c in d.rs().ListContainers(pb.ListContainersRequest()).containers}
        assert set(listed) == set(cids.values())
        assert all(c.state == pb.CONTAINER_RUNNING for c in listed.values())
        handlers = {p.id: p.runtime_handler
                    for p in d.rs().ListPodSandbox(pb.ListPodSandboxRequest()).items}
        assert handlers == {pods["runc"].id: "runc", pods["lxc"].id: "lxc"}
        # Each on its own runtime: only the lxc ones are LXC containers.
        assert sorted(os.listdir(lxcpath(d))) == sorted([pods["lxc"].id, cids["lxc"]])
        runc_root = os.path.join(d.run, "backends", "oci", "roots", "runc")
        runc_ids = subprocess.run([RUNTIMES["runc"], "--root", runc_root, "list", "-q"],
                                  capture_output=True, text=True, check=True).stdout.split()
        assert runc_ids == [cids["runc"]]
        for handler, cid in cids.items():
            pod = pods[handler]
            wait_for(lambda: os.path.exists(pod.log_path()) and log_text(pod),
                     what=f"{handler}'s log")
            assert read_log(pod.log_path()) == [("stdout", "F", f"hello from {handler}")]
            s = d.rs().ContainerStats(pb.ContainerStatsRequest(container_id=cid)).stats
            assert s.attributes.id == cid
            assert s.memory.working_set_bytes.value > 0, handler
            assert s.cpu.usage_core_nano_seconds.value > 0, handler
            assert pod.exec(cid, ["echo", handler]).stdout == f"{handler}\n".encode()
        listed = d.rs().ListContainerStats(pb.ListContainerStatsRequest()).stats
        assert sorted(x.attributes.id for x in listed) == sorted(cids.values())
        for handler in ("lxc", "runc"):
            pods[handler].teardown()
        assert os.listdir(lxcpath(d)) == []
        assert subprocess.run([RUNTIMES["runc"], "--root", runc_root, "list", "-q"],
                              capture_output=True, text=True).stdout.split() == []
    finally:
        lxc_delete_all(d)


def ns_of(pid, kind):
    return os.readlink(f"/proc/{pid}/ns/{kind}")


def host_ids(pid):
    """The real uid and gid of PID as the host sees them."""
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.split(":", 1) for line in f.read().splitlines())
    return int(fields["Uid"].split()[0]), int(fields["Gid"].split()[0])


def test_idmap_pod_shares_one_user_namespace(make_cribd):
    """idmap = HOST:SIZE: the infra container makes the pod's user namespace (0 -> HOST) and
    the CRI containers join it, with the pod's network; the image's files and a volume,
    the host root's, are the container root's through idmapped mounts, and what it writes
    lands as HOST in the snapshot's upper directory."""
    need_lxc()
    d = make_cribd(default_class="uns", classes={"uns": "backend = lxc\nidmap = 100000:65536"})
    # The container's root reaches its lxcpath under the run directory: searchable.
    os.chmod(d.base, 0o711)
    d.start()
    vol = os.path.join(d.base, "vol")
    os.makedirs(vol)
    try:
        pod = LxcPod(d, "uns", name="uns", share_pid=True, privileged=True)
        cfg = container_config(name="ctr", image=IMAGE, log_path="ctr.log",
                               command=["sh", "-c", "echo started; sleep 600"])
        cfg.mounts.append(pb.Mount(container_path="/vol", host_path=vol))
        d.pull(IMAGE)
        cid = d.rs().CreateContainer(pb.CreateContainerRequest(
            pod_sandbox_id=pod.id, config=cfg, sandbox_config=pod.cfg), timeout=120).container_id
        d.rs().StartContainer(pb.StartContainerRequest(container_id=cid), timeout=60)
        assert pod.status(cid).state == pb.CONTAINER_RUNNING
        infra, ctr = lxc_state(d, pod.id, "uns")["pid"], ctr_pid(d, cid)
        # One user namespace for the pod, not the host's; the pod's network and IPC.
        assert ns_of(ctr, "user") == ns_of(infra, "user") != ns_of("self", "user")
        for kind in ("net", "ipc", "uts", "pid"):
            assert ns_of(ctr, kind) == ns_of(infra, kind), kind
        assert host_ids(ctr) == (100000, 100000)
        r = pod.exec(cid, ["cat", "/proc/self/uid_map", "/proc/self/gid_map"])
        assert r.stdout.decode().split() == ["0", "100000", "65536"] * 2, (r.exit_code, r.stderr)
        # The image's files are root's inside; the container's root writes them.
        r = pod.exec(cid, ["sh", "-c", "stat -c '%u %g' /etc/passwd /bin && "
                                       "echo hi >> /etc/passwd && echo new > /newfile && id -u"])
        assert (r.exit_code, r.stdout.split()) == (0, [b"0", b"0", b"0", b"0", b"0"]), r.stderr
        # On the host the writes are the mapped root's, in the snapshot's upper directory.
        [upper] = [os.path.join(dp, "newfile") for dp, _, files in os.walk(d.state)
                   if "newfile" in files and dp.endswith(os.path.join(cid, "upper"))]
        assert (os.stat(upper).st_uid, os.stat(upper).st_gid) == (100000, 100000)
        # The volume, root's on the host, is the container root's too, and stays root's.
        r = pod.exec(cid, ["sh", "-c", "stat -c '%u' /vol && echo v > /vol/f"])
        assert (r.exit_code, r.stdout.split()) == (0, [b"0"]), r.stderr
        st = os.stat(os.path.join(vol, "f"))
        assert (st.st_uid, st.st_gid) == (0, 0)
        # proc and mqueue are the pod's: mounted inside; /sys is the host's, read-only.
        r = pod.exec(cid, ["sh", "-c", "ps -o pid,args; touch /sys/x; echo $?"])
        assert b"sleep 600" in r.stdout and r.stdout.split()[-1] != b"0", r.stdout
        r = pod.exec(cid, ["sh", "-c", "grep -E ' /dev/mqueue | /proc ' /proc/self/mountinfo"])
        assert r.stdout.count(b"\n") == 2, r.stdout
        assert "started" in log_text(pod)
        # A second container joins the same user namespace; stop escalates as anywhere.
        other = pod.create(name="other", command=["sh", "-c", "trap '' TERM; sleep 600"])
        assert ns_of(ctr_pid(d, other), "user") == ns_of(ctr, "user")
        d.rs().StopContainer(pb.StopContainerRequest(container_id=other, timeout=1), timeout=60)
        assert pod.status(other).exit_code == 137
        # Supplementary groups, which LXC leaves unset in a user namespace (crib-setids).
        linux = pb.LinuxContainerConfig()
        linux.security_context.run_as_user.value = 1000
        linux.security_context.supplemental_groups.extend([1234, 50000])
        linux.security_context.namespace_options.pid = pb.POD
        grp = pod.create(name="grp", command=["sh", "-c", "id -u; id -G; sleep 600"],
                         linux=linux)
        wait_for(lambda: len(log_text(pod, "grp").split("\n")) > 2, what="grp's ids")
        assert log_text(pod, "grp").split("\n")[:2] == ["1000", "0 1234 50000"], \
            log_text(pod, "grp")
        assert host_ids(ctr_pid(d, grp)) == (101000, 100000)
        # A privileged container has the node's powers: the node's user namespace.
        linux = pb.LinuxContainerConfig()
        linux.security_context.privileged = True
        linux.security_context.namespace_options.pid = pb.POD
        priv = pod.create(name="priv", command=["sleep", "600"], linux=linux)
        assert ns_of(ctr_pid(d, priv), "user") == ns_of("self", "user")
        assert ns_of(ctr_pid(d, priv), "net") == ns_of(ctr, "net")
        # cribd killed and restarted: the containers run on, and crib-lxc still reaches
        # their monitors, which listen in the pod's network namespace.
        d.kill9()
        assert pid_alive(ctr) and lxc_state(d, cid, "uns")["status"] == "running"
        d.start()
        assert pod.status(cid).state == pb.CONTAINER_RUNNING
        assert pod.exec(cid, ["id", "-u"]).stdout == b"0\n"
        pod.teardown()
        assert_gone(d, pod.id, [cid, other, grp, priv], "uns")
        with open("/proc/self/mountinfo") as f:
            left = [line for line in f if lxcpath(d, "uns") in line or "/snapshots/" in line]
        assert not left
    finally:
        lxc_delete_all(d)
