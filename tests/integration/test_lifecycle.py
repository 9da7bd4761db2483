# SPDX-License-Identifier: Apache-2.0
"""Pod and container lifecycle through cribd and the testproc backend."""
import json
import os
import re
import threading
import time

import grpc
import pytest

from conftest import (container_config, container_status, create_container, pb, pid_alive,
                      pod_config, rpc_error, run_pod, wait_for)

def read_lines(path):
    return open(path).read().splitlines() if os.path.exists(path) else []


LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) (P|F) (.*)$")


def test_pod_lifecycle(cribd):
    rs = cribd.rs()
    pid, cfg = run_pod(cribd, labels={"app": "web"}, annotations={"a": "1"})
    st = rs.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=pid, verbose=True))
    assert st.status.id == pid
    assert st.status.state == pb.SANDBOX_READY
    assert st.status.metadata.name == "pod"
    assert dict(st.status.labels) == {"app": "web"}
    assert dict(st.status.annotations) == {"a": "1"}
    assert st.status.runtime_handler == "proc"
    assert st.status.created_at > 0
    assert st.status.network.ip == "127.0.0.1"
    info = json.loads(st.info["info"])
    assert info["backend"] == "testproc" and info["runtimeClass"] == "proc"
    assert info["backendInfo"] == {"backend": "testproc"}

    rs.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pid))
    rs.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pid))  # idempotent
    st = rs.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=pid))
    assert st.status.state == pb.SANDBOX_NOTREADY
    rs.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pid))
    rs.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pid))  # idempotent
    e = rpc_error(lambda: rs.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=pid)))
    assert e.code() == grpc.StatusCode.NOT_FOUND
    assert not os.path.exists(os.path.join(cribd.backend_dir(), "pods", pid))


def test_pod_name_conflict_and_attempts(cribd):
    pid, cfg = run_pod(cribd)
    e = rpc_error(lambda: run_pod(cribd))
    assert e.code() == grpc.StatusCode.ALREADY_EXISTS
    assert pid in e.details()
    pid2, _ = run_pod(cribd, attempt=1)
    assert pid2 != pid


def test_unknown_ids(cribd):
    rs = cribd.rs()
    for call in (lambda: rs.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id="f00")),
                 lambda: rs.ContainerStatus(pb.ContainerStatusRequest(container_id="f00")),
                 lambda: rs.StartContainer(pb.StartContainerRequest(container_id="f00")),
                 lambda: rs.StopContainer(pb.StopContainerRequest(container_id="f00"))):
        e = rpc_error(call)
        assert e.code() == grpc.StatusCode.NOT_FOUND
        assert "'f00' not found" in e.details()
    rs.RemoveContainer(pb.RemoveContainerRequest(container_id="f00"))
    rs.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id="f00"))


def test_unknown_runtime_handler(cribd):
    e = rpc_error(lambda: run_pod(cribd, handler="nope"))
    assert e.code() == grpc.StatusCode.NOT_FOUND
    assert e.details() == "Runtime handler 'nope' is not configured"


def test_container_lifecycle_and_logs(cribd):
    rs = cribd.rs()
    pid, pcfg = run_pod(cribd, log_directory=cribd.logs)
    script = "echo hello; echo oops >&2; printf partial; sleep 600"
    cid = create_container(cribd, pid, pcfg, start=False, command=["sh", "-c", script],
                           log_path="c/0.log", labels={"tier": "x"})
    st = container_status(cribd, cid).status
    assert st.state == pb.CONTAINER_CREATED
    assert st.log_path == os.path.join(cribd.logs, "c/0.log")
    assert st.image.image == "busybox"
    rs.StartContainer(pb.StartContainerRequest(container_id=cid))
    e = rpc_error(lambda: rs.StartContainer(pb.StartContainerRequest(container_id=cid)))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION

    st = container_status(cribd, cid, verbose=True)
    assert st.status.state == pb.CONTAINER_RUNNING
    assert st.status.started_at > 0
    pid_in = json.loads(st.info["info"])["pid"]
    assert pid_alive(pid_in)

    log = os.path.join(cribd.logs, "c/0.log")
    wait_for(lambda: len(read_lines(log)) >= 3, what="three log lines")
    lines = read_lines(log)
    parsed = sorted(LOG_LINE.match(l).groups() for l in lines)
    assert parsed == sorted([("stdout", "F", "hello"), ("stderr", "F", "oops"),
                             ("stdout", "P", "partial")])

    rs.StopContainer(pb.StopContainerRequest(container_id=cid, timeout=5))
    rs.StopContainer(pb.StopContainerRequest(container_id=cid, timeout=5))  # idempotent
    st = container_status(cribd, cid).status
    assert st.state == pb.CONTAINER_EXITED
    assert st.exit_code == 143  # SIGTERM
    assert st.finished_at >= st.started_at > 0
    assert not pid_alive(pid_in)
    rs.RemoveContainer(pb.RemoveContainerRequest(container_id=cid))
    rs.RemoveContainer(pb.RemoveContainerRequest(container_id=cid))  # idempotent
    assert not rs.ListContainers(pb.ListContainersRequest()).containers


