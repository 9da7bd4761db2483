# SPDX-License-Identifier: Apache-2.0
"""The docker backend through CRI, on a dockerd of the tests' own.

The module starts one dockerd (Debian's docker.io) with its own socket, data root and
containerd namespace, --bridge=none --iptables=false, so that the node's Docker and its
containers are never touched; images come from the session's registry through cribd's
mirror setting, as kubelet would ask for them."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import http.client

import grpc
import pytest

from conftest import container_config, container_status, pb, pod_config, rpc_error, wait_for
from test_libvirt import destroy_leftovers, domain_state, need_libvirt
from test_lxc import lxc_delete_all, lxcpath, need_lxc
from test_streaming import (CRICTL, STTY_SIZE, attach_tty_91x13, crictl_env, exec_url,
                            run_crictl, ws_exec)

IMAGE = "crib-test/busybox"
CRI_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) (stdout|stderr) ([PF]) (.*)$")


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("docker")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.path)


class Dockerd:
    """A dockerd of the tests' own, and a small Engine API client for checking on it."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="crib-dockerd-", dir="/tmp")
        self.socket = os.path.join(self.dir, "docker.sock")
        self.ns = "crib-test-" + os.urandom(4).hex()
        self.proc = None
        self.start()

    def start(self):
        self.logf = open(os.path.join(self.dir, "dockerd.log"), "a")
        self.proc = subprocess.Popen(
            ["dockerd", "--host", "unix://" + self.socket,
             "--data-root", os.path.join(self.dir, "data"),
             "--exec-root", os.path.join(self.dir, "exec"),
             "--pidfile", os.path.join(self.dir, "docker.pid"),
             "--containerd-namespace", self.ns,
             "--containerd-plugins-namespace", self.ns + "-plugins",
             "--bridge=none", "--iptables=false", "--ip-forward=false", "--ip-masq=false",
             "--userland-proxy=false", "--log-level=warn"],
            stdout=self.logf, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("dockerd exited:\n" + self.log())
            try:
                if self.call("GET", "/_ping")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("dockerd did not come up:\n" + self.log())

    def kill9(self):
        """SIGKILL to dockerd and the containerd it runs, as in a crash of both: sockets
        stay behind; containers' shims (sessions of their own) live on."""
        pidfile = os.path.join(self.dir, "exec", "containerd", "containerd.pid")
        with open(pidfile) as f:
            containerd = int(f.read())
        self.proc.kill()
        self.proc.wait(timeout=30)
        os.kill(containerd, signal.SIGKILL)
        # Nobody here reaps the orphaned containerd: its zombie would pass for a live one
        # to the next dockerd, which would wait for it.  Its pid file goes as its pid would.
        os.unlink(pidfile)
        self.proc = None
        self.logf.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=60)
        self.proc = None
        self.logf.close()

    def log(self):
        with open(os.path.join(self.dir, "dockerd.log")) as f:
            return f.read()

    def call(self, method, path, body=None):
        c = UnixHTTP(self.socket)
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            c.request(method, "/v1.41" + path,
                      body=json.dumps(body) if body is not None else None, headers=headers)
            r = c.getresponse()
            data = r.read()
            return r.status, (json.loads(data) if data and data[:1] in b"[{" else data)
        finally:
            c.close()

    def containers(self):
        return self.call("GET", "/containers/json?all=1")[1]

    def inspect(self, docker_id):
        status, doc = self.call("GET", f"/containers/{docker_id}/json")
        return doc if status == 200 else None

    def by_crib_id(self, crib_id):
        return [c for c in self.containers() if c["Labels"].get("io.crib.id") == crib_id]

    def close(self):
        if self.proc and self.proc.poll() is None:
            for c in self.containers():
                self.call("DELETE", f"/containers/{c['Id']}?force=1&v=1")
        self.stop()
        # The data root's overlay mounts go with dockerd; anything left is detached first.
        subprocess.run(["umount", "-R", "-l", self.dir], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def dockerd():
    if os.geteuid() != 0:
        pytest.skip("dockerd needs root")
    if not shutil.which("dockerd"):
        pytest.skip("dockerd is not installed (scripts/deps.sh installs docker.io)")
    d = Dockerd()
    yield d
    d.close()


@pytest.fixture
def dk(make_cribd, dockerd):
    """A cribd whose default class runs on the tests' dockerd; testproc beside it."""
    yield make_cribd(default_class="docker", classes={
        "docker": f"backend = docker\nsocket = {dockerd.socket}",
        "proc": "backend = testproc",
    }).start()
    # Each test starts on an Engine without crib's containers of the tests before.
    for c in dockerd.containers():
        if c["Labels"].get("io.crib.managed") == "true":
            dockerd.call("DELETE", f"/containers/{c['Id']}?force=1&v=1")


def run_pod(d, name="pod", handler="docker", **kw):
    cfg = pod_config(name=name, **kw)
    pod_id = d.rs().RunPodSandbox(pb.RunPodSandboxRequest(config=cfg, runtime_handler=handler),
                                  timeout=60).pod_sandbox_id
    return pod_id, cfg


def make_container(d, pod_id, pod_cfg, command, name="ctr", start=True, **kw):
    d.pull(IMAGE)
    cfg = container_config(name=name, command=command, **kw)
    cfg.image.image = IMAGE
    cid = d.rs().CreateContainer(pb.CreateContainerRequest(
        pod_sandbox_id=pod_id, config=cfg, sandbox_config=pod_cfg), timeout=60).container_id
    if start:
        d.rs().StartContainer(pb.StartContainerRequest(container_id=cid), timeout=60)
    return cid


def cri_lines(path):
    with open(path) as f:
        return [CRI_LINE.match(line).groups() for line in f.read().splitlines()]


def test_pod_is_a_labelled_sandbox_container(dk, dockerd):
    pod_id, _ = run_pod(dk, name="web")
    [sb] = dockerd.by_crib_id(pod_id)
    assert sb["State"] == "running"
    assert sb["Labels"]["io.crib.managed"] == "true"
    assert sb["Labels"]["io.crib.kind"] == "sandbox"
    assert sb["Labels"]["io.kubernetes.pod.name"] == "web"
    assert sb["Names"][0].startswith("/k8s_POD_web_default_")
    st = dk.rs().PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=pod_id))
    assert st.status.state == pb.SANDBOX_READY
    assert st.status.runtime_handler == "docker"
    dk.rs().StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)
    assert dockerd.inspect(sb["Id"])["State"]["Running"] is False
    st = dk.rs().PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=pod_id))
    assert st.status.state == pb.SANDBOX_NOTREADY
    # Stop and remove are idempotent.
    dk.rs().StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)
    dk.rs().RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)
    dk.rs().RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)
    assert dockerd.inspect(sb["Id"]) is None


