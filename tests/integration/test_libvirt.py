# SPDX-License-Identifier: Apache-2.0
"""The libvirt backend through CRI: each pod a transient libvirt domain booting Debian's
cloud kernel straight into crib-agent.initrd, on the libvirtd that scripts/libvirtd.sh
starts (QEMU's TCG here: /dev/kvm is missing or its probe fails).

Every test gets its own cribd.  What a failed test leaves (domains outlive cribd) is
destroyed when the test ends: the domains whose pod directory is under its run_dir."""
import json
import os
import re
import signal
import subprocess
import time

import grpc
import pytest

from conftest import PLUGINS, ROOT, container_config, pb, pod_config, rpc_error, wait_for
from test_cni import PLUGIN_DIRS, OwnNamespace, links, write_plugin
from test_oci import IMAGE, read_log, stream_text

LIBVIRTD_SH = os.path.join(ROOT, "scripts", "libvirtd.sh")
URI = "qemu:///system"
METADATA_NS = "urn:crib:libvirt:pod:1"


def virsh(*args, check=True):
    p = subprocess.run(["virsh", "-q", "-c", URI, *args], capture_output=True, text=True,
                       timeout=60)
    if check and p.returncode:
        raise AssertionError(f"virsh {' '.join(args)}: {p.stderr}")
    return p


def domain_state(pod_id):
    """The domain's state ("running"), or None when there is no such domain."""
    p = virsh("domstate", "crib-" + pod_id, check=False)
    return p.stdout.strip() if p.returncode == 0 else None


def pods_dir(d):
    return os.path.join(d.run, "backends", "libvirt", "pods")


def pod_dir(d, pod_id):
    return os.path.join(pods_dir(d), pod_id[:16])


def start_libvirtd():
    """libvirtd as the project's script starts it (a no-op when one answers)."""
    subprocess.run([LIBVIRTD_SH], check=True, timeout=60)


def need_libvirt():
    if os.geteuid() != 0:
        pytest.skip("libvirt's system instance needs root")
    for f in ("libvirt.so", "crib-agent.initrd"):
        assert os.path.exists(os.path.join(PLUGINS, f)), f"{f} is not built"
    start_libvirtd()


def destroy_leftovers(d):
    """Destroys every crib domain whose pod directory is under D's run_dir (a libvirtd
    that has just started may still be reconnecting to them: tried for a while)."""
    def ours():
        return [n for n in virsh("list", "--name").stdout.split()
                if n.startswith("crib-") and os.path.isdir(pod_dir(d, n[5:]))]

    deadline = time.time() + 30
    while ours() and time.time() < deadline:
        for name in ours():
            virsh("destroy", name, check=False)
        time.sleep(0.5)
    assert not ours(), "crib domains left running"


@pytest.fixture
def lv(make_cribd):
    """A cribd whose default class "vm" runs on the libvirt backend's defaults; "vmargs"
    adds kernel arguments and keeps QEMU's own BIOS."""
    need_libvirt()
    d = make_cribd(default_class="vm", classes={
        "vm": "backend = libvirt",
        "vmargs": "backend = libvirt\nkernel_args = crib.test=1\nfirmware = default",
    }).start()
    yield d
    destroy_leftovers(d)


KVM_VERDICT = "/run/crib-libvirt-kvm"


def kvm_verdict():
    """Whether KVM runs pod VMs, as this boot's first cribd found (its verdict file)."""
    with open(KVM_VERDICT) as f:
        boot_id, works = f.read().split("\n")[:2]
    with open("/proc/sys/kernel/random/boot_id") as f:
        assert f.read().strip() == boot_id
    return works == "1"


def status(d, pod_id, verbose=False):
    return d.rs().PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=pod_id,
                                                              verbose=verbose))


def run_vm(d, handler="", resources=None, hostname=None, **kw):
    cfg = pod_config(**kw)
    if hostname:
        cfg.hostname = hostname
    if resources:
        cfg.linux.resources.CopyFrom(resources)
    pod_id = d.rs().RunPodSandbox(pb.RunPodSandboxRequest(config=cfg, runtime_handler=handler),
                                  timeout=120).pod_sandbox_id
    return pod_id, cfg


def pod_stats(d, pod_id):
    return d.rs().PodSandboxStats(pb.PodSandboxStatsRequest(pod_sandbox_id=pod_id)).stats


def console(d, pod_id):
    with open(os.path.join(pod_dir(d, pod_id), "console.log"), errors="replace") as f:
        return f.read()