def test_exit_code_of_a_finished_container(cribd):
    pid, pcfg = run_pod(cribd)
    cid = create_container(cribd, pid, pcfg, command=["sh", "-c", "exit 7"])
    st = wait_for(lambda: (s := container_status(cribd, cid).status).state == pb.CONTAINER_EXITED
                  and s, what="the exit")
    assert st.exit_code == 7
    assert st.reason == "Error"
    # The list agrees without asking the backend.
    c = cribd.rs().ListContainers(pb.ListContainersRequest()).containers[0]
    assert c.state == pb.CONTAINER_EXITED


def test_stop_escalates_to_kill_after_timeout(cribd):
    pid, pcfg = run_pod(cribd)
    cid = create_container(cribd, pid, pcfg,
                           command=["sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"])
    time.sleep(0.2)
    t = time.time()
    cribd.rs().StopContainer(pb.StopContainerRequest(container_id=cid, timeout=1))
    took = time.time() - t
    assert 0.9 <= took < 5
    st = container_status(cribd, cid).status
    assert st.state == pb.CONTAINER_EXITED and st.exit_code == 137


def test_container_start_failure_leaves_an_exited_container(cribd):
    pid, pcfg = run_pod(cribd)
    cid = create_container(cribd, pid, pcfg, start=False, command=["/no/such/binary"])
    e = rpc_error(lambda: cribd.rs().StartContainer(pb.StartContainerRequest(container_id=cid)))
    assert e.code() == grpc.StatusCode.NOT_FOUND
    assert "/no/such/binary" in e.details()
    st = container_status(cribd, cid).status
    assert st.state == pb.CONTAINER_EXITED
    assert st.reason == "StartError"
    assert "/no/such/binary" in st.message