def test_container_runs_in_the_pod_and_logs_in_cri_format(dk, dockerd):
    pod_id, pod_cfg = run_pod(dk, log_directory=os.path.join(dk.logs, "p1"))
    cid = make_container(dk, pod_id, pod_cfg, [
        "sh", "-c", "echo out1; echo err1 >&2; head -c 20000 /dev/zero | tr '\\0' a; echo; exit 3"],
        log_path="c.log")
    wait_for(lambda: container_status(dk, cid).status.state == pb.CONTAINER_EXITED, timeout=30,
             what="the container to exit")
    st = container_status(dk, cid).status
    assert st.exit_code == 3
    assert st.reason == "Error"
    assert st.started_at > 0 and st.finished_at >= st.started_at
    [ctr] = dockerd.by_crib_id(cid)
    [sb] = dockerd.by_crib_id(pod_id)
    hc = dockerd.inspect(ctr["Id"])["HostConfig"]
    assert hc["NetworkMode"] == "container:" + sb["Id"]
    assert hc["IpcMode"] == "container:" + sb["Id"]
    path = os.path.join(dk.logs, "p1", "c.log")
    wait_for(lambda: os.path.exists(path) and len(cri_lines(path)) >= 4, timeout=10,
             what="the log lines")
    lines = [(s, t, text) for _, s, t, text in cri_lines(path)]
    assert ("stdout", "F", "out1") in lines
    assert ("stderr", "F", "err1") in lines
    # The Engine cuts lines at 16 KiB into partial messages: P, then the rest F.
    long = [(t, len(text)) for s, t, text in lines if text.startswith("aaa")]
    assert long == [("P", 16384), ("F", 20000 - 16384)]


