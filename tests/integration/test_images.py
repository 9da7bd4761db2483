# SPDX-License-Identifier: Apache-2.0
"""The ImageService against a local registry: pulls, lookups, auth, corruption, removal."""
import base64
import glob
import json
import os
import threading
import time

import grpc
import pytest

from authproxy import AuthProxy
from conftest import (container_status, create_container, free_port, pb, rpc_error, run_pod,
                      wait_for)


def status(d, name, verbose=False):
    return d.images().ImageStatus(pb.ImageStatusRequest(image=pb.ImageSpec(image=name),
                                                       verbose=verbose))


def listed(d):
    return {i.id: i for i in d.images().ListImages(pb.ListImagesRequest()).images}


def blob_files(d):
    return {os.path.basename(p) for p in glob.glob(d.state + "/images/blobs/sha256/*")}


def test_pull_through_mirror_normalizes_names(cribd, registry):
    iid = cribd.pull("busybox")
    assert iid.startswith("sha256:") and len(iid) == 71
    img = listed(cribd)[iid]
    assert list(img.repo_tags) == ["docker.io/library/busybox:latest"]
    digest = registry.digests["library/busybox"]
    assert list(img.repo_digests) == [f"docker.io/library/busybox@{digest}"]
    assert img.size > 1_000_000
    assert img.uid.value == 0 and img.username == ""
    # Every name a client may use finds it.
    for name in ("busybox", "busybox:latest", "docker.io/library/busybox",
                 "index.docker.io/library/busybox:latest", iid, iid[7:], iid[7:19],
                 f"busybox@{digest}"):
        assert status(cribd, name).image.id == iid, name
    assert not status(cribd, "busybox:other").HasField("image")
    info = json.loads(status(cribd, "busybox", verbose=True).info["info"])
    assert info["imageConfig"]["config"]["Cmd"] == ["sh"]


def test_pull_from_a_loopback_registry_is_plain_http(make_cribd, registry):
    d = make_cribd(registries={}).start()
    iid = d.pull(f"{registry.host}/crib-test/busybox")
    assert status(d, f"{registry.host}/crib-test/busybox:latest").image.id == iid


def test_pull_by_digest_has_no_tag(cribd, registry):
    digest = registry.digests["crib-test/busybox"]
    ref = f"{registry.host}/crib-test/busybox@{digest}"
    iid = cribd.pull(ref)
    img = status(cribd, ref).image
    assert img.id == iid
    assert list(img.repo_tags) == []
    assert list(img.repo_digests) == [ref]


def test_multi_arch_index_resolves_to_this_host(cribd, registry):
    iid = cribd.pull("crib-test/multi")
    img = status(cribd, "crib-test/multi").image
    assert img.id == iid
    index = registry.digests["crib-test/multi"]
    assert list(img.repo_digests) == [f"docker.io/crib-test/multi@{index}"]
    # The amd64 entry is the busybox image (same config); the arm64 stub never came.
    assert iid == cribd.pull("crib-test/busybox")


def test_images_run(cribd):
    """Containers run the image's own busybox from a snapshot of its layers."""
    pid, pcfg = run_pod(cribd, log_directory=cribd.logs)
    for image in ("crib-test/zstd", "crib-test/layers"):
        cribd.pull(image)
    cid = create_container(cribd, pid, pcfg, name="z", image="crib-test/zstd",
                           command=["sh", "-c", "sleep 600"])
    out = cribd.rs().ExecSync(pb.ExecSyncRequest(container_id=cid, cmd=["cat", "/etc/group"],
                                                timeout=5))
    assert b"extra:x:5678:user" in out.stdout
    cid = create_container(cribd, pid, pcfg, name="l", image="crib-test/layers",
                           command=["sleep", "600"])

    def run(*cmd):
        return cribd.rs().ExecSync(pb.ExecSyncRequest(container_id=cid, cmd=list(cmd),
                                                     timeout=5))
    # The upper layer's whiteout deleted /etc/group, its opaque /home hid the lower one.
    assert run("test", "-e", "/etc/group").exit_code == 1
    assert run("cat", "/etc/layer2").stdout == b"second layer\n"
    assert run("ls", "/home").stdout == b"new\n"
    # Writes land in the container's own layer, not in the image.
    assert run("sh", "-c", "echo mine > /etc/layer2").exit_code == 0
    other = create_container(cribd, pid, pcfg, name="l2", image="crib-test/layers",
                             command=["sleep", "600"])
    out = cribd.rs().ExecSync(pb.ExecSyncRequest(container_id=other, cmd=["cat", "/etc/layer2"],
                                                timeout=5))
    assert out.stdout == b"second layer\n"