def test_create_container_validation(cribd):
    rs = cribd.rs()
    pid, pcfg = run_pod(cribd)
    cases = [
        (pb.CreateContainerRequest(config=container_config()),
         "CreateContainerRequest.pod_sandbox_id is required"),
        (pb.CreateContainerRequest(pod_sandbox_id=pid), "CreateContainerRequest.config is required"),
        (pb.CreateContainerRequest(pod_sandbox_id=pid, config=pb.ContainerConfig(
            image=pb.ImageSpec(image="x"))), "ContainerConfig.metadata.name is required"),
        (pb.CreateContainerRequest(pod_sandbox_id=pid, config=pb.ContainerConfig(
            metadata=pb.ContainerMetadata(name="c"))), "ContainerConfig.image.image is required"),
        (pb.CreateContainerRequest(pod_sandbox_id=pid, config=container_config(log_path="x.log")),
         "ContainerConfig.log_path 'x.log' is relative but the pod sandbox has no log_directory"),
    ]
    for req, msg in cases:
        e = rpc_error(lambda: rs.CreateContainer(req))
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, msg
        assert e.details() == msg
    e = rpc_error(lambda: rs.CreateContainer(pb.CreateContainerRequest(
        pod_sandbox_id="beef", config=container_config())))
    assert e.code() == grpc.StatusCode.NOT_FOUND
    create_container(cribd, pid, pcfg, start=False)
    e = rpc_error(lambda: create_container(cribd, pid, pcfg, start=False))
    assert e.code() == grpc.StatusCode.ALREADY_EXISTS
    rs.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pid))
    e = rpc_error(lambda: create_container(cribd, pid, pcfg, name="late", start=False))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_backend_failure_leaves_nothing(cribd):
    e = rpc_error(lambda: run_pod(cribd, annotations={"crib.test/fail": "pod_run"}))
    assert e.code() == grpc.StatusCode.INTERNAL
    assert "pod_run failed as the test asked" in e.details()
    assert not cribd.rs().ListPodSandbox(pb.ListPodSandboxRequest()).items
    assert os.listdir(os.path.join(cribd.backend_dir(), "pods")) == []
    # The name is free again.
    pid, pcfg = run_pod(cribd)
    e = rpc_error(lambda: create_container(cribd, pid, pcfg,
                                           annotations={"crib.test/fail": "container_create"}))
    assert "container_create failed as the test asked" in e.details()
    assert not cribd.rs().ListContainers(pb.ListContainersRequest()).containers
    assert os.listdir(os.path.join(cribd.backend_dir(), "containers")) == []
    cribd.restart()
    assert len(cribd.rs().ListPodSandbox(pb.ListPodSandboxRequest()).items) == 1
    assert not cribd.rs().ListContainers(pb.ListContainersRequest()).containers


def test_remove_pod_stops_and_removes_its_containers(cribd):
    pid, pcfg = run_pod(cribd)
    cids = [create_container(cribd, pid, pcfg, name=f"c{i}") for i in range(3)]
    pids = [json.loads(container_status(cribd, c, verbose=True).info["info"])["pid"] for c in cids]
    cribd.rs().RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pid))
    assert not cribd.rs().ListContainers(pb.ListContainersRequest()).containers
    assert not cribd.rs().ListPodSandbox(pb.ListPodSandboxRequest()).items
    for p in pids:
        wait_for(lambda: not pid_alive(p), what=f"pid {p} to end")


def test_stop_pod_stops_running_containers(cribd):
    pid, pcfg = run_pod(cribd)
    cid = create_container(cribd, pid, pcfg)
    cribd.rs().StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pid))
    assert container_status(cribd, cid).status.state == pb.CONTAINER_EXITED
    st = cribd.rs().PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=pid))
    assert st.status.state == pb.SANDBOX_NOTREADY
    assert [c.state for c in st.containers_statuses] == [pb.CONTAINER_EXITED]


def test_list_filters(cribd):
    rs = cribd.rs()
    a, acfg = run_pod(cribd, name="a", labels={"app": "x", "env": "prod"})
    b, bcfg = run_pod(cribd, name="b", labels={"app": "y"})
    rs.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=b))
    ids = lambda f: sorted(p.id for p in rs.ListPodSandbox(pb.ListPodSandboxRequest(filter=f)).items)
    assert ids(None) == sorted([a, b])
    assert ids(pb.PodSandboxFilter(id=a)) == [a]
    assert ids(pb.PodSandboxFilter(id=a[:12])) == [a]
    assert ids(pb.PodSandboxFilter(id="zz")) == []
    assert ids(pb.PodSandboxFilter(state=pb.PodSandboxStateValue(state=pb.SANDBOX_NOTREADY))) == [b]
    assert ids(pb.PodSandboxFilter(label_selector={"app": "x"})) == [a]
    assert ids(pb.PodSandboxFilter(label_selector={"app": "x", "env": "dev"})) == []

    c1 = create_container(cribd, a, acfg, name="c1", labels={"k": "1"})
    c2 = create_container(cribd, a, acfg, name="c2", start=False, labels={"k": "2"})
    cids = lambda f: sorted(c.id for c in rs.ListContainers(pb.ListContainersRequest(filter=f)).containers)
    assert cids(None) == sorted([c1, c2])
    assert cids(pb.ContainerFilter(id=c1[:10])) == [c1]
    assert cids(pb.ContainerFilter(pod_sandbox_id=a)) == sorted([c1, c2])
    assert cids(pb.ContainerFilter(pod_sandbox_id=b)) == []
    assert cids(pb.ContainerFilter(state=pb.ContainerStateValue(state=pb.CONTAINER_CREATED))) == [c2]
    assert cids(pb.ContainerFilter(label_selector={"k": "1"})) == [c1]
    # Short ids work everywhere an id does.
    assert container_status(cribd, c1[:8]).status.id == c1


