# SPDX-License-Identifier: Apache-2.0
"""SIGHUP reload, restarts, kill -9 recovery and half-made objects."""
import json
import os
import signal
import threading
import time

import grpc

from conftest import (container_status, create_container, pb, pid_alive, rpc_error, run_pod,
                      wait_for)


def pid_of(d, cid):
    return json.loads(container_status(d, cid, verbose=True).info["info"])["pid"]


def test_sighup_adds_and_removes_classes(cribd):
    pid, cfg = run_pod(cribd)
    cid = create_container(cribd, pid, cfg)
    cribd.write_classes({"proc": "backend = testproc", "extra": "backend = testproc"})
    cribd.hup()
    run_pod(cribd, name="x", handler="extra")
    # Removing "proc": new pods refused, the running one keeps running and can be removed.
    cribd.write_classes({"extra": "backend = testproc"})
    cribd.write_main("extra")
    cribd.hup()
    e = rpc_error(lambda: run_pod(cribd, name="y", handler="proc"))
    assert e.code() == grpc.StatusCode.NOT_FOUND
    assert "was removed from the configuration" in e.details()
    assert container_status(cribd, cid).status.state == pb.CONTAINER_RUNNING
    assert pid_alive(pid_of(cribd, cid))
    cribd.rs().RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pid))
    handlers = [h.name for h in cribd.rs().Status(pb.StatusRequest()).runtime_handlers]
    assert handlers == ["", "extra"]


def test_sighup_with_broken_config_keeps_the_running_one(cribd):
    with open(os.path.join(cribd.conf_d, "20-broken.conf"), "w") as f:
        f.write("[runtime.new]\nbackend = testproc\nthis line is broken\n")
    text = cribd.hup(expect="Failed to reload")
    assert "20-broken.conf:3: syntax error" in text
    run_pod(cribd)
    e = rpc_error(lambda: run_pod(cribd, name="n", handler="new"))
    assert e.code() == grpc.StatusCode.NOT_FOUND


def test_changed_class_keeps_old_pods_on_their_version(cribd):
    pid, cfg = run_pod(cribd)
    cribd.write_classes({"proc": "backend = testproc\nfail = pod_run"})
    cribd.hup()
    e = rpc_error(lambda: run_pod(cribd, name="new"))
    assert "pod_run failed as the test asked" in e.details()
    # The old pod still works through the version it was made with.
    create_container(cribd, pid, cfg)
    _, classes = status_of(cribd)
    assert sorted((c["name"], c["status"]) for c in classes) == [("proc", "ready"),
                                                                 ("proc", "retired")]


def status_of(d):
    s = d.rs().Status(pb.StatusRequest(verbose=True))
    return json.loads(s.info["backends"]), json.loads(s.info["runtimeClasses"])


def test_kill9_restart_recovers_every_object(cribd):
    rs = cribd.rs()
    a, acfg = run_pod(cribd, name="a", labels={"k": "v"})
    b, bcfg = run_pod(cribd, name="b")
    running = create_container(cribd, a, acfg, name="run")
    created = create_container(cribd, a, acfg, name="made", start=False)
    exits_later = create_container(cribd, b, bcfg, name="later",
                                   command=["sh", "-c", "sleep 1.5; exit 9"])
    done = create_container(cribd, b, bcfg, name="done", command=["sh", "-c", "exit 2"])
    wait_for(lambda: container_status(cribd, done).status.state == pb.CONTAINER_EXITED,
             what="the first exit")
    pid_running = pid_of(cribd, running)

    cribd.kill9()
    assert pid_alive(pid_running), "containers must outlive cribd"
    time.sleep(2)  # "later" exits while cribd is down
    cribd.start()
    rs = cribd.rs()

    pods = {p.id: p for p in rs.ListPodSandbox(pb.ListPodSandboxRequest()).items}
    assert set(pods) == {a, b}
    assert pods[a].state == pb.SANDBOX_READY and dict(pods[a].labels) == {"k": "v"}
    states = {c.id: c.state for c in rs.ListContainers(pb.ListContainersRequest()).containers}
    assert states == {running: pb.CONTAINER_RUNNING, created: pb.CONTAINER_CREATED,
                      exits_later: pb.CONTAINER_EXITED, done: pb.CONTAINER_EXITED}
    assert container_status(cribd, exits_later).status.exit_code == 9
    assert container_status(cribd, done).status.exit_code == 2
    # The backend's private blobs came back: ops on old objects still work.
    r = rs.ExecSync(pb.ExecSyncRequest(container_id=running, cmd=["echo", "alive"], timeout=5))
    assert r.stdout == b"alive\n"
    rs.StartContainer(pb.StartContainerRequest(container_id=created))
    # Exits are still watched after the restart.
    rs.StopContainer(pb.StopContainerRequest(container_id=running, timeout=5))
    assert container_status(cribd, running).status.exit_code == 143
    rs.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=a))
    rs.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=b))
    assert not rs.ListPodSandbox(pb.ListPodSandboxRequest()).items