def test_pod_is_a_vm_whose_agent_answers(lv):
    t0 = time.monotonic()
    pod_id, _ = run_vm(lv, name="vm1")
    took = time.monotonic() - t0
    name = "crib-" + pod_id
    assert domain_state(pod_id) == "running"
    xml = virsh("dumpxml", name).stdout
    # The domain type is this host's KVM verdict (a hanging KVM counts as none).
    kvm = kvm_verdict()
    assert f"type='{'kvm' if kvm else 'qemu'}'" in xml.split("\n", 1)[0]
    # The class's defaults: 256 MiB for a pod without limits, 64 MiB overhead, 1 vCPU.
    assert re.search(r"<memory unit='KiB'>327680</memory>", xml), xml
    assert re.search(r"<vcpu placement='static'>1</vcpu>", xml), xml
    if os.path.exists("/usr/share/qemu/qboot.rom"):
        assert "<loader readonly='yes' type='rom'>/usr/share/qemu/qboot.rom</loader>" in xml, xml
    meta = virsh("metadata", name, METADATA_NS).stdout
    assert f'id="{pod_id}"' in meta and 'class="vm"' in meta and 'name="vm1"' in meta

    st = status(lv, pod_id, verbose=True)
    assert st.status.state == pb.SANDBOX_READY
    info = st.info
    assert any("guest_init_ns" in v for v in info.values()), info
    text = console(lv, pod_id)
    assert "crib-agent: ready at" in text, text
    print(f"pod-ready {took:.2f} s; {lv.log().count('its agent answered')} boot lines")

    stats = pod_stats(lv, pod_id)
    assert stats.linux.cpu.usage_core_nano_seconds.value > 0
    assert stats.linux.memory.working_set_bytes.value > 0

    # Stop: the power button, which crib-agent answers by powering off (no destroy).
    t0 = time.monotonic()
    lv.rs().StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)
    assert time.monotonic() - t0 < 9, "the VM did not power off before stop_timeout"
    assert domain_state(pod_id) is None
    assert "reboot: Power down" in console(lv, pod_id)
    assert status(lv, pod_id).status.state == pb.SANDBOX_NOTREADY
    lv.rs().StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod_id))
    lv.rs().RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod_id))
    assert not os.path.exists(pod_dir(lv, pod_id))
    lv.rs().RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod_id))
    assert not lv.rs().ListPodSandbox(pb.ListPodSandboxRequest()).items


def test_pod_resources_size_the_vm(lv):
    res = pb.LinuxContainerResources(memory_limit_in_bytes=200 * 2**20 + 1, cpu_quota=150000,
                                     cpu_period=100000)
    pod_id, _ = run_vm(lv, name="sized", resources=res, handler="vmargs")
    xml = virsh("dumpxml", "crib-" + pod_id).stdout
    assert re.search(r"<cmdline>console=ttyS0 [^<]* crib.test=1</cmdline>", xml), xml
    assert "<loader" not in xml, xml
    # 201 MiB (rounded up) plus the 64 MiB overhead; 1.5 CPUs round up to 2.
    assert "<memory unit='KiB'>271360</memory>" in xml, xml
    assert ">2</vcpu>" in xml, xml
    lv.rs().RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)
    assert domain_state(pod_id) is None
    assert not os.path.exists(pod_dir(lv, pod_id))


def domains_named(names):
    """The crib domains whose pod (crib's metadata) has one of NAMES."""
    out = []
    for dom in virsh("list", "--all", "--name").stdout.split():
        meta = virsh("metadata", dom, METADATA_NS, check=False).stdout
        if any(f'name="{n}"' in meta for n in names):
            out.append(dom)
    return out


def test_wrong_kernel_or_initrd_fails_clearly_and_leaves_nothing(make_cribd):
    need_libvirt()
    d = make_cribd(default_class="vm", classes={
        "vm": "backend = libvirt",
        "nokernel": "backend = libvirt\nkernel = /nonexistent/vmlinuz",
        # Files that are there but boot nothing: QEMU refuses the kernel, and the
        # kernel panics on an initrd with no init.
        "notakernel": "backend = libvirt\nkernel = /etc/hostname",
        "noinit": f"backend = libvirt\ninitrd = {os.path.join(ROOT, 'README.md')}\n"
                  "boot_timeout = 120",
    }).start()
    conf = os.path.join(d.conf_d, "10-classes.conf")
    # Pod names of this test's own: other tests' VMs may still be going away.
    names = [f"bad-{h}-{os.getpid()}" for h in ("nokernel", "notakernel", "noinit")]
    try:
        e = rpc_error(lambda: run_vm(d, handler="nokernel", name=names[0]))
        assert re.search(re.escape(conf) + r":\d+: kernel /nonexistent/vmlinuz: No such file",
                         e.details()), e.details()
        e = rpc_error(lambda: run_vm(d, handler="notakernel", name=names[1]))
        assert "cannot start the VM crib-" in e.details(), e.details()
        e = rpc_error(lambda: run_vm(d, handler="noinit", name=names[2]))
        assert "did not come up" in e.details() and "panic" in e.details().lower(), e.details()
        assert domains_named(names) == []
        assert os.listdir(pods_dir(d)) == []
        assert not d.rs().ListPodSandbox(pb.ListPodSandboxRequest()).items
    finally:
        destroy_leftovers(d)


def libvirtd_pid():
    with open("/run/libvirtd.pid") as f:
        return int(f.read())


def ticks(path):
    """The numbers a ticking container wrote to its log, in order."""
    out = stream_text(read_log(path), "stdout") if os.path.exists(path) else ""
    return [int(l.split()[1]) for l in out.splitlines() if l.startswith("tick ")]