def test_streaming_lists_match_the_unary_ones(cribd):
    rs = cribd.rs()
    pods = [run_pod(cribd, name=f"p{i}")[0] for i in range(5)]
    got = [p.id for r in rs.StreamPodSandboxes(pb.StreamPodSandboxesRequest())
           for p in r.pod_sandboxes]
    assert sorted(got) == sorted(pods)
    got = [c for r in rs.StreamContainers(pb.StreamContainersRequest()) for c in r.containers]
    assert got == []


def test_exec_sync(cribd):
    pid, pcfg = run_pod(cribd)
    cid = create_container(cribd, pid, pcfg, envs={"GREETING": "hi"})
    r = cribd.rs().ExecSync(pb.ExecSyncRequest(container_id=cid, timeout=5,
                                              cmd=["sh", "-c", "echo $GREETING; echo e >&2; exit 3"]))
    assert r.stdout == b"hi\n" and r.stderr == b"e\n" and r.exit_code == 3
    t = time.time()
    e = rpc_error(lambda: cribd.rs().ExecSync(pb.ExecSyncRequest(
        container_id=cid, cmd=["sleep", "30"], timeout=1)))
    assert e.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.time() - t < 5
    e = rpc_error(lambda: cribd.rs().ExecSync(pb.ExecSyncRequest(container_id=cid)))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT
    cribd.rs().StopContainer(pb.StopContainerRequest(container_id=cid))
    e = rpc_error(lambda: cribd.rs().ExecSync(pb.ExecSyncRequest(container_id=cid, cmd=["true"])))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_exec_sync_does_not_wait_behind_lifecycle_work(cribd):
    """A probe must not queue behind a slow stop of the same pod."""
    pid, pcfg = run_pod(cribd)
    slow = create_container(cribd, pid, pcfg, name="slow",
                            command=["sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"])
    probe = create_container(cribd, pid, pcfg, name="probe")
    stopper = threading.Thread(target=lambda: cribd.rs().StopContainer(
        pb.StopContainerRequest(container_id=slow, timeout=3)))
    stopper.start()
    time.sleep(0.3)
    t = time.time()
    assert cribd.rs().ExecSync(pb.ExecSyncRequest(container_id=probe, cmd=["true"])).exit_code == 0
    assert time.time() - t < 1.5
    stopper.join()


def test_reopen_container_log(cribd):
    pid, pcfg = run_pod(cribd, log_directory=cribd.logs)
    cid = create_container(cribd, pid, pcfg, log_path="c.log",
                           command=["sh", "-c", "while true; do echo tick; sleep 0.05; done"])
    log = os.path.join(cribd.logs, "c.log")
    wait_for(lambda: os.path.exists(log) and os.path.getsize(log) > 0, what="first lines")
    os.rename(log, log + ".1")
    cribd.rs().ReopenContainerLog(pb.ReopenContainerLogRequest(container_id=cid))
    wait_for(lambda: os.path.exists(log) and "tick" in open(log).read(), what="the new file")
    assert all(LOG_LINE.match(l) for l in open(log).read().splitlines())
    cribd.rs().StopContainer(pb.StopContainerRequest(container_id=cid))
    e = rpc_error(lambda: cribd.rs().ReopenContainerLog(
        pb.ReopenContainerLogRequest(container_id=cid)))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_update_container_resources_shows_in_status(cribd):
    pid, pcfg = run_pod(cribd)
    cid = create_container(cribd, pid, pcfg)
    res = pb.LinuxContainerResources(cpu_shares=512, memory_limit_in_bytes=64 << 20)
    cribd.rs().UpdateContainerResources(pb.UpdateContainerResourcesRequest(
        container_id=cid, linux=res))
    st = container_status(cribd, cid).status
    assert st.resources.linux.cpu_shares == 512
    assert st.resources.linux.memory_limit_in_bytes == 64 << 20
    saved = os.path.join(cribd.backend_dir(), "containers", cid, "resources")
    got = pb.UpdateContainerResourcesRequest.FromString(open(saved, "rb").read())
    assert got.linux.cpu_shares == 512
    cribd.restart()
    assert container_status(cribd, cid).status.resources.linux.cpu_shares == 512