def test_exec_sync_and_stats(dk):
    pod_id, pod_cfg = run_pod(dk)
    cid = make_container(dk, pod_id, pod_cfg, ["sleep", "3600"])
    r = dk.rs().ExecSync(pb.ExecSyncRequest(
        container_id=cid, cmd=["sh", "-c", "echo hi; echo oops >&2; exit 7"], timeout=20))
    assert (r.stdout, r.stderr, r.exit_code) == (b"hi\n", b"oops\n", 7)
    s = dk.rs().ContainerStats(pb.ContainerStatsRequest(container_id=cid)).stats
    assert s.attributes.id == cid
    assert s.memory.working_set_bytes.value > 0
    assert s.cpu.usage_core_nano_seconds.value > 0
    ps = dk.rs().PodSandboxStats(pb.PodSandboxStatsRequest(pod_sandbox_id=pod_id)).stats
    # The pod's figures sum its containers' (the sandbox's too), sampled a moment later.
    assert ps.linux.memory.working_set_bytes.value > 0
    assert ps.linux.cpu.usage_core_nano_seconds.value >= s.cpu.usage_core_nano_seconds.value
    dk.rs().StopContainer(pb.StopContainerRequest(container_id=cid, timeout=1), timeout=60)
    st = container_status(dk, cid).status
    assert st.state == pb.CONTAINER_EXITED
    # Stop and remove are idempotent.
    dk.rs().StopContainer(pb.StopContainerRequest(container_id=cid, timeout=1), timeout=60)
    dk.rs().RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=60)
    dk.rs().RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=60)
    assert rpc_error(lambda: container_status(dk, cid)).code() == grpc.StatusCode.NOT_FOUND


def test_images_live_in_the_engine(dk, dockerd):
    ref = dk.pull(IMAGE)
    assert ref.startswith("sha256:")
    status, doc = dockerd.call("GET", f"/images/{IMAGE}:latest/json")
    assert status == 200 and doc["Id"] == ref
    st = dk.images().ImageStatus(pb.ImageStatusRequest(image=pb.ImageSpec(image=IMAGE)))
    assert st.image.id == ref
    assert IMAGE + ":latest" in st.image.repo_tags
    listed = dk.images().ListImages(pb.ListImagesRequest()).images
    assert ref in [i.id for i in listed]
    fs = dk.images().ImageFsInfo(pb.ImageFsInfoRequest())
    assert fs.image_filesystems[0].used_bytes.value > 0
    missing = rpc_error(lambda: dk.pull("crib-test/no-such-image"))
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    assert "no-such-image" in missing.details()
    dk.images().RemoveImage(pb.RemoveImageRequest(image=pb.ImageSpec(image=IMAGE)))
    dk.images().RemoveImage(pb.RemoveImageRequest(image=pb.ImageSpec(image=IMAGE)))
    st = dk.images().ImageStatus(pb.ImageStatusRequest(image=pb.ImageSpec(image=IMAGE)))
    assert not st.HasField("image")


def test_exit_reaches_cribd_through_the_event_stream(dk):
    pod_id, pod_cfg = run_pod(dk)
    cid = make_container(dk, pod_id, pod_cfg, ["sh", "-c", "sleep 1; exit 4"])
    # ListContainers answers from cribd's own state: only the Engine's die event moves it.
    def exited():
        [c] = [c for c in dk.rs().ListContainers(pb.ListContainersRequest()).containers
               if c.id == cid]
        return c.state == pb.CONTAINER_EXITED
    wait_for(exited, timeout=20, what="the die event to mark the container exited")


def test_logs_survive_cribd_killed_and_restarted(dk):
    pod_id, pod_cfg = run_pod(dk, log_directory=os.path.join(dk.logs, "p2"))
    cid = make_container(dk, pod_id, pod_cfg, [
        "sh", "-c", "i=0; while [ $i -lt 60 ]; do echo line$i; i=$((i+1)); sleep 0.05; done"],
        log_path="c.log")
    time.sleep(0.8)
    dk.kill9()
    dk.start()
    wait_for(lambda: container_status(dk, cid).status.state == pb.CONTAINER_EXITED, timeout=30,
             what="the container to exit")
    path = os.path.join(dk.logs, "p2", "c.log")
    want = [f"line{i}" for i in range(60)]
    wait_for(lambda: len(cri_lines(path)) >= 60, timeout=10, what="all 60 lines")
    assert [text for _, _, _, text in cri_lines(path)] == want


