# SPDX-License-Identifier: Apache-2.0
"""Fixtures for cribd's integration tests.

Each test gets its own cribd with a temporary config, state dir and socket,
talking CRI over gRPC through stubs generated at test time from the project's
own proto (api/cri-api-v1.proto) with Debian's protoc and grpc_python_plugin.
The backends are the test modules from tests/backends (testproc and friends).
"""
import glob
import importlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("CRIB_BUILD_DIR", os.path.join(ROOT, "build"))
CRIBD = os.path.join(BUILD, "cribd")
PLUGINS = os.path.join(BUILD, "plugins")


def _abi():
    """The backend ABI cribd is built with, as "MAJOR.MINOR", from the public header."""
    with open(os.path.join(ROOT, "api", "crib", "backend.h")) as f:
        v = dict(re.findall(r"#define CRIB_BACKEND_ABI_(MAJOR|MINOR)\s+(\d+)u", f.read()))
    return f"{v['MAJOR']}.{v['MINOR']}"


ABI = _abi()


def _generate_stubs():
    out = tempfile.mkdtemp(prefix="crib-stubs-")
    subprocess.run(
        ["protoc", "--proto_path=" + os.path.join(ROOT, "api"), "--python_out=" + out,
         "--grpc_out=" + out, "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
         os.path.join(ROOT, "api", "cri-api-v1.proto")],
        check=True)
    sys.path.insert(0, out)
    return importlib.import_module("cri_api_v1_pb2"), importlib.import_module("cri_api_v1_pb2_grpc")


pb, pb_grpc = _generate_stubs()
import grpc  # noqa: E402  (after the stubs, which import it too)


SANITIZER_REPORT = re.compile(r"ERROR: (Address|Leak|Thread)Sanitizer|runtime error:")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TestRegistry:
    """Debian's docker-registry on loopback, filled with tests/images/build.py."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="crib-registry-", dir="/tmp")
        self.host = f"127.0.0.1:{free_port()}"
        self.url = "http://" + self.host
        with open(os.path.join(self.dir, "config.yml"), "w") as f:
            f.write(f"""version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: {self.dir}/data
  delete:
    enabled: true
http:
  addr: {self.host}
""")
        self.proc = subprocess.Popen(["docker-registry", "serve", self.dir + "/config.yml"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while True:
            try:
                urllib.request.urlopen(self.url + "/v2/", timeout=1)
                break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("docker-registry did not start")
                time.sleep(0.05)
        out = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tests", "images",
                                                               "build.py"), self.url],
                             capture_output=True, text=True, check=True).stdout
        self.digests = dict(line.split() for line in out.splitlines())

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def registry():
    r = TestRegistry()
    yield r
    r.close()


# Set once the session registry exists: every cribd sends every registry there.
REGISTRY = None


@pytest.fixture(autouse=True)
def _session_registry(registry):
    global REGISTRY
    REGISTRY = registry


# The CNI network every test's pods get unless it asks otherwise: loopback only, so that
# no test sends traffic anywhere (Debian's containernetworking-plugins provides it).
LOOPBACK_CONFLIST = """{"cniVersion": "1.0.0", "name": "crib-test-lo",
 "plugins": [{"type": "loopback"}]}
"""


class Cribd:
    """One cribd under test, with its own directories and config."""

    def __init__(self, base, default_class="proc", classes=None, backends=None, extra="",
                 registries=None, cni=LOOPBACK_CONFLIST):
        self.base = base
        self.cni_dir = os.path.join(base, "cni")
        self.conf_d = os.path.join(base, "conf.d")
        self.state = os.path.join(base, "state")
        self.run = os.path.join(base, "run")
        self.logs = os.path.join(base, "logs")
        self.socket = os.path.join(self.run, "crib.sock")
        self.admin_socket = os.path.join(self.run, "admin.sock")
        self.config = os.path.join(base, "crib.conf")
        self.log_path = os.path.join(base, "cribd.log")
        self.proc = None
        self.wrap = []  # a command that execs cribd (nsenter into a test's namespace)
        os.makedirs(self.conf_d, exist_ok=True)
        os.makedirs(self.logs, exist_ok=True)
        if cni is not None:
            self.write_cni(cni)
        self.pulled = set()
        if registries is None:
            registries = {"*": f"mirror = {REGISTRY.url}\nmirror_only = true"} if REGISTRY else {}
        self.write_registries(registries)
        self.write_main(default_class, extra)
        classes = {"proc": "backend = testproc"} if classes is None else classes
        self.write_classes(classes, backends or {})

    def write_main(self, default_class, extra=""):
        with open(self.config, "w") as f:
            f.write(f"""[daemon]
