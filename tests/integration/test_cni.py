# SPDX-License-Identifier: Apache-2.0
"""Pod networking: cribd's network namespaces and its CNI runtime.

Plugins are Debian's containernetworking-plugins (loopback, bridge, host-local) and fake ones
written into each test's own directory.  Nothing here sends traffic outside loopback or a
network namespace the test made itself.
"""
import json
import os
import subprocess
import textwrap

import grpc
import pytest

from conftest import pb, pod_config, rpc_error, run_pod, wait_for

PLUGIN_DIRS = "/opt/cni/bin:/usr/lib/cni"


def plugin_path(name):
    for d in PLUGIN_DIRS.split(":"):
        if os.access(os.path.join(d, name), os.X_OK):
            return os.path.join(d, name)
    return None


def links(netns):
    """`ip -o link` in the namespace mounted at NETNS, as {name: flags}."""
    out = subprocess.run(["nsenter", "--net=" + netns, "ip", "-o", "link"], check=True,
                         capture_output=True, text=True).stdout
    result = {}
    for line in out.splitlines():
        _, name, rest = line.split(":", 2)
        result[name.strip().split("@")[0]] = rest.split("<", 1)[1].split(">", 1)[0].split(",")
    return result


def status(d, pid, verbose=False):
    return d.rs().PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=pid,
                                                              verbose=verbose))


def stop(d, pid):
    d.rs().StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pid))


def remove(d, pid):
    d.rs().RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pid))


def cache_file(d, pid):
    return os.path.join(d.state, "cni", pid + ".json")


def netns_entries(d):
    path = os.path.join(d.run, "netns")
    return os.listdir(path) if os.path.isdir(path) else []


def write_plugin(d, name, body):
    """A fake plugin in the test's own bin dir (searched before the system's)."""
    bindir = os.path.join(d.base, "bin")
    os.makedirs(bindir, exist_ok=True)
    path = os.path.join(bindir, name)
    with open(path, "w") as f:
        f.write(body)
    os.chmod(path, 0o755)
    return bindir


# Records its environment and stdin, and on ADD adds the config's "addr" to prevResult.
RECORDER = textwrap.dedent("""\
    #!/usr/bin/python3
    import json, os, sys
    conf = json.load(sys.stdin)
    env = {k: v for k, v in os.environ.items() if k.startswith("CNI_")}
    with open(conf["log"], "a") as f:
        f.write(json.dumps({"env": env, "conf": conf}) + "\\n")
    if env["CNI_COMMAND"] == "ADD":
        res = conf.get("prevResult") or {
            "cniVersion": conf["cniVersion"],
            "interfaces": [{"name": env["CNI_IFNAME"], "sandbox": env["CNI_NETNS"]}],
            "ips": []}
        res["ips"].append({"address": conf["addr"], "interface": 0})
        print(json.dumps(res))
    """)


def recorder_cribd(make_cribd, log_name="calls.log"):
    d = make_cribd(cni=None)
    bindir = write_plugin(d, "record", RECORDER)
    log = os.path.join(d.base, log_name)
    d.write_cni(json.dumps({
        "cniVersion": "1.0.0", "name": "recnet",
        "plugins": [
            {"type": "record", "log": log, "addr": "10.99.0.7/24"},
            {"type": "record", "log": log, "addr": "fd00::7/64",
             "capabilities": {"portMappings": True, "bandwidth": True}},
        ]}))
    d.write_main("proc", f"cni_bin_dirs = {bindir}:{PLUGIN_DIRS}\n")
    return d, log, bindir


def calls(log):
    if not os.path.exists(log):
        return []
    with open(log) as f:
        return [json.loads(line) for line in f]


