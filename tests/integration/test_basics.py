# SPDX-License-Identifier: Apache-2.0
"""Version, Status, RuntimeConfig, method registration and request validation."""
import json
import os
import subprocess

import grpc

from conftest import ABI, CRIBD, pb, rpc_error

ALL_METHODS = {
    "RuntimeService": pb.DESCRIPTOR.services_by_name["RuntimeService"],
    "ImageService": pb.DESCRIPTOR.services_by_name["ImageService"],
}
IMPLEMENTED = {
    "Version", "Status", "RuntimeConfig", "UpdateRuntimeConfig", "RunPodSandbox",
    "StopPodSandbox", "RemovePodSandbox", "PodSandboxStatus", "ListPodSandbox",
    "StreamPodSandboxes", "UpdatePodSandboxResources", "CreateContainer", "StartContainer",
    "StopContainer", "RemoveContainer", "ContainerStatus", "ListContainers", "StreamContainers",
    "UpdateContainerResources", "ReopenContainerLog", "ExecSync", "ContainerStats",
    "ListContainerStats", "StreamContainerStats", "PodSandboxStats", "ListPodSandboxStats",
    "StreamPodSandboxStats", "GetContainerEvents", "PullImage", "ListImages", "StreamImages",
    "ImageStatus", "RemoveImage", "ImageFsInfo", "Exec", "Attach", "PortForward",
}


def test_version(cribd):
    v = cribd.rs().Version(pb.VersionRequest(version="0.1.0"))
    assert v.version == "0.1.0"
    assert v.runtime_name == "crib"
    assert v.runtime_version == "0.1.0"
    assert v.runtime_api_version == "v1"


def test_status_reports_conditions_handlers_and_backends(cribd):
    s = cribd.rs().Status(pb.StatusRequest(verbose=True))
    cond = {c.type: c for c in s.status.conditions}
    assert cond["RuntimeReady"].status is True
    # The fixture's loopback network.
    assert cond["NetworkReady"].status is True
    assert [h.name for h in s.runtime_handlers] == ["", "proc"]
    backends = json.loads(s.info["backends"])
    assert backends[0]["name"] == "testproc"
    assert backends[0]["status"] == "healthy"
    assert backends[0]["abi"] == ABI
    assert "exec-sync" in backends[0]["capabilities"]
    classes = json.loads(s.info["runtimeClasses"])
    assert classes[0]["name"] == "proc" and classes[0]["usable"] is True
    assert json.loads(s.info["config"])["default_runtime_class"] == "proc"
    # Not verbose: no info.
    assert not cribd.rs().Status(pb.StatusRequest()).info


def test_network_ready_follows_cni_config(make_cribd):
    d = make_cribd(cni=None).start()

    def network_ready():
        s = d.rs().Status(pb.StatusRequest())
        return {c.type: c for c in s.status.conditions}["NetworkReady"]

    nr = network_ready()
    assert nr.status is False
    assert nr.reason == "NetworkPluginNotReady"
    assert nr.message == f"No CNI network configuration in '{d.cni_dir}'"
    d.write_cni('{"cniVersion": "1.0.0", "name": "lo", "type": "loopback"}', name="10-lo.conf")
    assert network_ready().status is True
    # The lexically first file decides, as RunPodSandbox's loader (the same) would.
    d.write_cni('{"cniVersion": "1.0.0", "name": "lo", "plugins": []}', name="05-bad.conflist")
    nr = network_ready()
    assert nr.status is False
    assert nr.message == (f"CNI configuration '{d.cni_dir}/05-bad.conflist': plugins is not a "
                          "non-empty list")


def test_runtime_ready_false_without_default_class(make_cribd):
    d = make_cribd(default_class="").start()
    s = d.rs().Status(pb.StatusRequest())
    rr = {c.type: c for c in s.status.conditions}["RuntimeReady"]
    assert rr.status is False
    assert rr.reason == "NoDefaultRuntimeClass"


def test_runtime_config_cgroupfs(cribd):
    r = cribd.rs().RuntimeConfig(pb.RuntimeConfigRequest())
    want = pb.SYSTEMD if os.path.isdir("/run/systemd/system") else pb.CGROUPFS
    assert r.linux.cgroup_driver == want


def test_update_runtime_config_persists_and_validates(cribd):
    req = pb.UpdateRuntimeConfigRequest(runtime_config=pb.RuntimeConfig(
        network_config=pb.NetworkConfig(pod_cidr="10.88.0.0/16")))
    cribd.rs().UpdateRuntimeConfig(req)
    cribd.restart()
    info = json.loads(cribd.rs().Status(pb.StatusRequest(verbose=True)).info["config"])
    assert info["pod_cidr"] == "10.88.0.0/16"
    bad = pb.UpdateRuntimeConfigRequest(runtime_config=pb.RuntimeConfig(
        network_config=pb.NetworkConfig(pod_cidr="10.88.0.0/99")))
    e = rpc_error(lambda: cribd.rs().UpdateRuntimeConfig(bad))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "pod_cidr" in e.details()