def test_pod_survives_libvirtd_and_cribd_restarts(lv, tmp_path):
    logs = str(tmp_path)
    pod_id, cfg = run_vm(lv, name="survivor", log_directory=logs)
    tick = create(lv, pod_id, cfg, logs, "tick",
                  ["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done"])
    log = os.path.join(logs, "tick.log")
    wait_for(lambda: len(ticks(log)) > 3, timeout=30, what="ticks")
    # libvirtd crashes (the one scripts/libvirtd.sh started) and comes back.
    os.kill(libvirtd_pid(), signal.SIGKILL)
    try:
        wait_for(lambda: subprocess.run(["virsh", "-c", URI, "version"], capture_output=True
                                        ).returncode != 0, what="libvirtd to be gone")
        # A new pod needs libvirtd, and says so; this one is still cribd's.
        e = rpc_error(lambda: run_vm(lv, name="while-down"))
        assert e.code() == grpc.StatusCode.UNAVAILABLE and "libvirtd" in e.details(), e.details()
        assert status(lv, pod_id).status.state == pb.SANDBOX_READY
    finally:
        start_libvirtd()
    assert domain_state(pod_id) == "running"
    # The backend connects again by itself.
    assert pod_stats(lv, pod_id).linux.cpu.usage_core_nano_seconds.value > 0
    assert status(lv, pod_id).status.state == pb.SANDBOX_READY

    # cribd crashes and comes back: reconcile finds the VM by its domain and the container
    # through the agent, which kept what the container wrote meanwhile.
    lv.kill9()
    time.sleep(1)
    lv.start()
    assert status(lv, pod_id).status.state == pb.SANDBOX_READY
    assert domain_state(pod_id) == "running"
    assert cstatus(lv, tick).state == pb.CONTAINER_RUNNING
    before = len(ticks(log))
    wait_for(lambda: len(ticks(log)) > before + 3, timeout=30, what="ticks after the restart")
    # In order and nothing lost: what was written while cribd was down
    # (about 10 ticks a second), and what was in flight when it died, which the agent sends
    # again beyond the seq the new cribd's Hello names (output.seq).
    seen = ticks(log)
    assert_once_in_order(seen, seen[-1] + 1)
    with open(os.path.join(pod_dir(lv, pod_id), "output.seq")) as f:
        assert int(f.read()) > 0
    lv.rs().StopContainer(pb.StopContainerRequest(container_id=tick, timeout=1), timeout=60)
    assert cstatus(lv, tick).exit_code == 137
    lv.rs().StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)
    assert domain_state(pod_id) is None
    lv.rs().RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod_id))
    assert not os.path.exists(pod_dir(lv, pod_id))


def assert_once_in_order(nums, n):
    """NUMS is 0..N-1 in order, but for one run written twice: the log line and output.seq
    are two writes, and the Output of a cribd killed between them is written again."""
    missing = sorted(set(range(n)) - set(nums))
    assert not missing, f"lost: {missing[:10]}"
    back = [i for i in range(1, len(nums)) if nums[i] != nums[i - 1] + 1]
    assert len(back) <= 1 and all(nums[i] <= nums[i - 1] for i in back), \
        [(nums[i - 1], nums[i]) for i in back][:10]


def test_output_in_flight_when_cribd_dies_is_written_once(lv, tmp_path):
    """cribd killed while a container floods its log: the new cribd's Hello names the last
    Output it wrote, the agent sends again what it sent beyond it, and the log ends up with
    every line once, in order.  Small enough that what waits in the agent while no cribd
    listens stays under its 4 MiB (a frame per line at worst)."""
    logs = str(tmp_path)
    pod_id, cfg = run_vm(lv, name="flood", log_directory=logs)
    log = os.path.join(logs, "flood.log")
    flood = create(lv, pod_id, cfg, logs, "flood", [
        "sh", "-c", "i=0; while [ $i -lt 20000 ]; do echo $i; i=$((i+1)); done; echo end"])
    wait_for(lambda: os.path.exists(log) and os.path.getsize(log) > 100000, timeout=60,
             what="the flood to reach the log")
    lv.kill9()
    cut = stream_text(read_log(log), "stdout")
    lv.start()
    # kubelet's status polls, which bring the session to the agent back.
    wait_for(lambda: cstatus(lv, flood).state == pb.CONTAINER_EXITED, timeout=120,
             what="the flood to end")
    wait_for(lambda: stream_text(read_log(log), "stdout").endswith("end\n"), timeout=30,
             what="the flood's last line")
    assert "end" not in cut, "the flood ended before cribd was killed: make it longer"
    out = stream_text(read_log(log), "stdout").split()
    assert out[-1] == "end"
    assert_once_in_order([int(x) for x in out[:-1]], 20000)
    lv.rs().StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)
    lv.rs().RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)


def create(d, pod_id, cfg, log_dir, name, command, start=True, pid=pb.CONTAINER, linux=None,
           **kw):
    """A container as kubelet asks for one: a PID namespace of its own unless PID says."""
    d.pull(IMAGE)
    c = container_config(name=name, image=IMAGE, command=command, log_path=f"{name}.log", **kw)
    if linux is not None:
        c.linux.CopyFrom(linux)
    c.linux.security_context.namespace_options.pid = pid
    cid = d.rs().CreateContainer(pb.CreateContainerRequest(
        pod_sandbox_id=pod_id, config=c, sandbox_config=cfg), timeout=120).container_id
    if start:
        d.rs().StartContainer(pb.StartContainerRequest(container_id=cid), timeout=60)
    return cid