def test_image_users_are_reported(cribd):
    cribd.pull("crib-test/user")
    cribd.pull("crib-test/named")
    assert status(cribd, "crib-test/user").image.uid.value == 1234
    named = status(cribd, "crib-test/named").image
    assert named.username == "nobody" and not named.HasField("uid")


def test_layer_escaping_the_rootfs_is_refused(cribd):
    e = rpc_error(lambda: cribd.pull("crib-test/escape"))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "../escaped" in e.details()
    assert not status(cribd, "crib-test/escape").HasField("image")
    assert not os.path.exists(os.path.join(cribd.state, "images", "layers", "escaped"))


def test_unknown_image_is_not_found(cribd):
    e = rpc_error(lambda: cribd.pull("crib-test/nope:1.0"))
    assert e.code() == grpc.StatusCode.NOT_FOUND
    assert "manifest unknown" in e.details()
    e = rpc_error(lambda: cribd.pull("Not/Valid"))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_registry_that_is_down_fails_fast(make_cribd):
    dead = f"http://127.0.0.1:{free_port()}"
    d = make_cribd(registries={"*": f"mirror = {dead}\nmirror_only = true"}).start()
    t = time.time()
    e = rpc_error(lambda: d.pull("busybox"))
    assert time.time() - t < 5
    assert e.code() == grpc.StatusCode.UNAVAILABLE
    assert dead in e.details() and "Failed to reach" in e.details()


def test_mirror_that_is_down_falls_back_to_the_registry(make_cribd, registry):
    dead = f"http://127.0.0.1:{free_port()}"
    d = make_cribd(registries={registry.host: f"mirror = {dead}"}).start()
    d.pull(f"{registry.host}/crib-test/busybox")


@pytest.fixture
def proxy(registry):
    made = []

    def make(**kw):
        p = AuthProxy(registry.url, **kw)
        made.append(p)
        return p
    yield make
    for p in made:
        p.close()


def test_bearer_token_flow(make_cribd, proxy):
    p = proxy(mode="token")
    d = make_cribd(registries={}).start()
    ref = f"{p.host}/crib-test/busybox"
    e = rpc_error(lambda: d.pull(ref))
    assert e.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "invalid username or password for crib-test" in e.details()
    e = rpc_error(lambda: d.pull(ref, pb.AuthConfig(username="crib", password="wrong")))
    assert e.code() == grpc.StatusCode.UNAUTHENTICATED
    assert d.pull(ref, pb.AuthConfig(username="crib", password="s3cret")).startswith("sha256:")
    assert p.token_requests >= 3
    # The base64 "auth" form of the same credentials.
    d.images().RemoveImage(pb.RemoveImageRequest(image=pb.ImageSpec(image=ref)))
    auth = base64.b64encode(b"crib:s3cret").decode()
    assert d.pull(ref, pb.AuthConfig(auth=auth)).startswith("sha256:")


def test_basic_auth(make_cribd, proxy):
    p = proxy(mode="basic")
    d = make_cribd(registries={}).start()
    ref = f"{p.host}/crib-test/busybox"
    e = rpc_error(lambda: d.pull(ref))
    assert e.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "requires credentials" in e.details()
    assert d.pull(ref, pb.AuthConfig(username="crib", password="s3cret")).startswith("sha256:")


def test_corrupt_blob_is_detected_and_not_stored(make_cribd, proxy, registry):
    p = proxy(mode="open", corrupt_repo="crib-test/big")
    d = make_cribd(registries={}).start()
    e = rpc_error(lambda: d.pull(f"{p.host}/crib-test/big"))
    assert e.code() == grpc.StatusCode.DATA_LOSS
    assert "does not match its digest" in e.details()
    # Nothing partial is visible, and the pull can be retried from a good source.
    assert not glob.glob(d.state + "/images/ingest/*")
    d.pull(f"{registry.host}/crib-test/big")