def test_reopen_log_writes_to_the_same_path(dk):
    pod_id, pod_cfg = run_pod(dk, log_directory=os.path.join(dk.logs, "p3"))
    cid = make_container(dk, pod_id, pod_cfg, [
        "sh", "-c", "while :; do echo tick; sleep 0.1; done"], log_path="c.log")
    path = os.path.join(dk.logs, "p3", "c.log")
    wait_for(lambda: os.path.exists(path) and os.path.getsize(path) > 0, timeout=10,
             what="the first lines")
    os.rename(path, path + ".1")
    dk.rs().ReopenContainerLog(pb.ReopenContainerLogRequest(container_id=cid))
    wait_for(lambda: os.path.exists(path) and os.path.getsize(path) > 0, timeout=10,
             what="lines in the reopened file")


def test_other_docker_containers_are_never_touched(dk, dockerd):
    # A container crib did not make, from the same image as crib's sandbox.
    pod_id, _ = run_pod(dk)
    [sb] = dockerd.by_crib_id(pod_id)
    status, doc = dockerd.call("POST", "/containers/create?name=not-cribs",
                               {"Image": sb["Image"], "Cmd": ["/pause"],
                                "HostConfig": {"NetworkMode": "none"}})
    assert status == 201, doc
    foreign = doc["Id"]
    dk.restart()
    names = [p.metadata.name for p in dk.rs().ListPodSandbox(pb.ListPodSandboxRequest()).items]
    assert names == ["pod"]
    dk.rs().StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)
    dk.rs().RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)
    assert dockerd.inspect(foreign) is not None
    dockerd.call("DELETE", f"/containers/{foreign}?force=1")


def test_dockerd_down_makes_only_its_class_unhealthy(dk, dockerd):
    pod_id, pod_cfg = run_pod(dk, log_directory=os.path.join(dk.logs, "p4"))
    cid = make_container(dk, pod_id, pod_cfg, [
        "sh", "-c", "echo before; sleep 3600"], log_path="c.log")
    path = os.path.join(dk.logs, "p4", "c.log")
    wait_for(lambda: os.path.exists(path) and cri_lines(path), what="the first line")
    dockerd.kill9()
    try:
        def unhealthy():
            st = dk.rs().Status(pb.StatusRequest(verbose=True), timeout=10)
            return any(c.type == "RuntimeReady" and not c.status for c in st.status.conditions) \
                or "does not answer" in json.dumps(dict(st.info))
        wait_for(unhealthy, timeout=20, what="the docker class to turn unhealthy")
        err = rpc_error(lambda: run_pod(dk, name="while-down"))
        assert err.code() == grpc.StatusCode.UNAVAILABLE, err.details()
        # The other backend keeps serving.
        proc_pod, _ = run_pod(dk, name="on-proc", handler="proc")
        dk.rs().StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=proc_pod))
    finally:
        dockerd.start()
    def healthy():
        st = dk.rs().Status(pb.StatusRequest(verbose=True), timeout=10)
        return "does not answer" not in json.dumps(dict(st.info))
    wait_for(healthy, timeout=30, what="the docker class to recover")
    pod2, _ = run_pod(dk, name="after")
    dk.rs().StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod2), timeout=60)
    # A dockerd without live-restore ends its containers when it comes back: crib sees the
    # end, and the line logged before is there once, nothing after it lost or repeated.
    wait_for(lambda: container_status(dk, cid).status.state == pb.CONTAINER_EXITED,
             timeout=30, what="the container's end after dockerd came back")
    assert [text for _, _, _, text in cri_lines(path)] == ["before"]