def cstatus(d, cid):
    return d.rs().ContainerStatus(pb.ContainerStatusRequest(container_id=cid)).status


def test_containers_run_in_the_vm(lv, tmp_path):
    logs = str(tmp_path)
    pod_id, cfg = run_vm(lv, name="ctrs", log_directory=logs, hostname="vmhost")
    # Two containers in one VM: output into CRI logs, exit codes, stop escalation.
    web = create(lv, pod_id, cfg, logs, "web",
                 ["sh", "-c", "echo hello from $(hostname); echo oops >&2; "
                  "cat /proc/1/cmdline | tr '\\0' ' '; echo; id -u; echo done; sleep 600"])
    job = create(lv, pod_id, cfg, logs, "job", ["sh", "-c", "echo bye; exit 3"])
    wait_for(lambda: cstatus(lv, job).state == pb.CONTAINER_EXITED, timeout=30,
             what="the job to exit")
    st = cstatus(lv, job)
    assert st.exit_code == 3 and st.reason == "Error", st
    assert st.finished_at >= st.started_at > 0
    web_log = os.path.join(logs, "web.log")
    wait_for(lambda: os.path.exists(web_log) and "F done" in open(web_log).read(), timeout=30,
             what="web's output")
    entries = read_log(web_log)
    out = stream_text(entries, "stdout")
    # Its own PID namespace: the container's shell is PID 1 there.
    assert out.startswith("hello from vmhost\nsh -c") and "\n0\ndone\n" in out, out
    assert stream_text(entries, "stderr") == "oops\n"
    assert stream_text(read_log(os.path.join(logs, "job.log")), "stdout") == "bye\n"
    assert cstatus(lv, web).state == pb.CONTAINER_RUNNING

    # What is not built for VMs yet is refused by name, and leaves nothing behind.
    e = rpc_error(lambda: create(lv, pod_id, cfg, logs, "refused", ["true"], pid=pb.TARGET))
    assert e.code() == grpc.StatusCode.UNIMPLEMENTED, e.details()
    assert "namespace_options.pid TARGET" in e.details(), e.details()
    # A program that is not in the image fails StartContainer with the reason.
    bad = create(lv, pod_id, cfg, logs, "bad", ["/no/such/program"], start=False)
    e = rpc_error(lambda: lv.rs().StartContainer(pb.StartContainerRequest(container_id=bad)))
    assert "cannot execute /no/such/program: No such file" in e.details(), e.details()
    lv.rs().RemoveContainer(pb.RemoveContainerRequest(container_id=bad), timeout=60)
    assert sorted(os.listdir(os.path.join(pod_dir(lv, pod_id), "share"))) == sorted([web, job])

    # Stats from the container's cgroup in the VM.
    stats = lv.rs().ContainerStats(pb.ContainerStatsRequest(container_id=web)).stats
    assert stats.cpu.usage_core_nano_seconds.value > 0, stats
    assert stats.memory.working_set_bytes.value > 0, stats
    assert stats.attributes.id == web
    listed = lv.rs().ListContainerStats(pb.ListContainerStatsRequest()).stats
    assert web in [x.attributes.id for x in listed]

    # ExecSync in the container: its root, its PID namespace, its environment.
    r = lv.rs().ExecSync(pb.ExecSyncRequest(container_id=web, cmd=[
        "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo $PATH; echo err >&2; exit 7"],
        timeout=30), timeout=60)
    assert r.exit_code == 7 and r.stderr == b"err\n", r
    # The container's shell ended by executing its last command: PID 1 is that sleep.
    assert r.stdout.decode().startswith("sleep 600 ") and "/usr/bin" in r.stdout.decode(), r
    e = rpc_error(lambda: lv.rs().ExecSync(pb.ExecSyncRequest(
        container_id=web, cmd=["sleep", "30"], timeout=1), timeout=60))
    assert e.code() == grpc.StatusCode.DEADLINE_EXCEEDED, e.details()
    e = rpc_error(lambda: lv.rs().ExecSync(pb.ExecSyncRequest(container_id=job, cmd=["true"])))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION, e.details()
    # Limits: the container's cgroup in the VM, which it sees (read-only) at /sys/fs/cgroup;
    # UpdateContainerResources changes them in place.
    def limits(cid):
        return lv.rs().ExecSync(pb.ExecSyncRequest(container_id=cid, cmd=[
            "cat", "/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/cpu.max"], timeout=30),
            timeout=60).stdout.decode()

    c = container_config(name="limited", image=IMAGE, command=["sleep", "600"])
    c.linux.security_context.namespace_options.pid = pb.CONTAINER
    c.linux.resources.memory_limit_in_bytes = 64 << 20
    c.linux.resources.cpu_quota = 50000
    c.linux.resources.cpu_period = 100000
    limited = lv.rs().CreateContainer(pb.CreateContainerRequest(
        pod_sandbox_id=pod_id, config=c, sandbox_config=cfg), timeout=60).container_id
    lv.rs().StartContainer(pb.StartContainerRequest(container_id=limited), timeout=60)
    assert limits(limited) == f"{64 << 20}\n50000 100000\n"
    lv.rs().UpdateContainerResources(pb.UpdateContainerResourcesRequest(
        container_id=limited, linux=pb.LinuxContainerResources(
            memory_limit_in_bytes=128 << 20, cpu_quota=20000, cpu_period=100000)), timeout=60)
    assert limits(limited) == f"{128 << 20}\n20000 100000\n"
    e = rpc_error(lambda: lv.rs().UpdateContainerResources(pb.UpdateContainerResourcesRequest(
        container_id=limited, linux=pb.LinuxContainerResources(cpuset_cpus="0"))))
    assert e.code() == grpc.StatusCode.UNIMPLEMENTED and "cpuset" in e.details(), e.details()
    lv.rs().RemoveContainer(pb.RemoveContainerRequest(container_id=limited), timeout=60)

    # A container in the pod's PID namespace (the VM's) sees the agent as PID 1.
    shared = create(lv, pod_id, cfg, logs, "shared", ["sleep", "600"], pid=pb.POD)
    r = lv.rs().ExecSync(pb.ExecSyncRequest(container_id=shared, cmd=["cat", "/proc/1/comm"],
                                            timeout=30), timeout=60)
    assert r.stdout == b"init\n", r
    lv.rs().StopContainer(pb.StopContainerRequest(container_id=shared, timeout=5), timeout=60)
    assert cstatus(lv, shared).exit_code in (137, 143)
    lv.rs().RemoveContainer(pb.RemoveContainerRequest(container_id=shared), timeout=60)

    # CRI mounts: a directory read-write, a file read-only, a file in /dev (kubelet's
    # termination log), all bound from the host through the share.
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "in").write_text("from the host\n")
    (tmp_path / "greeting").write_text("hi\n")
    (tmp_path / "termlog").write_text("")
    c = container_config(name="vol", image=IMAGE, log_path="vol.log", command=[
        "sh", "-c", "cat /data/in /etc/greeting; echo from the vm > /data/out; "
        "echo x > /etc/greeting || echo read-only; echo bye > /dev/termination-log"])
    c.linux.security_context.namespace_options.pid = pb.CONTAINER
    c.mounts.add(container_path="/data", host_path=str(vol))
    c.mounts.add(container_path="/etc/greeting", host_path=str(tmp_path / "greeting"),
                 readonly=True)
    c.mounts.add(container_path="/dev/termination-log", host_path=str(tmp_path / "termlog"))
    volc = lv.rs().CreateContainer(pb.CreateContainerRequest(
        pod_sandbox_id=pod_id, config=c, sandbox_config=cfg), timeout=60).container_id
    lv.rs().StartContainer(pb.StartContainerRequest(container_id=volc), timeout=60)
    wait_for(lambda: cstatus(lv, volc).state == pb.CONTAINER_EXITED, timeout=30,
             what="the volume container to end")
    assert cstatus(lv, volc).exit_code == 0
    text = stream_text(read_log(os.path.join(logs, "vol.log")), "stdout")
    assert text == "from the host\nhi\nread-only\n", text
    assert (vol / "out").read_text() == "from the vm\n"
    assert (tmp_path / "greeting").read_text() == "hi\n"
    assert (tmp_path / "termlog").read_text() == "bye\n"
    lv.rs().RemoveContainer(pb.RemoveContainerRequest(container_id=volc), timeout=60)
    assert not os.path.exists(os.path.join(pod_dir(lv, pod_id), "share", volc))
    assert (vol / "in").exists(), "removal reached through a bind into the host's files"

    # ReopenContainerLog: the writer reopens the same path.
    os.rename(web_log, web_log + ".1")
    lv.rs().ReopenContainerLog(pb.ReopenContainerLogRequest(container_id=web))
    assert os.path.exists(web_log)

    # sh as PID 1 ignores SIGTERM: Stop escalates to SIGKILL after the timeout.
    t0 = time.monotonic()
    lv.rs().StopContainer(pb.StopContainerRequest(container_id=web, timeout=2), timeout=60)
    assert time.monotonic() - t0 >= 2
    st = cstatus(lv, web)
    assert st.state == pb.CONTAINER_EXITED and st.exit_code == 137, st
    lv.rs().StopContainer(pb.StopContainerRequest(container_id=web, timeout=2), timeout=60)
    for cid in (web, job):
        lv.rs().RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=60)
        lv.rs().RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=60)
    assert not lv.rs().ListContainers(pb.ListContainersRequest()).containers
    assert os.listdir(os.path.join(pod_dir(lv, pod_id), "share")) == []
    lv.rs().StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)
    lv.rs().RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)
    assert not os.path.exists(pod_dir(lv, pod_id))


