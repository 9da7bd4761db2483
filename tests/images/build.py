#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Builds crib's test images from Debian's busybox-static and pushes them to a registry.

    build.py REGISTRY_URL          e.g. http://127.0.0.1:5100

Layers are assembled here as tar archives (deterministic: fixed mtimes, sorted entries)
and pushed with the distribution API (blob uploads, manifest PUTs) over loopback only.
Images (each also tagged under library/ for Docker Hub-style names through a mirror):
  crib-test/busybox:latest    one gzip layer: busybox, its applets, /etc/passwd, group
  crib-test/multi:latest      an OCI index: linux/amd64 (busybox) and linux/arm64 (a stub)
  crib-test/layers:latest     busybox plus a layer with a whiteout and an opaque directory
  crib-test/zstd:latest       busybox as an OCI tar+zstd layer
  crib-test/user:latest       busybox whose config says User 1234:1234
  crib-test/named:latest      busybox whose config says User nobody
  crib-test/big:latest        busybox plus ~5 MB of incompressible data (pull timing)
  crib-test/escape:latest     a layer with a '../' entry (must be refused)
  crib-test/system:latest     busybox plus /sbin/init and an inittab with two services:
                              httpd on 127.0.0.1:8080 and a shell writing /tmp/ticker
  library/busybox:latest      = crib-test/busybox