def test_resources_read_back_through_inspect(dk, dockerd):
    pod_id, pod_cfg = run_pod(dk)
    cfg = container_config(name="limited", command=["sleep", "3600"])
    cfg.image.image = IMAGE
    cfg.linux.resources.cpu_shares = 512
    cfg.linux.resources.cpu_period = 100000
    cfg.linux.resources.cpu_quota = 50000
    cfg.linux.resources.memory_limit_in_bytes = 64 << 20
    cfg.linux.resources.cpuset_cpus = "0"
    dk.pull(IMAGE)
    cid = dk.rs().CreateContainer(pb.CreateContainerRequest(
        pod_sandbox_id=pod_id, config=cfg, sandbox_config=pod_cfg), timeout=60).container_id
    dk.rs().StartContainer(pb.StartContainerRequest(container_id=cid), timeout=60)
    [ctr] = dockerd.by_crib_id(cid)
    hc = dockerd.inspect(ctr["Id"])["HostConfig"]
    assert (hc["CpuShares"], hc["CpuPeriod"], hc["CpuQuota"]) == (512, 100000, 50000)
    assert (hc["Memory"], hc["MemorySwap"], hc["CpusetCpus"]) == (64 << 20, 64 << 20, "0")
    dk.rs().UpdateContainerResources(pb.UpdateContainerResourcesRequest(
        container_id=cid, linux=pb.LinuxContainerResources(
            cpu_shares=256, memory_limit_in_bytes=128 << 20)), timeout=60)
    hc = dockerd.inspect(ctr["Id"])["HostConfig"]
    assert (hc["CpuShares"], hc["Memory"], hc["MemorySwap"]) == (256, 128 << 20, 128 << 20)


def test_oci_lxc_docker_and_libvirt_pods_side_by_side(make_cribd, dockerd):
    """One node, four runtimes: crictl sees every pod, each with its own logs and stats."""
    if not os.access("/usr/sbin/runc", os.X_OK):
        pytest.skip("runc is not installed")
    need_lxc()
    need_libvirt()
    d = make_cribd(default_class="runc", classes={
        "runc": "backend = oci\nbinary = /usr/sbin/runc",
        "lxc": "backend = lxc",
        "docker": f"backend = docker\nsocket = {dockerd.socket}",
        "vm": "backend = libvirt",
    }).start()
    handlers = ("runc", "lxc", "docker", "vm")
    cids = {}
    try:
        for handler in handlers:
            # Each class's images are its backend's: the docker class's live in the Engine.
            d.images().PullImage(pb.PullImageRequest(
                image=pb.ImageSpec(image=IMAGE, runtime_handler=handler)), timeout=120)
            pod_id, pod_cfg = run_pod(d, name=f"on-{handler}", handler=handler,
                                      log_directory=os.path.join(d.logs, handler))
            cids[handler] = make_container(d, pod_id, pod_cfg, [
                "sh", "-c", f"echo hello from {handler}; sleep 3600"], log_path="c.log")
        pods = json.loads(run_crictl(d, "pods", "-o", "json").stdout)["items"]
        assert sorted((p["metadata"]["name"], p["runtimeHandler"]) for p in pods) \
            == sorted((f"on-{h}", h) for h in handlers)
        ps = json.loads(run_crictl(d, "ps", "-o", "json").stdout)["containers"]
        assert sorted(c["id"] for c in ps) == sorted(cids.values())
        # Each on its own runtime.
        assert cids["lxc"] in os.listdir(lxcpath(d))
        assert [c["Labels"]["io.crib.id"] for c in dockerd.containers()
                if c["Labels"].get("io.crib.kind") == "container"] == [cids["docker"]]
        vm_pod = [p["id"] for p in pods if p["runtimeHandler"] == "vm"][0]
        assert domain_state(vm_pod) == "running"
        for handler, cid in cids.items():
            path = os.path.join(d.logs, handler, "c.log")
            wait_for(lambda: os.path.exists(path) and cri_lines(path), what=f"{handler}'s log")
            assert cri_lines(path)[0][1:] == ("stdout", "F", f"hello from {handler}")
            s = d.rs().ContainerStats(pb.ContainerStatsRequest(container_id=cid)).stats
            assert s.memory.working_set_bytes.value > 0, handler
            assert s.cpu.usage_core_nano_seconds.value > 0, handler
        listed = d.rs().ListContainerStats(pb.ListContainerStatsRequest()).stats
        assert sorted(x.attributes.id for x in listed) == sorted(cids.values())
        for p in d.rs().ListPodSandbox(pb.ListPodSandboxRequest()).items:
            d.rs().StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=p.id), timeout=120)
            d.rs().RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=p.id),
                                    timeout=120)
        assert os.listdir(lxcpath(d)) == []
    finally:
        lxc_delete_all(d)
        destroy_leftovers(d)
        for c in dockerd.containers():
            if c["Labels"].get("io.crib.managed") == "true":
                dockerd.call("DELETE", f"/containers/{c['Id']}?force=1&v=1")