def test_a_vm_that_dies_takes_its_containers(lv, tmp_path):
    """A VM destroyed behind cribd's back: its pod turns not ready and its container is
    reported killed, through libvirt's lifecycle event; removal still cleans up."""
    logs = str(tmp_path)
    pod_id, cfg = run_vm(lv, name="doomed", log_directory=logs)
    cid = create(lv, pod_id, cfg, logs, "sleeper", ["sleep", "600"])
    assert cstatus(lv, cid).state == pb.CONTAINER_RUNNING
    virsh("destroy", "crib-" + pod_id)
    wait_for(lambda: cstatus(lv, cid).state == pb.CONTAINER_EXITED, timeout=30,
             what="the container to be reported gone with its VM")
    assert cstatus(lv, cid).exit_code == 137
    wait_for(lambda: status(lv, pod_id).status.state == pb.SANDBOX_NOTREADY, timeout=30,
             what="the pod to be not ready")
    lv.rs().RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=60)
    lv.rs().StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)
    lv.rs().RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)
    assert not os.path.exists(pod_dir(lv, pod_id))
    assert not lv.rs().ListContainers(pb.ListContainersRequest()).containers


def test_streams_through_the_agent(lv):
    """crictl exec, attach and port-forward on containers in a VM (the agent's streams):
    output, exit codes, a big input that must wait for the window, terminals of the
    client's size from the container's own devpts, stdin_once, a page of 1 MiB from httpd
    on the VM's loopback, and an exec killed when its client goes."""
    from test_oci import Pod
    from test_streaming import (CRICTL, check_attach, check_attach_stdin_once,
                                check_attach_tty, check_exec, check_port_forward, crictl_env)
    pod = Pod(lv, "vm", name="vmstreams")
    try:
        check_exec(lv, pod)
        check_attach(lv, pod)
        check_attach_stdin_once(lv, pod)
        check_attach_tty(lv, pod, name="tty")
        # PortForward reaches the VM's loopback through the agent.
        check_port_forward(lv, pod)
        # The client goes away: the agent kills what it ran.
        cid = pod.create("gone")
        client = subprocess.Popen([CRICTL, "exec", cid, "sleep", "4646"], env=crictl_env(lv),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def sleeping():
            return "sleep 4646" in pod.exec(cid, ["ps", "-o", "args"]).stdout.decode()

        wait_for(sleeping, what="the exec'd sleep")
        client.kill()
        client.wait()
        wait_for(lambda: not sleeping(), what="the exec'd command to be killed")
        assert pod.status(cid).state == pb.CONTAINER_RUNNING
    finally:
        pod.teardown()


def test_kvm_probe_decides_the_domain_type(make_cribd):
    """domain_type = auto without this boot's verdict: both probes run on the first pod
    (here, with a /dev/kvm whose nested guests hang, the boot probe times out and the
    pod runs on TCG), the log says why, and the verdict is kept for the next cribds."""
    need_libvirt()
    if os.path.exists(KVM_VERDICT):
        os.unlink(KVM_VERDICT)
    d = make_cribd(default_class="vm", classes={"vm": "backend = libvirt"}).start()
    try:
        t0 = time.monotonic()
        pod_id, _ = run_vm(d, name="probed")
        took = time.monotonic() - t0
        kvm = kvm_verdict()
        head = virsh("dumpxml", "crib-" + pod_id).stdout.split("\n", 1)[0]
        assert f"type='{'kvm' if kvm else 'qemu'}'" in head, head
        log = d.log()
        assert ("KVM works: pod VMs use it" if kvm else "KVM does not work (") in log, log
        # The probe's domain is gone, and so is its console.
        assert not [n for n in virsh("list", "--all", "--name").stdout.split()
                    if n.startswith("crib-kvm-probe-")]
        assert not os.path.exists(os.path.join(d.run, "backends", "libvirt", "kvm-probe.log"))
        print(f"first pod with the probes: {took:.1f} s; kvm={kvm}")
        d.rs().StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)
        d.rs().RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)
    finally:
        destroy_leftovers(d)
    # The next cribd takes the verdict as it is.
    d2 = make_cribd(default_class="vm", classes={"vm": "backend = libvirt"}).start()
    try:
        pod_id, _ = run_vm(d2, name="cached")
        assert "this boot's verdict in " + KVM_VERDICT in d2.log()
        d2.rs().StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)
        d2.rs().RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)
    finally:
        destroy_leftovers(d2)


