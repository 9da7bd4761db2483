# SPDX-License-Identifier: Apache-2.0
"""crictl v1.26.1, the reference CRI client, against cribd.

The test suite's script builds crictl from ../shared/conformance; set CRICTL to use
another binary.
"""
import json
import os
import shutil
import subprocess
import time

CRICTL = os.environ.get("CRICTL") or shutil.which("crictl") or "/usr/local/bin/crictl"


def crictl(d, *args, check=True):
    env = dict(os.environ, CONTAINER_RUNTIME_ENDPOINT="unix://" + d.socket,
               IMAGE_SERVICE_ENDPOINT="unix://" + d.socket)
    r = subprocess.run([CRICTL, "--timeout", "10s", *args], capture_output=True, text=True,
                       env=env, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError(f"crictl {' '.join(args)} failed: {r.stdout}{r.stderr}")
    return r


def test_crictl_is_v1_26_1():
    out = subprocess.run([CRICTL, "--version"], capture_output=True, text=True, check=True)
    assert "v1.26.1" in out.stdout


def test_crictl_version_info_pods(cribd):
    out = crictl(cribd, "version").stdout
    assert "RuntimeName:  crib" in out and "RuntimeApiVersion:  v1" in out
    info = json.loads(crictl(cribd, "info").stdout)
    conds = {c["type"]: c["status"] for c in info["status"]["conditions"]}
    assert conds["RuntimeReady"] is True
    assert info["backends"][0]["name"] == "testproc"
    assert crictl(cribd, "pods", "-q").stdout.strip() == ""


def test_crictl_pod_and_container_workflow(cribd, tmp_path):
    pod = tmp_path / "pod.json"
    ctr = tmp_path / "ctr.json"
    pod.write_text(json.dumps({
        "metadata": {"name": "web", "namespace": "default", "uid": "web-uid"},
        "log_directory": cribd.logs, "labels": {"app": "web"}, "linux": {}}))
    ctr.write_text(json.dumps({
        "metadata": {"name": "app"}, "image": {"image": "busybox"},
        "command": ["sh", "-c", "echo from-crictl; sleep 600"], "log_path": "app.log",
        "linux": {}}))
    pid = crictl(cribd, "runp", str(pod)).stdout.strip()
    assert len(pid) == 64
    assert crictl(cribd, "pods", "-q").stdout.split() == [pid]
    assert crictl(cribd, "pods", "--label", "app=web", "-q").stdout.split() == [pid]
    assert crictl(cribd, "pods", "--label", "app=db", "-q").stdout.split() == []
    insp = json.loads(crictl(cribd, "inspectp", pid[:12]).stdout)
    assert insp["status"]["state"] == "SANDBOX_READY"

    crictl(cribd, "pull", "busybox")
    cid = crictl(cribd, "create", pid, str(ctr), str(pod)).stdout.strip()
    crictl(cribd, "start", cid)
    assert crictl(cribd, "ps", "-q").stdout.split() == [cid]
    assert crictl(cribd, "ps", "-q", "--image", "busybox").stdout.split() == [cid]
    # crictl prints stdout and stderr, each followed by a newline.
    assert crictl(cribd, "exec", "-s", cid, "echo", "hi").stdout.strip() == "hi"
    deadline = time.time() + 10
    while "from-crictl" not in crictl(cribd, "logs", cid).stdout and time.time() < deadline:
        time.sleep(0.1)
    assert crictl(cribd, "logs", cid).stdout == "from-crictl\n"
    stats = json.loads(crictl(cribd, "stats", "-o", "json").stdout)
    assert stats["stats"][0]["attributes"]["id"] == cid
    assert int(stats["stats"][0]["memory"]["workingSetBytes"]["value"]) > 0
    state = json.loads(crictl(cribd, "inspect", cid).stdout)["status"]["state"]
    assert state == "CONTAINER_RUNNING"

    crictl(cribd, "stop", cid)
    insp = json.loads(crictl(cribd, "inspect", cid).stdout)["status"]
    # crictl stop defaults to --timeout 0: killed at once.
    assert insp["state"] == "CONTAINER_EXITED" and insp["exitCode"] == 137
    crictl(cribd, "rm", cid)
    crictl(cribd, "stopp", pid)
    crictl(cribd, "rmp", pid)
    assert crictl(cribd, "pods", "-q").stdout.strip() == ""


def test_crictl_reports_unknown_handler(cribd, tmp_path):
    pod = tmp_path / "pod.json"
    pod.write_text(json.dumps({"metadata": {"name": "x", "namespace": "d", "uid": "x"}}))
    r = crictl(cribd, "runp", "--runtime", "nope", str(pod), check=False)
    assert r.returncode != 0
    assert "Runtime handler 'nope' is not configured" in r.stderr


def test_crictl_images_workflow(cribd, registry):
    out = crictl(cribd, "pull", "crib-test/busybox:latest").stdout
    digest = registry.digests["crib-test/busybox"]
    iid = out.strip().rsplit(" ", 1)[-1]
    assert out.startswith("Image is up to date for sha256:") and iid.startswith("sha256:")
    lines = crictl(cribd, "images").stdout.splitlines()
    assert lines[0].split() == ["IMAGE", "TAG", "IMAGE", "ID", "SIZE"]
    row = [l.split() for l in lines[1:] if l.startswith("docker.io/crib-test/busybox ")]
    assert row and row[0][1] == "latest" and iid[7:].startswith(row[0][2])
    assert crictl(cribd, "images", "-q").stdout.split() == [iid]
    listed = json.loads(crictl(cribd, "images", "-o", "json").stdout)["images"]
    assert listed[0]["repoDigests"] == [f"docker.io/crib-test/busybox@{digest}"]
    st = json.loads(crictl(cribd, "inspecti", "crib-test/busybox").stdout)
    assert st["status"]["id"] == iid
    assert st["info"]["imageConfig"]["architecture"] == "amd64"

    fs = json.loads(crictl(cribd, "imagefsinfo", "-o", "json").stdout)["status"]
    assert int(fs["usedBytes"]["value"]) > 1 << 20  # busybox-static is ~1 MB
    assert int(fs["inodesUsed"]["value"]) > 0
    assert fs["fsId"]["mountpoint"].startswith(cribd.state)

    crictl(cribd, "rmi", "crib-test/busybox")
    assert crictl(cribd, "images", "-q").stdout.strip() == ""
    r = crictl(cribd, "rmi", "crib-test/busybox", check=False)
    assert r.returncode != 0 and "no such image" in r.stderr.lower()