def test_class_keys_are_checked(make_cribd, dockerd):
    d = make_cribd(classes={
        "proc": "backend = testproc",
        "rel": "backend = docker\nsocket = relative/path",
        "typo": f"backend = docker\nsocket = {dockerd.socket}\npause = x",
    }).start()
    conf = os.path.join(d.conf_d, "10-classes.conf")
    e = rpc_error(lambda: run_pod(d, handler="rel"))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert f"{conf}:6: socket 'relative/path' is not an absolute path" in e.details()
    e = rpc_error(lambda: run_pod(d, handler="typo"))
    assert f"{conf}:11: unknown key 'pause' for backend docker" in e.details()


# Exec and Attach streams: the streaming server's own clients (test_streaming.py), against
# the Engine's hijacked connections.



def docker_top(dockerd, docker_id):
    """The container's processes' command lines, as GET /containers/{id}/top lists them."""
    status, doc = dockerd.call("GET", f"/containers/{docker_id}/top")
    assert status == 200, doc
    cmd = doc["Titles"].index("CMD")
    return [p[cmd] for p in doc["Processes"]]


def test_exec_stream_stdin_outputs_and_exit_code(dk):
    pod_id, pod_cfg = run_pod(dk)
    cid = make_container(dk, pod_id, pod_cfg, ["sleep", "3600"])
    data = "".join(f"line {i}\n" for i in range(20000))  # 228 KiB: many frames either way
    r = run_crictl(dk, "exec", "-i", cid, "sh", "-c", "cat; echo err >&2; exit 5", stdin=data)
    assert r.returncode == 1 and r.stdout == data, r.stderr[-300:]
    assert "err\n" in r.stderr and "exit code 5" in r.stderr
    # Over WebSocket: stdout and stderr on channels of their own, then the status.
    got = ws_exec(exec_url(dk, cid, ["sh", "-c", "echo out; echo err >&2; exit 6"],
                           stderr=True), "v5.channel.k8s.io")
    assert got.get(1) == b"out\n" and got.get(2) == b"err\n"
    status = got.get(3, b"").decode()
    assert '"ExitCode"' in status and '"6"' in status, status
    # v5 closes stdin on its own: the end of input reaches the process.
    got = ws_exec(exec_url(dk, cid, ["sh", "-c", "cat; echo eof"], stdin=True),
                  "v5.channel.k8s.io", send=[(0, b"abc\n")], close_stdin=True)
    assert got.get(1) == b"abc\neof\n" and '"Success"' in got.get(3, b"").decode()
    r = run_crictl(dk, "exec", cid, "/no/such/binary")
    assert r.returncode != 0


def test_exec_stream_tty_and_resize(dk):
    pod_id, pod_cfg = run_pod(dk)
    cid = make_container(dk, pod_id, pod_cfg, ["sleep", "3600"])
    # script(1) gives crictl a terminal of a known size; the resize goes to /exec/{id}/resize.
    cmd = f"stty cols 91 rows 13; {CRICTL} exec -it {cid} sh -c '{STTY_SIZE}; tty; exit 4'"
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True,
                       env=crictl_env(dk), timeout=60)
    assert "13 91" in r.stdout and "/dev/pts/" in r.stdout, r.stdout
    assert "exit code 4" in r.stdout, r.stdout


def test_attach_stream(dk, dockerd):
    pod_id, pod_cfg = run_pod(dk, log_directory=os.path.join(dk.logs, "pa"))
    cid = make_container(dk, pod_id, pod_cfg, ["sh"], name="sh", stdin=True, log_path="sh.log")
    # The end of crictl's input ends the attach, as with kubelet; the shell runs on.
    r = run_crictl(dk, "attach", "-i", cid, stdin="echo hello-$((6*7))\n")
    assert r.returncode == 0, r.stderr
    assert "hello-42" in r.stdout
    assert container_status(dk, cid).status.state == pb.CONTAINER_RUNNING
    path = os.path.join(dk.logs, "pa", "sh.log")
    wait_for(lambda: os.path.exists(path) and "hello-42" in open(path).read(), timeout=10,
             what="the attached input's answer in the log")
    e = rpc_error(lambda: dk.rs().Attach(pb.AttachRequest(container_id=cid, tty=True,
                                                          stdout=True)))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT and "tty" in e.details()
    # A container without stdin takes no input.
    quiet = make_container(dk, pod_id, pod_cfg, ["sleep", "3600"], name="quiet")
    e = rpc_error(lambda: dk.rs().Attach(pb.AttachRequest(container_id=quiet, stdin=True,
                                                          stdout=True)))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT and "without stdin" in e.details()