def test_concurrent_pulls_fetch_each_blob_once(make_cribd, proxy):
    p = proxy(mode="open")
    fetched = []
    orig = p._forward

    def counting(h, method, url, repo):
        if "/blobs/" in url.path:
            fetched.append(url.path.rsplit("/", 1)[1])
        return orig(h, method, url, repo)
    p._forward = counting
    d = make_cribd(registries={}).start()
    ids = []
    threads = [threading.Thread(target=lambda: ids.append(d.pull(f"{p.host}/crib-test/big")))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 3 and len(set(ids)) == 1
    assert len(fetched) == len(set(fetched)), fetched


def test_remove_image_refuses_while_used_then_collects(cribd):
    iid = cribd.pull("crib-test/big")
    before = blob_files(cribd)
    pid, pcfg = run_pod(cribd)
    cid = create_container(cribd, pid, pcfg, image="crib-test/big")
    e = rpc_error(lambda: cribd.images().RemoveImage(pb.RemoveImageRequest(
        image=pb.ImageSpec(image="crib-test/big"))))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "used by 1 container" in e.details()
    cribd.rs().RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pid))
    cribd.images().RemoveImage(pb.RemoveImageRequest(image=pb.ImageSpec(image=iid)))
    cribd.images().RemoveImage(pb.RemoveImageRequest(image=pb.ImageSpec(image=iid)))
    assert iid not in listed(cribd)
    # The blobs go once nothing references them.
    wait_for(lambda: len(blob_files(cribd)) < len(before), what="garbage collection")
    assert not glob.glob(cribd.state + "/images/snapshots/" + cid)


def test_pull_right_after_remove_keeps_what_it_needs(cribd):
    """A pull that overlaps a garbage collection must not lose blobs or layers to it."""
    for _ in range(5):
        iid = cribd.pull("crib-test/layers")
        cribd.images().RemoveImage(pb.RemoveImageRequest(image=pb.ImageSpec(image=iid)))
        assert cribd.pull("crib-test/layers") == iid
    time.sleep(0.5)  # let a last collection finish
    pid, pcfg = run_pod(cribd)
    cid = create_container(cribd, pid, pcfg, image="crib-test/layers",
                           command=["/bin/sh", "-c", "ls /etc/passwd && sleep 60"])
    st = container_status(cribd, cid).status
    assert st.state == pb.CONTAINER_RUNNING, st


def test_create_container_needs_the_image(cribd):
    pid, pcfg = run_pod(cribd)
    e = rpc_error(lambda: cribd.rs().CreateContainer(pb.CreateContainerRequest(
        pod_sandbox_id=pid, config=pb.ContainerConfig(
            metadata=pb.ContainerMetadata(name="c"), image=pb.ImageSpec(image="crib-test/user"),
            command=["true"]))))
    assert e.code() == grpc.StatusCode.NOT_FOUND
    assert "Image 'crib-test/user' is not present; pull it first" == e.details()


def test_container_reports_its_image(cribd, registry):
    iid = cribd.pull("busybox")
    pid, pcfg = run_pod(cribd)
    cid = create_container(cribd, pid, pcfg)
    st = container_status(cribd, cid).status
    assert st.image_id == iid
    assert st.image_ref == f"docker.io/library/busybox@{registry.digests['library/busybox']}"
    assert cribd.rs().ListContainers(pb.ListContainersRequest()).containers[0].image_id == iid


def test_images_survive_restart(cribd):
    iid = cribd.pull("busybox")
    cribd.restart()
    assert status(cribd, "busybox").image.id == iid
    pid, pcfg = run_pod(cribd)
    cribd.pulled.add("busybox")
    create_container(cribd, pid, pcfg)


def test_image_fs_info(cribd):
    def usage():
        r = cribd.images().ImageFsInfo(pb.ImageFsInfoRequest())
        return r.image_filesystems[0].used_bytes.value, r.image_filesystems[0].inodes_used.value
    empty = usage()
    cribd.pull("crib-test/big")
    full = usage()
    assert full[0] > empty[0] + 5_000_000
    assert full[1] > empty[1]


def test_stream_images(cribd):
    cribd.pull("busybox")
    cribd.pull("crib-test/user")
    got = [i.id for r in cribd.images().StreamImages(pb.StreamImagesRequest()) for i in r.images]
    assert sorted(got) == sorted(listed(cribd))
    f = pb.ImageFilter(image=pb.ImageSpec(image="crib-test/user"))
    only = cribd.images().ListImages(pb.ListImagesRequest(filter=f)).images
    assert [i.repo_tags[0] for i in only] == ["docker.io/crib-test/user:latest"]


def spec(image, handler=""):
    return pb.ImageSpec(image=image, runtime_handler=handler)