def test_pod_config_and_security_in_the_vm(lv, tmp_path):
    """The pod's DNS config and sysctls, and a container's security context, as the VM
    applies them: resolv.conf, the VM kernel's sysctls, no capabilities, no_new_privs, a
    non-root user, a read-only root, and the spec's masked and read-only paths."""
    logs = str(tmp_path)
    cfg = pod_config(name="secure", log_directory=logs)
    cfg.hostname = "securevm"
    cfg.dns_config.servers.append("10.10.10.10")
    cfg.dns_config.searches.append("crib.test")
    cfg.dns_config.options.append("ndots:2")
    cfg.linux.sysctls.update({"kernel.shm_rmid_forced": "1", "fs.mqueue.msg_max": "100"})
    pod_id = lv.rs().RunPodSandbox(pb.RunPodSandboxRequest(config=cfg), timeout=120
                                   ).pod_sandbox_id
    sc = pb.LinuxContainerSecurityContext(readonly_rootfs=True, no_new_privs=True,
                                          run_as_user=pb.Int64Value(value=1000))
    sc.capabilities.drop_capabilities.append("ALL")
    cid = create(lv, pod_id, cfg, logs, "locked", [
        "sh", "-c", "cat /etc/resolv.conf /etc/hostname; cat /proc/sys/kernel/shm_rmid_forced "
        "/proc/sys/fs/mqueue/msg_max; grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status; "
        "id -u; touch /x; echo -n kcore=; wc -c < /proc/kcore; echo 0 > /proc/sys/fs/mqueue/msg_max;"
        " echo done; sleep 600"],
        linux=pb.LinuxContainerConfig(security_context=sc))
    log = os.path.join(logs, "locked.log")
    wait_for(lambda: os.path.exists(log) and "F done" in open(log).read(), timeout=30,
             what="the container's report")
    out = stream_text(read_log(log), "stdout")
    err = stream_text(read_log(log), "stderr")
    assert "nameserver 10.10.10.10\nsearch crib.test\noptions ndots:2\n" in out, out
    assert "securevm\n1\n100\n" in out, out
    assert "CapEff:\t0000000000000000" in out and "CapBnd:\t0000000000000000" in out, out
    assert "NoNewPrivs:\t1" in out and "\n1000\n" in out and "kcore=0\n" in out, out
    assert err.count("Read-only file system") == 2, err
    # ExecSync runs with the container's restrictions too.
    r = lv.rs().ExecSync(pb.ExecSyncRequest(container_id=cid, cmd=[
        "sh", "-c", "grep ^CapEff /proc/self/status; id -u"], timeout=30), timeout=60)
    assert r.stdout == b"CapEff:\t0000000000000000\n1000\n", r

    # Seccomp, compiled on the host and loaded in the VM: the runtime's default profile,
    # and a profile of the node's that refuses sethostname (root, with every capability).
    profile = tmp_path / "no-sethostname.json"
    profile.write_text('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": '
                       '["sethostname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}')
    default = pb.SecurityProfile(profile_type=pb.SecurityProfile.RuntimeDefault)
    local = pb.SecurityProfile(profile_type=pb.SecurityProfile.Localhost,
                               localhost_ref=str(profile))
    for name, sp, caps in (("default", default, []), ("local", local, ["SYS_ADMIN"])):
        sc = pb.LinuxContainerSecurityContext(seccomp=sp)
        sc.capabilities.add_capabilities.extend(caps)
        cid = create(lv, pod_id, cfg, logs, name, ["sleep", "600"],
                     linux=pb.LinuxContainerConfig(security_context=sc))
        r = lv.rs().ExecSync(pb.ExecSyncRequest(container_id=cid, cmd=[
            "sh", "-c", "grep ^Seccomp: /proc/self/status; hostname other"], timeout=30),
            timeout=60)
        assert b"Seccomp:\t2\n" in r.stdout and r.exit_code != 0, r
        assert b"Operation not permitted" in r.stderr, r
    lv.rs().StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)
    lv.rs().RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)

    # What a VM cannot be: host namespaces are refused, a sysctl its kernel lacks fails
    # the pod with its name; neither leaves anything behind.
    host_net = pod_config(name="hostnet")
    host_net.linux.security_context.namespace_options.network = pb.NODE
    e = rpc_error(lambda: lv.rs().RunPodSandbox(pb.RunPodSandboxRequest(config=host_net)))
    assert e.code() == grpc.StatusCode.UNIMPLEMENTED, e.details()
    assert "namespace_options.network NODE" in e.details(), e.details()
    bad = pod_config(name="badsysctl")
    bad.linux.sysctls["kernel.no_such_sysctl"] = "1"
    e = rpc_error(lambda: lv.rs().RunPodSandbox(pb.RunPodSandboxRequest(config=bad),
                                                timeout=120))
    assert "cannot set sysctl kernel.no_such_sysctl" in e.details(), e.details()
    assert not lv.rs().ListPodSandbox(pb.ListPodSandboxRequest()).items
    assert os.listdir(pods_dir(lv)) == []