def call(d, service, method, request_bytes=b"", streaming=False):
    path = f"/runtime.v1.{service}/{method}"
    ch = d.channel()
    if streaming:
        return list(ch.unary_stream(path, request_serializer=lambda x: x,
                                    response_deserializer=lambda x: x)(request_bytes, timeout=5))
    return ch.unary_unary(path, request_serializer=lambda x: x,
                          response_deserializer=lambda x: x)(request_bytes, timeout=5)


def test_every_method_is_registered(cribd):
    """Unimplemented methods answer UNIMPLEMENTED naming themselves, never grpc's default."""
    for service, desc in ALL_METHODS.items():
        for m in desc.methods:
            streaming = m.name.startswith("Stream") or m.name == "GetContainerEvents"
            if m.name in IMPLEMENTED:
                continue
            e = rpc_error(lambda: call(cribd, service, m.name, b"", streaming))
            assert e.code() == grpc.StatusCode.UNIMPLEMENTED, m.name
            assert f"runtime.v1.{service}/{m.name} is not implemented by cribd" == e.details()


def test_unknown_method_is_unimplemented(cribd):
    e = rpc_error(lambda: call(cribd, "RuntimeService", "NoSuchMethod"))
    assert e.code() == grpc.StatusCode.UNIMPLEMENTED


def test_malformed_protobuf_is_invalid_argument(cribd):
    for raw in (b"\xff\xff\xff", b"\x0a\x05ab", b"\x12\x80\x80\x80\x80\x80\x80"):
        e = rpc_error(lambda: call(cribd, "RuntimeService", "RunPodSandbox", raw))
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "RunPodSandboxRequest" in e.details()
    # The daemon still serves.
    assert cribd.rs().Version(pb.VersionRequest()).runtime_name == "crib"


def test_missing_pod_metadata_names_the_field(cribd):
    cases = [
        (pb.RunPodSandboxRequest(), "RunPodSandboxRequest.config is required"),
        (pb.RunPodSandboxRequest(config=pb.PodSandboxConfig()),
         "PodSandboxConfig.metadata is required"),
    ]
    for field in ("name", "namespace", "uid"):
        md = {"name": "n", "namespace": "ns", "uid": "u"}
        md[field] = ""
        cases.append((pb.RunPodSandboxRequest(config=pb.PodSandboxConfig(
            metadata=pb.PodSandboxMetadata(**md))),
            f"PodSandboxConfig.metadata.{field} is required"))
    for req, msg in cases:
        e = rpc_error(lambda: cribd.rs().RunPodSandbox(req))
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert e.details() == msg
    assert not cribd.rs().ListPodSandbox(pb.ListPodSandboxRequest()).items


def test_help_and_version():
    out = subprocess.run([CRIBD, "--help"], capture_output=True, text=True, check=True).stdout
    assert "--config FILE" in out
    out = subprocess.run([CRIBD, "--version"], capture_output=True, text=True, check=True).stdout
    assert "cribd 0.1.0" in out and f"backend ABI {ABI}" in out
    r = subprocess.run([CRIBD, "--bogus"], capture_output=True, text=True)
    assert r.returncode == 2


def test_broken_config_names_file_and_line(make_cribd):
    d = make_cribd()
    with open(os.path.join(d.conf_d, "20-bad.conf"), "w") as f:
        f.write("[runtime.x]\nbackend = testproc\n\n[runtime.x]\nbackend = testproc\n")
    r = subprocess.run([CRIBD, "--config", d.config], capture_output=True, text=True, timeout=10)
    assert r.returncode == 1
    path = os.path.join(d.conf_d, "20-bad.conf")
    assert f"{path}:4: runtime class 'x' is already defined at {path}:1" in r.stderr


def test_missing_explicit_config_fails(tmp_path):
    r = subprocess.run([CRIBD, "--config", str(tmp_path / "nope.conf")], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 1
    assert "nope.conf" in r.stderr


def test_second_cribd_on_same_run_dir_is_refused(cribd):
    r = subprocess.run([CRIBD, "--config", cribd.config], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 1
    assert "Another cribd already uses run_dir" in r.stderr
    assert cribd.rs().Version(pb.VersionRequest()).runtime_name == "crib"


def test_socket_mode(cribd):
    assert oct(os.stat(cribd.socket).st_mode & 0o777) == "0o660"


def test_sigterm_stops_cleanly(cribd):
    assert cribd.stop() == 0
    assert "cribd stopped" in cribd.log()
    assert not os.path.exists(cribd.socket)


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def test_config_that_does_not_encode_back_is_refused(cribd):
    """protobuf-c reads an overlong field 0 but cannot write it back; nothing is stored."""
    from conftest import pod_config
    cfg = pod_config().SerializeToString() + b"\x80\x00\x00"
    raw = b"\x0a" + varint(len(cfg)) + cfg
    e = rpc_error(lambda: call(cribd, "RuntimeService", "RunPodSandbox", raw))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "does not encode back into a valid PodSandboxConfig" in e.details()
    assert not cribd.rs().ListPodSandbox(pb.ListPodSandboxRequest()).items