Prints "name digest" for every image pushed.
"""
import gzip
import hashlib
import io
import json
import random
import subprocess
import sys
import tarfile
import urllib.request

import zstandard

BUSYBOX = "/bin/busybox"
MTIME = 1700000000
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def add(tar, name, data=None, mode=0o644, kind=tarfile.REGTYPE, link="", uid=0, gid=0):
    info = tarfile.TarInfo(name)
    info.mtime = MTIME
    info.mode = mode
    info.type = kind
    info.linkname = link
    info.uid, info.gid = uid, gid
    if data is not None:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    else:
        tar.addfile(info)


def tar_bytes(fill):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        fill(tar)
    return buf.getvalue()


def busybox_layer(tar):
    for d, mode in (("bin", 0o755), ("etc", 0o755), ("root", 0o700), ("tmp", 0o1777),
                    ("home", 0o755), ("var", 0o755), ("proc", 0o755), ("sys", 0o755),
                    ("dev", 0o755)):
        add(tar, d, mode=mode, kind=tarfile.DIRTYPE)
    add(tar, "bin/busybox", open(BUSYBOX, "rb").read(), mode=0o755)
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for a in sorted(set(applets) - {"busybox"}):
        add(tar, "bin/" + a, kind=tarfile.SYMTYPE, link="busybox", mode=0o777)
    add(tar, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"
        b"nobody:x:65534:65534:nobody:/home:/bin/false\n"
        b"user:x:1234:1234:user:/home:/bin/sh\n")
    add(tar, "etc/group", b"root:x:0:\nnobody:x:65534:\nuser:x:1234:\nextra:x:5678:user\n")


def gz(data):
    return gzip.compress(data, mtime=0)


class Registry:
    def __init__(self, url):
        self.url = url.rstrip("/")

    def _req(self, method, path, data=None, headers=None):
        req = urllib.request.Request(self.url + path if path.startswith("/") else path,
                                     data=data, method=method, headers=headers or {})
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()

    def blob(self, repo, data):
        d = digest(data)
        try:
            self._req("HEAD", f"/v2/{repo}/blobs/{d}")
            return d
        except urllib.error.HTTPError:
            pass
        _, hdrs, _ = self._req("POST", f"/v2/{repo}/blobs/uploads/")
        loc = hdrs["Location"]
        if loc.startswith("/"):
            loc = self.url + loc
        sep = "&" if "?" in loc else "?"
        self._req("PUT", f"{loc}{sep}digest={d}", data,
                  {"Content-Type": "application/octet-stream"})
        return d

    def manifest(self, repo, ref, doc, media_type):
        data = json.dumps(doc, sort_keys=True).encode()
        self._req("PUT", f"/v2/{repo}/manifests/{ref}", data, {"Content-Type": media_type})
        return digest(data)


def config_doc(diff_ids, arch="amd64", user="", cmd=None):
    return {
        "architecture": arch, "os": "linux",
        "config": {"Env": ["PATH=/bin:/usr/bin:/sbin:/usr/sbin"], "Cmd": cmd or ["sh"],
                   "User": user, "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }


def push_image(reg, repo, tag, layers, user="", oci=False, arch="amd64", push_tag=True):
    """layers: [(uncompressed tar, compressed blob, media type)]; returns (manifest digest,
    manifest size)."""
    descs = []
    for raw, blob, mt in layers:
        d = reg.blob(repo, blob)
        descs.append({"mediaType": mt, "digest": d, "size": len(blob)})
    cfg = json.dumps(config_doc([digest(raw) for raw, _, _ in layers], arch, user),
                     sort_keys=True).encode()
    cd = reg.blob(repo, cfg)
    doc = {"schemaVersion": 2,
           "mediaType": OCI_MANIFEST if oci else DOCKER_MANIFEST,
           "config": {"mediaType": OCI_CONFIG if oci else DOCKER_CONFIG, "digest": cd,
                      "size": len(cfg)},
           "layers": descs}
    data = json.dumps(doc, sort_keys=True).encode()
    md = reg.manifest(repo, tag if push_tag else digest(data), doc,
                      OCI_MANIFEST if oci else DOCKER_MANIFEST)
    return md, len(data)


def main():
    reg = Registry(sys.argv[1])
    base = tar_bytes(busybox_layer)
    base_gz = gz(base)
    out = []

    def image(repo, layers, **kw):
        md, _ = push_image(reg, repo, "latest", layers, **kw)
        out.append((repo, md))

    busybox = [(base, base_gz, DOCKER_LAYER)]
    image("crib-test/busybox", busybox)
    image("library/busybox", busybox)
    image("crib-test/user", busybox, user="1234:1234")
    image("crib-test/named", busybox, user="nobody")
    image("crib-test/zstd", [(base, zstandard.ZstdCompressor().compress(base), OCI_ZSTD)],
          oci=True)

    def changes(tar):
        add(tar, "etc/.wh.group")                      # deletes /etc/group
        add(tar, "home", mode=0o755, kind=tarfile.DIRTYPE)
        add(tar, "home/.wh..wh..opq")                  # hides the lower /home
        add(tar, "home/new", b"upper\n")
        add(tar, "etc/layer2", b"second layer\n")
    top = tar_bytes(changes)
    image("crib-test/layers", busybox + [(top, gz(top), OCI_GZIP)], oci=True)

    rnd = random.Random(42)
    noise = bytes(rnd.getrandbits(8) for _ in range(5 * 1024 * 1024))
    big = tar_bytes(lambda t: add(t, "big.bin", noise))
    image("crib-test/big", busybox + [(big, gz(big), OCI_GZIP)], oci=True)

    def escape(tar):
        add(tar, "../escaped", b"out\n")
    bad = tar_bytes(escape)
    image("crib-test/escape", busybox + [(bad, gz(bad), OCI_GZIP)], oci=True)

    def system(tar):
        add(tar, "sbin", mode=0o755, kind=tarfile.DIRTYPE)
        add(tar, "sbin/init", kind=tarfile.SYMTYPE, link="/bin/busybox", mode=0o777)
        add(tar, "etc/inittab", b"::sysinit:/bin/echo crib-test system up\n"
            b"::respawn:/bin/httpd -f -p 127.0.0.1:8080 -h /srv/www\n"
            b"::respawn:/bin/sh -c 'while :; do date +%s > /tmp/ticker; sleep 1; done'\n"
            b"::shutdown:/bin/echo crib-test system down\n")
        add(tar, "srv", mode=0o755, kind=tarfile.DIRTYPE)
        add(tar, "srv/www", mode=0o755, kind=tarfile.DIRTYPE)
        add(tar, "srv/www/index.html", b"served by the system container\n")
    sys_layer = tar_bytes(system)
    image("crib-test/system", busybox + [(sys_layer, gz(sys_layer), OCI_GZIP)], oci=True)

    # A multi-arch index: amd64 is the real image, arm64 a stub never run here.
    stub = tar_bytes(lambda t: add(t, "arm64", b"not for this host\n"))
    amd, amd_size = push_image(reg, "crib-test/multi", None, busybox, oci=True,
                               push_tag=False)
    arm, arm_size = push_image(reg, "crib-test/multi", None, [(stub, gz(stub), OCI_GZIP)],
                               oci=True, arch="arm64", push_tag=False)
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": arm, "size": arm_size,
         "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"mediaType": OCI_MANIFEST, "digest": amd, "size": amd_size,
         "platform": {"os": "linux", "architecture": "amd64"}},
    ]}
    out.append(("crib-test/multi", reg.manifest("crib-test/multi", "latest", index, OCI_INDEX)))
    for name, d in out:
        print(name, d)


if __name__ == "__main__":
    main()