def test_backend_that_keeps_its_own_images(make_cribd, registry):
    """testown keeps images the way docker does: cribd routes the ImageService to it."""
    d = make_cribd(classes={"proc": "backend = testproc", "own": "backend = testown"}).start()
    im = d.images()
    # A pull for the 'own' class goes to the backend, whose id is its own.
    own_id = im.PullImage(pb.PullImageRequest(image=spec("app:v1", "own"))).image_ref
    assert own_id.startswith("sha256:") and len(own_id) == 71
    assert not glob.glob(d.state + "/images/blobs/sha256/*")  # nothing in cribd's store
    # One for the default class goes to cribd's store, from the registry.
    mine = d.pull("crib-test/busybox")
    assert mine != own_id

    # ListImages has both; a filter finds each by its own names.
    ids = listed(d)
    assert set(ids) == {own_id, mine}
    assert list(ids[own_id].repo_tags) == ["app:v1"] and ids[own_id].username == "tester"
    only = im.ListImages(pb.ListImagesRequest(filter=pb.ImageFilter(image=spec("app:v1"))))
    assert [i.id for i in only.images] == [own_id]
    streamed = [i.id for r in im.StreamImages(pb.StreamImagesRequest()) for i in r.images]
    assert sorted(streamed) == sorted([own_id, mine])

    # ImageStatus follows the handler: the backend's answer, verbose info included.
    st = im.ImageStatus(pb.ImageStatusRequest(image=spec("app:v1", "own"), verbose=True))
    assert st.image.id == own_id and json.loads(st.info["info"]) == {"keptBy": "testown"}
    assert not im.ImageStatus(pb.ImageStatusRequest(image=spec("app:v1"))).HasField("image")
    assert not im.ImageStatus(pb.ImageStatusRequest(image=spec("nope", "own"))).HasField("image")

    # ImageFsInfo reports cribd's filesystem and the backend's.
    fs = im.ImageFsInfo(pb.ImageFsInfoRequest())
    mounts = [f.fs_id.mountpoint for f in fs.image_filesystems]
    assert len(mounts) == 2 and mounts[1].endswith("/backends/testown")
    assert fs.image_filesystems[1].used_bytes.value > 0

    # Errors come back with the backend's message and the mapped code.
    e = rpc_error(lambda: im.PullImage(pb.PullImageRequest(image=spec("denied/app", "own"))))
    assert e.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "the registry denied access to 'denied/app'" in e.details()
    e = rpc_error(lambda: im.PullImage(pb.PullImageRequest(image=spec("private/app", "own"))))
    assert e.code() == grpc.StatusCode.UNAUTHENTICATED
    im.PullImage(pb.PullImageRequest(image=spec("private/app", "own"),
                                     auth=pb.AuthConfig(username="crib", password="s3cret")))
    e = rpc_error(lambda: im.PullImage(pb.PullImageRequest(image=spec("x", "ghost"))))
    assert e.code() == grpc.StatusCode.NOT_FOUND and "ghost" in e.details()

    # Containers of the class use the backend's images; cribd does not ask its store.
    pid, pcfg = run_pod(d, handler="own")
    cid = d.rs().CreateContainer(pb.CreateContainerRequest(
        pod_sandbox_id=pid, sandbox_config=pcfg,
        config=pb.ContainerConfig(metadata=pb.ContainerMetadata(name="c"),
                                  image=pb.ImageSpec(image="app:v1"),
                                  command=["/bin/sh", "-c", "sleep 60"]))).container_id
    assert container_status(d, cid).status.image.image == "app:v1"
    e = rpc_error(lambda: d.rs().CreateContainer(pb.CreateContainerRequest(
        pod_sandbox_id=pid, sandbox_config=pcfg,
        config=pb.ContainerConfig(metadata=pb.ContainerMetadata(name="d"),
                                  image=pb.ImageSpec(image="missing:1"),
                                  command=["/bin/true"]))))
    assert e.code() == grpc.StatusCode.NOT_FOUND and "testown has no image 'missing:1'" in e.details()

    # RemoveImage follows the handler too, and is idempotent.
    for _ in range(2):
        im.RemoveImage(pb.RemoveImageRequest(image=spec(own_id, "own")))
    assert set(listed(d)) == {mine, "sha256:" + own_image_id("private/app")}


def own_image_id(name):
    """testown's fake ids: four FNV-1a 64 hashes of the name, seeds 1 to 4."""
    out = ""
    for seed in range(1, 5):
        h = 14695981039346656037 ^ seed
        for b in name.encode():
            h = ((h ^ b) * 1099511628211) & (2**64 - 1)
        out += f"{h:016x}"
    return out


def test_default_class_that_keeps_its_own_images(make_cribd):
    """With such a default class, kubelet's handler-less image calls go to the backend."""
    d = make_cribd(default_class="own", classes={"own": "backend = testown"}).start()
    iid = d.pull("app:v2")
    assert iid == "sha256:" + own_image_id("app:v2")
    assert set(listed(d)) == {iid}
    assert status(d, "app:v2").image.id == iid
    d.images().RemoveImage(pb.RemoveImageRequest(image=pb.ImageSpec(image="app:v2")))
    assert listed(d) == {}