cri_socket = {self.socket}
admin_socket = {self.admin_socket}
state_dir = {self.state}
run_dir = {self.run}
plugin_dir = {PLUGINS}
conf_dir = {self.conf_d}
cni_conf_dir = {self.cni_dir}
default_runtime_class = {default_class}
log_level = debug
workers = 8
{extra}""")

    def write_cni(self, text, name="10-crib-test.conflist"):
        """Writes a CNI network configuration into the daemon's cni_conf_dir."""
        os.makedirs(self.cni_dir, exist_ok=True)
        with open(os.path.join(self.cni_dir, name), "w") as f:
            f.write(text)

    def netns_path(self, pod_id):
        return os.path.join(self.run, "netns", pod_id)

    def write_classes(self, classes, backends=None, name="10-classes.conf"):
        with open(os.path.join(self.conf_d, name), "w") as f:
            for cls, body in classes.items():
                f.write(f"[runtime.{cls}]\n{body}\n\n")
            for be, body in (backends or {}).items():
                f.write(f"[backend.{be}]\n{body}\n\n")

    def write_registries(self, registries, name="05-registries.conf"):
        with open(os.path.join(self.conf_d, name), "w") as f:
            for host, body in registries.items():
                f.write(f"[registry.{host}]\n{body}\n\n")

    def pull(self, image, auth=None):
        """Pulls IMAGE once per daemon; returns the image id."""
        return self.images().PullImage(pb.PullImageRequest(
            image=pb.ImageSpec(image=image), auth=auth), timeout=120).image_ref

    def start(self, wait=True):
        self.logf = open(self.log_path, "a")
        self.proc = subprocess.Popen(self.wrap + [CRIBD, "--config", self.config],
                                     stdout=self.logf, stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cribd exited with {self.proc.returncode}:\n{self.log()}")
            if os.path.exists(self.socket):
                try:
                    self.rs().Version(pb.VersionRequest(), timeout=1)
                    return
                except grpc.RpcError:
                    # A socket left by a killed cribd: don't let the channel back off.
                    self.close_channel()
            time.sleep(0.02)
        raise RuntimeError("cribd did not come up:\n" + self.log())

    def channel(self):
        if not hasattr(self, "_channel") or self._channel is None:
            self._channel = grpc.insecure_channel("unix://" + self.socket)
        return self._channel

    def rs(self):
        return pb_grpc.RuntimeServiceStub(self.channel())

    def images(self):
        return pb_grpc.ImageServiceStub(self.channel())

    def close_channel(self):
        if getattr(self, "_channel", None) is not None:
            self._channel.close()
            self._channel = None

    def stop(self, sig=signal.SIGTERM, timeout=40):
        self.close_channel()
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        return rc

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def restart(self):
        self.stop()
        return self.start()

    def hup(self, expect=None, timeout=10):
        mark = len(self.log())
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + timeout
        while time.time() < deadline:
            text = self.log()[mark:]
            if expect is None and ("Configuration reloaded" in text or "Failed to reload" in text):
                return text
            if expect is not None and expect in text:
                return text
            time.sleep(0.02)
        raise AssertionError("cribd did not log the reload:\n" + self.log()[mark:])

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def backend_dir(self, backend="testproc"):
        return os.path.join(self.state, "backends", backend)

    def keeper_pids(self):
        pids = []
        for f in glob.glob(os.path.join(self.state, "backends", "*", "containers", "*",
                                        "keeper.pid")):
            try:
                pids.append(int(open(f).read()))
            except (OSError, ValueError):
                pass
        return pids

    def cleanup(self):
        """Stops cribd and kills the keepers this test's containers left running."""
        if self.proc and self.proc.poll() is None:
            self.stop(signal.SIGKILL)
        for pid in self.keeper_pids():
            cmdline = ""
            try:
                cmdline = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
            except OSError:
                continue
            if "crib-test-keeper" in cmdline and self.state in cmdline:
                try:
                    os.kill(pid, signal.SIGUSR2)
                except ProcessLookupError:
                    pass
        self.cleanup_oci()
        unmount_under(self.base)

    def cleanup_oci(self):
        """Deletes the OCI containers this cribd's runtime roots still hold (a failed test)."""
        roots = os.path.join(self.run, "backends", "oci", "roots")
        for cls in os.listdir(roots) if os.path.isdir(roots) else []:
            binary = {"runc": "/usr/sbin/runc", "runsc": "/usr/bin/runsc",
                      "crun": "/usr/bin/crun"}.get(cls)
            if not binary:
                continue
            root = os.path.join(roots, cls)
            ids = subprocess.run([binary, "--root", root, "list", "-q"], capture_output=True,
                                 text=True).stdout.split()
            for cid in ids:
                subprocess.run([binary, "--root", root, "delete", "--force", cid],
                               capture_output=True)


def unmount_under(base):
    """Detaches every mount below BASE (container root filesystems outlive cribd), deepest first."""
    with open("/proc/self/mounts") as f:
        points = [line.split()[1] for line in f]
    for p in sorted((p for p in points if p.startswith(base + "/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", p], check=False)


@pytest.fixture
def make_cribd():
    made = []

    def make(**kw):
        base = tempfile.mkdtemp(prefix="crib-", dir="/tmp")
        d = Cribd(base, **kw)
        made.append(d)
        return d

    yield make
    problems = []
    for d in made:
        # A graceful stop lets LeakSanitizer run in sanitizer builds.
        rc = d.stop() if d.proc and d.proc.poll() is None else None
        report = [l for l in d.log().splitlines() if SANITIZER_REPORT.search(l)]
        if report:
            problems.append(f"{d.log_path}:\n" + d.log())
        elif rc not in (None, 0):
            problems.append(f"cribd exited with {rc} on SIGTERM:\n" + d.log())
        d.cleanup()
        # CRIB_KEEP=1 keeps every daemon's directory (config, log, state) for a post-mortem.
        if not problems and not os.environ.get("CRIB_KEEP"):
            shutil.rmtree(d.base, ignore_errors=True)
    if problems:
        pytest.fail("\n".join(problems))


@pytest.fixture
def cribd(make_cribd):
    return make_cribd().start()


def pod_config(name="pod", namespace="default", uid=None, attempt=0, labels=None,
               annotations=None, log_directory=None):
    return pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=name, namespace=namespace, uid=uid or name + "-uid",
                                       attempt=attempt),
        labels=labels or {}, annotations=annotations or {}, log_directory=log_directory or "")