def test_attach_stream_tty_and_resize(dk):
    pod_id, pod_cfg = run_pod(dk)
    cid = make_container(dk, pod_id, pod_cfg, ["sh"], name="sh", stdin=True, tty=True)
    # The size comes on the resize stream (/containers/{id}/resize).
    attach_tty_91x13(dk, cid)
    # Detaching leaves the container running.
    assert container_status(dk, cid).status.state == pb.CONTAINER_RUNNING


def test_exec_stream_needs_a_running_container(dk, dockerd):
    pod_id, pod_cfg = run_pod(dk)
    cid = make_container(dk, pod_id, pod_cfg, ["sleep", "3600"])
    url = exec_url(dk, cid, ["echo", "late"])
    # Stopped behind cribd's back: the Engine's refusal comes through the session.
    [ctr] = dockerd.by_crib_id(cid)
    assert dockerd.call("POST", f"/containers/{ctr['Id']}/stop?t=0")[0] in (204, 304)
    got = ws_exec(url, "v5.channel.k8s.io")
    status = got.get(3, b"").decode()
    assert "Failure" in status and "is not running" in status, status
    wait_for(lambda: container_status(dk, cid).status.state == pb.CONTAINER_EXITED,
             what="cribd to see the container exit")
    e = rpc_error(lambda: exec_url(dk, cid, ["true"]))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_exec_stream_client_gone_kills_the_command(dk, dockerd):
    import websocket

    pod_id, pod_cfg = run_pod(dk)
    cid = make_container(dk, pod_id, pod_cfg, ["sleep", "3600"])
    [ctr] = dockerd.by_crib_id(cid)
    running = lambda: any("4242" in p for p in docker_top(dockerd, ctr["Id"]))  # noqa: E731
    client = subprocess.Popen([CRICTL, "exec", cid, "sleep", "4242"], env=crictl_env(dk),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(running, timeout=20, what="the exec'd sleep")
        client.kill()
        client.wait()
        # The Engine would leave it running: the backend kills it.
        wait_for(lambda: not running(), timeout=20, what="the exec'd sleep to be killed")
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
    # A command blocked on its output to a client that reads nothing: the Engine forgets an
    # exec instance (and its pid) once its stream broke, so the kill must come first.
    url = exec_url(dk, cid, ["yes", "4242"])
    ws = websocket.create_connection(url.replace("http://", "ws://"),
                                     subprotocols=["v4.channel.k8s.io"], timeout=10)
    try:
        wait_for(running, timeout=20, what="the exec'd yes")
        time.sleep(1)
    finally:
        ws.close()
    wait_for(lambda: not running(), timeout=20, what="the exec'd yes to be killed")
    assert container_status(dk, cid).status.state == pb.CONTAINER_RUNNING


def test_attach_stream_stdin_once_ends_the_container(dk):
    pod_id, pod_cfg = run_pod(dk, log_directory=os.path.join(dk.logs, "po"))
    cid = make_container(dk, pod_id, pod_cfg, ["sh", "-c", "cat; echo bye"], name="cat",
                         stdin=True, stdin_once=True, log_path="cat.log")
    r = run_crictl(dk, "attach", "-i", cid, stdin="once\n")
    assert r.returncode == 0, r.stderr
    assert "once" in r.stdout
    wait_for(lambda: container_status(dk, cid).status.state == pb.CONTAINER_EXITED,
             timeout=20, what="the container to see the end of its stdin")
    assert container_status(dk, cid).status.exit_code == 0
    path = os.path.join(dk.logs, "po", "cat.log")
    wait_for(lambda: "bye" in open(path).read(), timeout=10, what="bye in the log")