# The pod's network for test_pod_network_reaches_the_vm: eth0 is a veth whose other end,
# the pod's gateway, is in the test's own namespace (@TESTNS@), which nothing else uses.
VETH_TO_TESTNS = """#!/bin/sh
set -eu
cat >/dev/null
t="nsenter --net=@TESTNS@" p="nsenter --net=${CNI_NETNS:-}"
case "$CNI_COMMAND" in
VERSION) echo '{"cniVersion": "1.0.0", "supportedVersions": ["1.0.0"]}'; exit 0 ;;
ADD) ;;
*) $t ip link del gw0 2>/dev/null || true; exit 0 ;;
esac
$t ip link add gw0 mtu 1400 type veth peer name eth0 mtu 1400 netns "$CNI_NETNS" >&2
$t ip addr add 10.244.9.1/24 dev gw0 >&2
$t ip -6 addr add fd00:9::1/64 dev gw0 nodad >&2
$t ip link set gw0 up >&2
$p ip addr add 10.244.9.2/24 dev eth0 >&2
$p ip -6 addr add fd00:9::2/64 dev eth0 nodad >&2
$p ip link set eth0 up >&2
$p ip route add default via 10.244.9.1 >&2
$p ip route add 10.96.0.0/12 via 10.244.9.1 >&2
printf '{"cniVersion": "1.0.0", "interfaces": [{"name": "eth0", "sandbox": "%s"}], '\
'"ips": [{"address": "10.244.9.2/24", "gateway": "10.244.9.1", "interface": 0}]}\n' \
"$CNI_NETNS"
"""