def container_config(name="ctr", command=None, labels=None, annotations=None, log_path=None,
                     attempt=0, envs=None, image="busybox", stdin=False, stdin_once=False,
                     tty=False):
    return pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name=name, attempt=attempt),
        image=pb.ImageSpec(image=image),
        command=command or ["sleep", "600"],
        labels=labels or {}, annotations=annotations or {}, log_path=log_path or "",
        envs=[pb.KeyValue(key=k, value=v.encode()) for k, v in (envs or {}).items()],
        stdin=stdin, stdin_once=stdin_once, tty=tty)


def run_pod(d, handler="", **kw):
    cfg = pod_config(**kw)
    pid = d.rs().RunPodSandbox(pb.RunPodSandboxRequest(config=cfg, runtime_handler=handler)
                               ).pod_sandbox_id
    return pid, cfg


def create_container(d, pod_id, pod_cfg, start=True, **kw):
    cfg = container_config(**kw)
    # As kubelet does: the image is pulled before the container is created.
    if cfg.image.image not in d.pulled:
        d.pull(cfg.image.image)
        d.pulled.add(cfg.image.image)
    cid = d.rs().CreateContainer(pb.CreateContainerRequest(
        pod_sandbox_id=pod_id, config=cfg, sandbox_config=pod_cfg)).container_id
    if start:
        d.rs().StartContainer(pb.StartContainerRequest(container_id=cid))
    return cid


def container_status(d, cid, verbose=False):
    return d.rs().ContainerStatus(pb.ContainerStatusRequest(container_id=cid, verbose=verbose))


def wait_for(predicate, timeout=10, interval=0.05, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def rpc_error(fn):
    """Runs fn, which must fail; returns the grpc.RpcError."""
    try:
        fn()
    except grpc.RpcError as e:
        return e
    raise AssertionError("the call succeeded but should have failed")


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