def test_stats(cribd):
    pid, pcfg = run_pod(cribd)
    cid = create_container(cribd, pid, pcfg, command=["sh", "-c", "while true; do :; done"])
    idle = create_container(cribd, pid, pcfg, name="idle", start=False)
    time.sleep(0.5)
    s1 = cribd.rs().ContainerStats(pb.ContainerStatsRequest(container_id=cid)).stats
    assert s1.attributes.id == cid
    assert s1.memory.working_set_bytes.value > 0
    time.sleep(0.5)
    s2 = cribd.rs().ContainerStats(pb.ContainerStatsRequest(container_id=cid)).stats
    assert s2.cpu.usage_core_nano_seconds.value > s1.cpu.usage_core_nano_seconds.value
    # A busy loop: close to one core between the two samples.
    assert s2.cpu.usage_nano_cores.value > 300_000_000
    listed = cribd.rs().ListContainerStats(pb.ListContainerStatsRequest()).stats
    assert sorted(s.attributes.id for s in listed) == sorted([cid, idle])
    streamed = [s.attributes.id for r in cribd.rs().StreamContainerStats(
        pb.StreamContainerStatsRequest()) for s in r.container_stats]
    assert sorted(streamed) == sorted([cid, idle])
    ps = cribd.rs().PodSandboxStats(pb.PodSandboxStatsRequest(pod_sandbox_id=pid)).stats
    assert ps.attributes.id == pid
    assert ps.linux.process.process_count.value == 1
    assert sorted(c.attributes.id for c in ps.linux.containers) == sorted([cid, idle])
    lps = cribd.rs().ListPodSandboxStats(pb.ListPodSandboxStatsRequest()).stats
    assert [p.attributes.id for p in lps] == [pid]


def test_container_events(cribd):
    rs = cribd.rs()
    stream = rs.GetContainerEvents(pb.GetEventsRequest())
    events = []

    def read():
        for ev in stream:
            events.append(ev)
            if ev.container_event_type == pb.CONTAINER_DELETED_EVENT:
                return

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.2)
    pid, pcfg = run_pod(cribd)
    cid = create_container(cribd, pid, pcfg, command=["sh", "-c", "sleep 0.3; exit 4"])
    wait_for(lambda: container_status(cribd, cid).status.state == pb.CONTAINER_EXITED,
             what="the exit")
    rs.RemoveContainer(pb.RemoveContainerRequest(container_id=cid))
    reader.join(timeout=10)
    stream.cancel()
    types = [e.container_event_type for e in events]
    assert types == [pb.CONTAINER_CREATED_EVENT, pb.CONTAINER_STARTED_EVENT,
                     pb.CONTAINER_STOPPED_EVENT, pb.CONTAINER_DELETED_EVENT]
    assert all(e.container_id == cid for e in events)
    assert events[0].pod_sandbox_status.id == pid
    stopped = events[2].containers_statuses[0]
    assert stopped.state == pb.CONTAINER_EXITED and stopped.exit_code == 4
    # A cancelled subscriber does not break the bus.
    run_pod(cribd, name="after")


@pytest.mark.parametrize("n", [300])
def test_many_pods_list_and_stream_in_chunks(cribd, n):
    rs = cribd.rs()
    ids = {run_pod(cribd, name=f"p{i}")[0] for i in range(n)}
    assert {p.id for p in rs.ListPodSandbox(pb.ListPodSandboxRequest()).items} == ids
    chunks = list(rs.StreamPodSandboxes(pb.StreamPodSandboxesRequest()))
    assert len(chunks) == 2
    assert {p.id for c in chunks for p in c.pod_sandboxes} == ids