def host_taps():
    return {n for n in links("/proc/self/ns/net") if n.startswith("crib")}


def test_pod_network_reaches_the_vm(make_cribd, tmp_path):
    """The VM takes over the pod's CNI interface: its NIC has eth0's MAC, MTU, addresses
    and routes, and a tap in the pod's namespace carries its traffic both ways.  A pod
    that does not start leaves no tap anywhere."""
    need_libvirt()
    d = make_cribd(default_class="vm", cni=None, classes={
        "vm": "backend = libvirt", "notakernel": "backend = libvirt\nkernel = /etc/hostname"})
    ns = OwnNamespace(d.base)
    served = tmp_path / "served"
    served.mkdir()
    (served / "hello").write_text("from the gateway\n")
    server = None
    taps_before = host_taps()
    try:
        bindir = write_plugin(d, "vethgw", VETH_TO_TESTNS.replace("@TESTNS@", ns.path))
        d.write_cni(json.dumps({"cniVersion": "1.0.0", "name": "crib-test-vmnet",
                                "plugins": [{"type": "loopback"}, {"type": "vethgw"}]}))
        d.write_main("vm", f"cni_bin_dirs = {bindir}:{PLUGIN_DIRS}\n")
        d.start()
        logs = str(tmp_path)
        pod_id, cfg = run_vm(d, name="net", log_directory=logs)
        assert status(d, pod_id).status.network.ip == "10.244.9.2"
        tap = "crib" + pod_id[:11]
        assert tap in links(d.netns_path(pod_id)) and tap not in host_taps()

        web = create(d, pod_id, cfg, logs, "web", [
            "sh", "-c", "mkdir -p /www && echo from the vm > /www/index.html && "
            "exec httpd -f -p 8080 -h /www"])
        r = d.rs().ExecSync(pb.ExecSyncRequest(container_id=web, cmd=[
            "sh", "-c", "ip -o addr show eth0; ip route; ip -6 route; "
            "cat /sys/class/net/eth0/address /sys/class/net/eth0/mtu"], timeout=30), timeout=60)
        out = r.stdout.decode()
        assert r.exit_code == 0, r
        assert "inet 10.244.9.2/24" in out and "inet6 fd00:9::2/64" in out, out
        assert "default via 10.244.9.1 dev eth0" in out, out
        assert "10.96.0.0/12 via 10.244.9.1 dev eth0" in out, out
        link = subprocess.run(["nsenter", "--net=" + d.netns_path(pod_id), "ip", "-o", "link",
                               "show", "eth0"], capture_output=True, text=True,
                              check=True).stdout
        mac = re.search(r"link/ether ([0-9a-f:]{17})", link).group(1)
        assert out.endswith(f"{mac}\n1400\n"), out

        # Into the VM from the pod's gateway, over IPv4 and IPv6.
        def fetch(url):
            return subprocess.run(["nsenter", "--net=" + ns.path, "/usr/bin/python3", "-c",
                                   f"import urllib.request; print(urllib.request.urlopen("
                                   f"'{url}', timeout=10).read().decode(), end='')"],
                                  capture_output=True, text=True).stdout
        wait_for(lambda: fetch("http://10.244.9.2:8080/") == "from the vm\n", timeout=30,
                 what="the VM's web server from the gateway")
        assert fetch("http://[fd00:9::2]:8080/") == "from the vm\n"
        # Out of the VM to the gateway.
        server = subprocess.Popen(["nsenter", "--net=" + ns.path, "/usr/bin/python3", "-m",
                                   "http.server", "8081", "--bind", "10.244.9.1",
                                   "--directory", str(served)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def wget():
            return d.rs().ExecSync(pb.ExecSyncRequest(container_id=web, cmd=[
                "wget", "-q", "-O", "-", "http://10.244.9.1:8081/hello"], timeout=30),
                timeout=60).stdout
        wait_for(lambda: wget() == b"from the gateway\n", timeout=30,
                 what="the gateway's web server from the VM")

        # The NIC outlives libvirtd's crash and cribd's.
        os.kill(libvirtd_pid(), signal.SIGKILL)
        wait_for(lambda: subprocess.run(["virsh", "-c", URI, "version"], capture_output=True
                                        ).returncode != 0, what="libvirtd to be gone")
        start_libvirtd()
        d.kill9()
        d.start()
        assert domain_state(pod_id) == "running"
        assert status(d, pod_id).status.network.ip == "10.244.9.2"
        assert fetch("http://10.244.9.2:8080/") == "from the vm\n"
        assert wget() == b"from the gateway\n"

        d.rs().StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)
        assert "gw0" not in links(ns.path)
        d.rs().RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod_id), timeout=60)

        # QEMU refuses the kernel after the tap was made: it goes with the pod.
        e = rpc_error(lambda: run_vm(d, handler="notakernel", name="net-nokernel"))
        assert "cannot start the VM crib-" in e.details(), e.details()
        assert host_taps() == taps_before
        assert not d.rs().ListPodSandbox(pb.ListPodSandboxRequest()).items
    finally:
        if server:
            server.kill()
            server.wait()
        d.stop()
        destroy_leftovers(d)
        ns.close()