def test_exit_while_running_is_seen_through_events_after_restart(cribd):
    pid, cfg = run_pod(cribd)
    cid = create_container(cribd, pid, cfg, command=["sh", "-c", "sleep 1; exit 5"])
    cribd.kill9()
    cribd.start()
    # Reconcile re-armed the watch: the exit arrives without anyone asking for the status.
    wait_for(lambda: cribd.rs().ListContainers(pb.ListContainersRequest()).containers[0].state
             == pb.CONTAINER_EXITED, what="the exit event")
    assert container_status(cribd, cid).status.exit_code == 5


def test_sigterm_leaves_containers_running(cribd):
    pid, cfg = run_pod(cribd)
    cid = create_container(cribd, pid, cfg)
    p = pid_of(cribd, cid)
    assert cribd.stop() == 0
    assert pid_alive(p)
    cribd.start()
    assert container_status(cribd, cid).status.state == pb.CONTAINER_RUNNING


def test_half_made_pod_is_cleaned_up_after_a_crash(cribd):
    """kill -9 while the backend creates a pod: the next cribd removes what was started."""
    err = []
    t = threading.Thread(target=lambda: err.append(rpc_error(
        lambda: run_pod(cribd, annotations={"crib.test/sleep-ms": "1500"}))))
    t.start()
    pods_dir = os.path.join(cribd.backend_dir(), "pods")
    time.sleep(0.5)
    cribd.kill9()
    t.join()
    # The backend finishes what it started in its own time only while cribd lives; here the
    # request was recorded as "creating" and the pod dir may or may not exist.
    cribd.start()
    assert not cribd.rs().ListPodSandbox(pb.ListPodSandboxRequest()).items
    wait_for(lambda: os.listdir(pods_dir) == [], what="the half-made pod's cleanup")
    assert "left half-created by a previous cribd" in cribd.log()
    # Its name is free.
    run_pod(cribd)


def test_half_made_container_is_cleaned_up_after_a_crash(cribd):
    pid, cfg = run_pod(cribd)
    t = threading.Thread(target=lambda: rpc_error(lambda: create_container(
        cribd, pid, cfg, start=False, annotations={"crib.test/sleep-ms": "1500"})))
    t.start()
    time.sleep(0.5)
    cribd.kill9()
    t.join()
    # Let the old worker's mkdir land (it dies with cribd, but may have run already).
    cribd.start()
    assert not cribd.rs().ListContainers(pb.ListContainersRequest()).containers
    ctrs = os.path.join(cribd.backend_dir(), "containers")
    wait_for(lambda: os.listdir(ctrs) == [], what="the half-made container's cleanup")
    create_container(cribd, pid, cfg)


def test_restart_with_a_removed_class_keeps_its_pods(cribd):
    pid, cfg = run_pod(cribd)
    cid = create_container(cribd, pid, cfg)
    cribd.stop()
    cribd.write_classes({"other": "backend = testproc"})
    cribd.write_main("other")
    cribd.start()
    pods = cribd.rs().ListPodSandbox(pb.ListPodSandboxRequest()).items
    assert [p.runtime_handler for p in pods] == ["proc"]
    assert container_status(cribd, cid).status.state == pb.CONTAINER_RUNNING
    e = rpc_error(lambda: run_pod(cribd, name="n", handler="proc"))
    assert "was removed from the configuration" in e.details()
    cribd.rs().RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pid))
    assert not cribd.rs().ListPodSandbox(pb.ListPodSandboxRequest()).items


def test_different_pods_run_in_parallel_same_pod_serially(cribd):
    def timed(fns):
        threads = [threading.Thread(target=f) for f in fns]
        t = time.time()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return time.time() - t

    slow = {"crib.test/sleep-ms": "1000"}
    took = timed([lambda i=i: run_pod(cribd, name=f"p{i}", annotations=slow) for i in range(3)])
    assert took < 2.0, f"three 1 s creations of different pods took {took:.2f} s"
    pid, cfg = run_pod(cribd, name="one")
    took = timed([lambda i=i: create_container(cribd, pid, cfg, name=f"c{i}", start=False,
                                               annotations=slow) for i in range(2)])
    assert took >= 2.0, f"two 1 s creations in one pod overlapped ({took:.2f} s)"