def test_pod_gets_a_namespace_with_loopback_up(cribd):
    pid, _ = run_pod(cribd)
    netns = cribd.netns_path(pid)
    assert os.path.exists(netns)
    lo = links(netns)["lo"]
    assert "UP" in lo and "LOWER_UP" in lo
    st = status(cribd, pid, verbose=True).status
    # loopback's result: no eth0, so its addresses, IPv4 first.
    assert st.network.ip == "127.0.0.1"
    assert [i.ip for i in st.network.additional_ips] == ["::1"]
    info = json.loads(status(cribd, pid, verbose=True).info["info"])
    assert info["netns"] == netns
    assert info["cniCheck"] == "passed"
    assert os.path.exists(cache_file(cribd, pid))

    stop(cribd, pid)
    assert not os.path.exists(netns)
    assert not os.path.exists(cache_file(cribd, pid))
    st = status(cribd, pid).status
    assert st.state == pb.SANDBOX_NOTREADY
    assert not st.network.ip and not st.network.additional_ips
    stop(cribd, pid)  # nothing left to do: still fine
    remove(cribd, pid)
    assert netns_entries(cribd) == []


def test_remove_without_stop_tears_the_network_down(cribd):
    pid, _ = run_pod(cribd)
    assert os.path.exists(cribd.netns_path(pid))
    remove(cribd, pid)
    assert netns_entries(cribd) == []
    assert not os.path.exists(cache_file(cribd, pid))


def test_plugin_error_reaches_the_client_and_nothing_is_left(make_cribd):
    d = make_cribd(cni=None)
    bindir = write_plugin(d, "fail", textwrap.dedent("""\
        #!/bin/sh
        cat >/dev/null
        [ "$CNI_COMMAND" = DEL ] && exit 0
        echo '{"cniVersion": "1.0.0", "code": 7, "msg": "boom", "details": "no bridge"}'
        exit 1
        """))
    d.write_cni(json.dumps({"cniVersion": "1.0.0", "name": "failnet",
                            "plugins": [{"type": "loopback"}, {"type": "fail"}]}))
    d.write_main("proc", f"cni_bin_dirs = {bindir}:{PLUGIN_DIRS}\n")
    d.start()
    e = rpc_error(lambda: run_pod(d))
    assert e.code() == grpc.StatusCode.INTERNAL
    assert "CNI plugin 'fail' failed to ADD network 'failnet': boom: no bridge" in e.details()
    assert netns_entries(d) == []
    assert not os.listdir(os.path.join(d.state, "cni"))
    assert not d.rs().ListPodSandbox(pb.ListPodSandboxRequest()).items
    # The name is free again.
    d.write_cni(json.dumps({"cniVersion": "1.0.0", "name": "failnet",
                            "plugins": [{"type": "loopback"}]}))
    pid, _ = run_pod(d)
    assert os.path.exists(d.netns_path(pid))


def test_missing_plugin_is_a_failed_precondition(make_cribd):
    d = make_cribd(cni=None)
    d.write_cni('{"cniVersion": "0.4.0", "name": "n", "type": "no-such-plugin"}',
                name="10-n.conf")
    d.start()
    e = rpc_error(lambda: run_pod(d))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert f"CNI plugin 'no-such-plugin' not found in '{PLUGIN_DIRS}'" in e.details()
    assert netns_entries(d) == []


