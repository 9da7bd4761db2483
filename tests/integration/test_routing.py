# SPDX-License-Identifier: Apache-2.0
"""Routing by runtime class, ABI refusal and isolation of backends that cannot serve."""
import json
import os
import time

import grpc

from conftest import ABI, PLUGINS, create_container, pb, rpc_error, run_pod, wait_for


def status_info(d):
    s = d.rs().Status(pb.StatusRequest(verbose=True))
    return {b["name"]: b for b in json.loads(s.info["backends"])}, \
        {c["name"]: c for c in json.loads(s.info["runtimeClasses"])}


def test_pods_route_to_their_class_backend(make_cribd):
    d = make_cribd(classes={"proc": "backend = testproc", "other": "backend = testfail"}).start()
    a, acfg = run_pod(d, name="a")
    b, bcfg = run_pod(d, name="b", handler="other")
    assert os.path.isdir(os.path.join(d.backend_dir("testproc"), "pods", a))
    assert os.path.isdir(os.path.join(d.backend_dir("testfail"), "pods", b))
    assert not os.path.exists(os.path.join(d.backend_dir("testproc"), "pods", b))
    cb = create_container(d, b, bcfg)
    assert os.path.isdir(os.path.join(d.backend_dir("testfail"), "containers", cb))
    handlers = {p.id: p.runtime_handler for p in d.rs().ListPodSandbox(
        pb.ListPodSandboxRequest()).items}
    assert handlers == {a: "proc", b: "other"}
    backends, _ = status_info(d)
    assert backends["testproc"]["pods"] == 1 and backends["testfail"]["pods"] == 1
    assert backends["testfail"]["containers"] == 1


def test_abi_mismatch_is_refused_naming_both_versions(make_cribd):
    d = make_cribd(classes={"proc": "backend = testproc", "future": "backend = badabi"}).start()
    e = rpc_error(lambda: run_pod(d, handler="future"))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION
    path = os.path.join(PLUGINS, "badabi.so")
    assert f"'{path}' is built for ABI 99.3, but cribd expects ABI 1.x ({ABI})" in e.details()
    backends, classes = status_info(d)
    assert backends["badabi"]["status"] == "load-failed"
    assert classes["future"]["usable"] is False
    # The others keep serving.
    run_pod(d)


def test_missing_symbol_and_missing_module(make_cribd):
    d = make_cribd(classes={"proc": "backend = testproc", "nosym": "backend = nosym",
                            "ghost": "backend = ghost"}).start()
    e = rpc_error(lambda: run_pod(d, handler="nosym"))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert f"does not export 'crib_backend_entry' (expected ABI {ABI})" in e.details()
    assert os.path.join(PLUGINS, "nosym.so") in e.details()
    e = rpc_error(lambda: run_pod(d, handler="ghost"))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "ghost.so" in e.details() and "No such file" in e.details()
    run_pod(d)


def test_init_failure_isolates_the_backend(make_cribd):
    d = make_cribd(classes={"proc": "backend = testproc", "broken": "backend = testfail"},
                   backends={"testfail": "fail_init = true"}).start()
    e = rpc_error(lambda: run_pod(d, handler="broken"))
    assert e.code() == grpc.StatusCode.UNAVAILABLE
    assert "backend 'testfail' is unavailable: fail_init is set in [backend.testfail]" in e.details()
    backends, _ = status_info(d)
    assert backends["testfail"]["status"] == "init-failed"
    pid, cfg = run_pod(d)
    create_container(d, pid, cfg)
    # Fixing the config and reloading brings it back.
    d.write_classes({"proc": "backend = testproc", "broken": "backend = testfail"})
    d.hup()
    run_pod(d, name="now", handler="broken")


def test_misconfigured_class_names_its_line(make_cribd):
    d = make_cribd(classes={"proc": "backend = testproc", "typo": "backend = testproc\ncolour = red"}
                   ).start()
    e = rpc_error(lambda: run_pod(d, handler="typo"))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION
    conf = os.path.join(d.conf_d, "10-classes.conf")
    assert f"{conf}:6: unknown key 'colour' for backend 'testproc'" in e.details()
    run_pod(d)


def test_unhealthy_backend_refuses_new_pods_and_recovers(make_cribd):
    d = make_cribd(classes={"proc": "backend = testproc", "other": "backend = testfail"}).start()
    pid, cfg = run_pod(d, handler="other")
    flag = os.path.join(d.backend_dir("testfail"), "unhealthy")
    with open(flag, "w") as f:
        f.write("the test pulled the plug\n")
    # Health is checked every 10 s; the Status call below reads the cached result.
    wait_for(lambda: status_info(d)[0]["testfail"]["status"] == "unhealthy", timeout=15,
             what="the health check")
    e = rpc_error(lambda: run_pod(d, name="new", handler="other"))
    assert e.code() == grpc.StatusCode.UNAVAILABLE
    assert "the test pulled the plug" in e.details()
    run_pod(d, name="fine")
    os.unlink(flag)
    wait_for(lambda: status_info(d)[0]["testfail"]["status"] == "healthy", timeout=15,
             what="recovery")
    run_pod(d, name="new", handler="other")


def test_class_features_reach_runtime_handlers(make_cribd):
    d = make_cribd(classes={"proc": "backend = testproc", "uns": "backend = testproc\n"
                                                              "features = userns"}).start()
    handlers = {h.name: h.features for h in d.rs().Status(pb.StatusRequest()).runtime_handlers}
    assert handlers["uns"].user_namespaces is True
    assert handlers["proc"].user_namespaces is False
    assert handlers[""].user_namespaces is False


def test_stats_unimplemented_for_backends_without_them(make_cribd):
    """No stats-capable class among the matching objects: UNIMPLEMENTED, kubelet falls back."""
    d = make_cribd(classes={"proc": "backend = testproc"}).start()
    # testproc reports stats, so the list answers; a filter matching nothing answers empty.
    assert list(d.rs().ListContainerStats(pb.ListContainerStatsRequest()).stats) == []
    d.stop()
    d2 = make_cribd(default_class="", classes={}).start()
    e = rpc_error(lambda: d2.rs().ListContainerStats(pb.ListContainerStatsRequest()))
    assert e.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "ListContainerStats" in e.details()
    e = rpc_error(lambda: d2.rs().ListPodSandboxStats(pb.ListPodSandboxStatsRequest()))
    assert e.code() == grpc.StatusCode.UNIMPLEMENTED