def test_args_chaining_capabilities_and_del_after_kill9(make_cribd):
    d, log, bindir = recorder_cribd(make_cribd)
    d.start()
    cfg = pod_config(name="web", namespace="shop", uid="u-1")
    cfg.port_mappings.append(pb.PortMapping(protocol=pb.UDP, container_port=53, host_port=5353))
    cfg.port_mappings.append(pb.PortMapping(container_port=80, host_port=0))  # no mapping
    cfg.port_mappings.append(pb.PortMapping(container_port=443, host_port=8443,
                                            host_ip="127.0.0.1"))
    pid = d.rs().RunPodSandbox(pb.RunPodSandboxRequest(config=cfg)).pod_sandbox_id
    netns = d.netns_path(pid)

    first, second = calls(log)
    want_env = {
        "CNI_COMMAND": "ADD", "CNI_CONTAINERID": pid, "CNI_NETNS": netns,
        "CNI_IFNAME": "eth0", "CNI_PATH": f"{bindir}:{PLUGIN_DIRS}",
        "CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web;"
                    f"K8S_POD_INFRA_CONTAINER_ID={pid};K8S_POD_UID=u-1",
    }
    assert first["env"] == want_env and second["env"] == want_env
    assert first["conf"]["name"] == "recnet" and first["conf"]["cniVersion"] == "1.0.0"
    assert "prevResult" not in first["conf"] and "runtimeConfig" not in first["conf"]
    assert second["conf"]["prevResult"]["ips"] == [{"address": "10.99.0.7/24",
                                                    "interface": 0}]
    # Only the capabilities cribd has args for, and only to a plugin that declares them.
    assert second["conf"]["runtimeConfig"] == {"portMappings": [
        {"hostPort": 5353, "containerPort": 53, "protocol": "udp"},
        {"hostPort": 8443, "containerPort": 443, "protocol": "tcp", "hostIP": "127.0.0.1"}]}
    st = status(d, pid).status
    assert st.network.ip == "10.99.0.7"
    assert [i.ip for i in st.network.additional_ips] == ["fd00::7"]
    final = json.load(open(cache_file(d, pid)))["result"]

    d.kill9()
    d.start()
    st = status(d, pid).status
    assert st.network.ip == "10.99.0.7"  # from the record
    stop(d, pid)
    dels = calls(log)[2:]
    assert [c["env"]["CNI_COMMAND"] for c in dels] == ["DEL", "DEL"]
    # In reverse order, each with the ADD's final result.
    assert [c["conf"]["addr"] for c in dels] == ["fd00::7/64", "10.99.0.7/24"]
    assert all(c["conf"]["prevResult"] == final for c in dels)
    assert dels[0]["conf"]["runtimeConfig"]["portMappings"][0]["hostPort"] == 5353
    assert dels[0]["env"]["CNI_ARGS"] == want_env["CNI_ARGS"]
    assert not os.path.exists(netns)
    stop(d, pid)
    remove(d, pid)
    assert len(calls(log)) == 4


def test_check_runs_with_the_recorded_result(make_cribd):
    d, log, _ = recorder_cribd(make_cribd)
    d.start()
    pid, _ = run_pod(d)
    info = json.loads(status(d, pid, verbose=True).info["info"])
    assert info["cniCheck"] == "passed"
    checks = [c for c in calls(log) if c["env"]["CNI_COMMAND"] == "CHECK"]
    assert [c["conf"]["addr"] for c in checks] == ["10.99.0.7/24", "fd00::7/64"]
    assert all(c["conf"]["prevResult"]["ips"][1]["address"] == "fd00::7/64" for c in checks)


def test_half_made_pod_gets_del_and_namespace_removed_at_start(make_cribd):
    d, log, _ = recorder_cribd(make_cribd)
    d.start()
    # The sandbox takes long to make: cribd dies once the network is there.
    cfg = pod_config(name="slow", annotations={"crib.test/sleep-ms": "30000"})
    fut = d.rs().RunPodSandbox.future(pb.RunPodSandboxRequest(config=cfg))
    wait_for(lambda: len(calls(log)) == 2, what="the network's ADD")
    pid = calls(log)[0]["env"]["CNI_CONTAINERID"]
    assert os.path.exists(d.netns_path(pid))
    d.kill9()
    with pytest.raises(grpc.RpcError):
        fut.result()
    d.start()
    wait_for(lambda: len(calls(log)) == 4, what="the cleanup's DEL")
    assert [c["env"]["CNI_COMMAND"] for c in calls(log)[2:]] == ["DEL", "DEL"]
    wait_for(lambda: not os.path.exists(d.netns_path(pid)), what="the namespace's removal")
    assert not os.path.exists(cache_file(d, pid))
    assert not d.rs().ListPodSandbox(pb.ListPodSandboxRequest()).items


def test_host_network_pod_needs_no_cni(make_cribd):
    d = make_cribd(cni=None).start()
    cfg = pod_config(name="hostnet")
    cfg.linux.security_context.namespace_options.network = pb.NODE
    pid = d.rs().RunPodSandbox(pb.RunPodSandboxRequest(config=cfg)).pod_sandbox_id
    assert netns_entries(d) == []
    assert status(d, pid).status.state == pb.SANDBOX_READY
    stop(d, pid)
    remove(d, pid)


def test_no_configuration_is_a_failed_precondition(make_cribd):
    d = make_cribd(cni=None).start()
    e = rpc_error(lambda: run_pod(d))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert e.details() == f"No CNI network configuration in '{d.cni_dir}'"
    assert not d.rs().ListPodSandbox(pb.ListPodSandboxRequest()).items
    assert netns_entries(d) == []


class OwnNamespace:
    """A network namespace of the test's own, mounted at a file it removes afterwards."""

    def __init__(self, base):
        self.path = os.path.join(base, "testns")
        open(self.path, "w").close()
        subprocess.run(["unshare", "--net=" + self.path, "true"], check=True)
        self.run(["ip", "link", "set", "lo", "up"])

    def run(self, argv, **kw):
        return subprocess.run(["nsenter", "--net=" + self.path] + argv, check=True, **kw)

    def close(self):
        subprocess.run(["umount", self.path], check=False)
        os.unlink(self.path)


@pytest.mark.skipif(not (plugin_path("bridge") and plugin_path("host-local")),
                    reason="needs the bridge and host-local CNI plugins")
def test_bridge_network_in_a_test_namespace(make_cribd):
    d = make_cribd(cni=None)
    ns = OwnNamespace(d.base)
    try:
        d.write_cni(json.dumps({
            "cniVersion": "1.0.0", "name": "crib-test-bridge",
            "plugins": [
                {"type": "bridge", "bridge": "cribtest0", "isGateway": True, "ipMasq": False,
                 "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.7.0/24"}]],
                          "dataDir": os.path.join(d.base, "ipam")}},
                {"type": "loopback"},
            ]}))
        # The whole cribd runs in the test's namespace: the bridge appears only there.
        d.wrap = ["nsenter", "--net=" + ns.path]
        d.start()
        pid, _ = run_pod(d)
        ip = status(d, pid).status.network.ip
        assert ip.startswith("10.244.7.") and ip != "10.244.7.1"
        pod_links = links(d.netns_path(pid))
        assert "UP" in pod_links["eth0"] and "UP" in pod_links["lo"]
        assert "cribtest0" in links(ns.path)
        assert "cribtest0" not in links("/proc/self/ns/net")

        # A TCP listener in the pod's namespace, reached from the test's namespace.
        server = subprocess.Popen(
            ["nsenter", "--net=" + d.netns_path(pid), "/usr/bin/python3", "-c",
             "import socket; s = socket.socket(); s.bind(('0.0.0.0', 8080)); s.listen(); "
             "print('up', flush=True); c, _ = s.accept(); c.sendall(b'pod'); c.close()"],
            stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout.readline() == "up\n"
            out = ns.run(["/usr/bin/python3", "-c",
                          f"import socket; s = socket.create_connection(('{ip}', 8080), 5); "
                          "print(s.recv(16).decode())"], capture_output=True, text=True).stdout
            assert out == "pod\n"
        finally:
            server.kill()
            server.wait()

        stop(d, pid)
        assert not os.path.exists(d.netns_path(pid))
        # host-local gave the address back.
        assert not [f for f in os.listdir(os.path.join(d.base, "ipam", "crib-test-bridge"))
                    if f.startswith("10.")]
        remove(d, pid)
    finally:
        d.stop()
        ns.close()
