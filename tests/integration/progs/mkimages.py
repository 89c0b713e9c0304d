#!/usr/bin/env python3
"""Build the test images of tests/integration/image-formats.sh in OUT:
every format lxm imports (plain rootfs tarball, lxm export, LXC/Incus
unified and split, OCI layout with three layers, whiteouts, an opaque
directory, tags and a nested index) and hostile variants of each.
Usage: mkimages.py OUT HOSTDIR   (HOSTDIR: a host directory that hostile
images aim at; nothing may ever appear in it)."""
import copy
import gzip
import hashlib
import io
import json
import lzma
import os
import subprocess
import sys
import tarfile

OUT, HOST = sys.argv[1], sys.argv[2]
MTIME = 1700000000


def entry(name, kind=tarfile.REGTYPE, data=b"", mode=0o644, uid=0, gid=0, link="", dev=None, xattrs=None):
    ti = tarfile.TarInfo(name)
    if xattrs:
        ti.pax_headers = {"SCHILY.xattr." + k: v for k, v in xattrs.items()}
    ti.type, ti.mode, ti.uid, ti.gid, ti.mtime = kind, mode, uid, gid, MTIME
    ti.linkname = link
    if dev:
        ti.devmajor, ti.devminor = dev
    if kind == tarfile.REGTYPE:
        ti.size = len(data)
    return (ti, data)


def d(name, mode=0o755, uid=0, gid=0):
    return entry(name, tarfile.DIRTYPE, mode=mode, uid=uid, gid=gid)


def tar_bytes(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for ti, data in entries:
            tf.addfile(ti, io.BytesIO(data) if ti.type == tarfile.REGTYPE else None)
    return buf.getvalue()


def compress(raw, how):
    if how == "gz":
        return gzip.compress(raw, mtime=0)
    if how == "xz":
        return lzma.compress(raw)
    if how == "zst":
        return subprocess.run(["zstd", "-q", "-c"], input=raw, check=True, capture_output=True).stdout
    return raw


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def rootfs(prefix=""):
    """A small system tree: owners, modes, a symlink, a hard link, a device."""
    p = prefix
    out = [d(p.rstrip("/") or ".")]
    out += [
        d(p + "etc"),
        entry(p + "etc/os-release", data=b"ID=testos\n"),
        d(p + "bin"),
        entry(p + "bin/tool", data=b"#!/bin/sh\necho tool\n", mode=0o755),
        entry(p + "sbin", tarfile.SYMTYPE, link="bin"),
        d(p + "home"),
        d(p + "home/user", mode=0o700, uid=1000, gid=1000),
        entry(p + "home/user/secret", data=b"s3cret\n", mode=0o600, uid=1000, gid=1000),
        entry(p + "bin/suid", data=b"x", mode=0o4755, uid=0, gid=50),
        entry(p + "etc/tagged", data=b"t\n", xattrs={"user.lxm": "kept"}),
        entry(p + "bin/tool-link", tarfile.LNKTYPE, link=p + "bin/tool"),
        d(p + "dev"),
        entry(p + "dev/null", tarfile.CHRTYPE, mode=0o666, dev=(1, 3)),
    ]
    return out


METADATA = b"""architecture: aarch64
creation_date: 1714564800
properties:
  os: Debian
  release: bookworm
  description: Test Debian bookworm
templates:
  /etc/hostname:
    when: [create, copy]
    template: hostname.tpl
"""

EXPORT_CONFIG = b"""name: src
template: busybox
release: "1.36"
arch: amd64
created: 2024-05-01T12:00:00Z
init: /sbin/init
"""


def good_tarballs():
    write(f"{OUT}/plain.tar.gz", compress(tar_bytes(rootfs("./")), "gz"))
    write(f"{OUT}/export.tar.zst",
          compress(tar_bytes([entry("config.yaml", data=EXPORT_CONFIG, mode=0o600)] + rootfs("rootfs/")), "zst"))
    unified = [entry("metadata.yaml", data=METADATA), d("templates"),
               entry("templates/hostname.tpl", data=b"{{ container.name }}\n")] + rootfs("rootfs/")
    write(f"{OUT}/unified.tar.xz", compress(tar_bytes(unified), "xz"))
    # As `tar -C DIR -c .` writes it: "./" first, every name under "./".
    dotted = [d(".")] + [(copy.copy(ti), data) for ti, data in unified]
    for ti, _ in dotted[1:]:
        ti.name = "./" + ti.name
        if ti.type == tarfile.LNKTYPE:
            ti.linkname = "./" + ti.linkname
    write(f"{OUT}/unified-dot.tar.gz", compress(tar_bytes(dotted), "gz"))
    write(f"{OUT}/meta.tar.xz", compress(tar_bytes(unified[:3]), "xz"))
    write(f"{OUT}/split-rootfs.tar.gz", compress(tar_bytes(rootfs("./")), "gz"))
    # An LXC download image's meta.tar.xz: no metadata.yaml, a "config".
    write(f"{OUT}/lxc-meta.tar.xz", compress(tar_bytes(
        [entry("config", data=b"lxc.include = LXC_TEMPLATE_CONFIG/debian.common.conf\nlxc.arch = aarch64\n"),
         entry("expiry", data=b"1900000000\n"), d("templates")]), "xz"))
    # tar2sqfs keeps owners, modes, links and device nodes from the stream.
    subprocess.run(["tar2sqfs", "-q", "-f", f"{OUT}/rootfs.squashfs"],
                   input=tar_bytes(rootfs("./")), check=True)


def hostile_tarballs():
    h = f"{OUT}/hostile"
    write(f"{h}/unified-dotdot.tar", tar_bytes(
        [entry("metadata.yaml", data=METADATA), d("rootfs"), entry("rootfs/../escape", data=b"x")]))
    write(f"{h}/unified-absolute.tar", tar_bytes(
        [entry("metadata.yaml", data=METADATA), d("rootfs"), entry(f"{HOST}/abs", data=b"x")]))
    write(f"{h}/unified-hardlink-out.tar", tar_bytes(
        [entry("metadata.yaml", data=METADATA), d("rootfs"), entry("rootfs/h", tarfile.LNKTYPE, link="metadata.yaml")]))
    write(f"{h}/unified-symlink.tar", tar_bytes(
        [entry("metadata.yaml", data=METADATA), d("rootfs"), entry("rootfs/a", tarfile.SYMTYPE, link=HOST),
         entry("rootfs/a/pwned", data=b"x")]))
    write(f"{h}/unified-rootfs-symlink.tar", tar_bytes(
        [entry("metadata.yaml", data=METADATA), entry("rootfs", tarfile.SYMTYPE, link=HOST),
         entry("rootfs/pwned", data=b"x")]))
    write(f"{h}/export-bad-yaml.tar", tar_bytes(
        [entry("config.yaml", data=b"template: [\n"), d("rootfs"), entry("rootfs/f", data=b"x")]))
    with open(f"{OUT}/rootfs.squashfs", "rb") as f:
        sq = f.read()
    # The superblock survives, the tables it points at do not.
    write(f"{h}/truncated.squashfs", sq[:200])


# ---- OCI ------------------------------------------------------------------------------


class Layout:
    def __init__(self, path):
        self.path = path
        os.makedirs(f"{path}/blobs/sha256", exist_ok=True)
        write(f"{path}/oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
        self.manifests = []

    def blob(self, data, media_type):
        h = hashlib.sha256(data).hexdigest()
        write(f"{self.path}/blobs/sha256/{h}", data)
        return {"mediaType": media_type, "digest": "sha256:" + h, "size": len(data)}

    def json_blob(self, obj, media_type):
        return self.blob(json.dumps(obj).encode(), media_type)

    def image(self, layers, arch="amd64"):
        """layers: [(entries, compression)] -> manifest descriptor."""
        descs, diff_ids = [], []
        types = {"": "tar", "gz": "tar+gzip", "zst": "tar+zstd"}
        for entries, how in layers:
            raw = tar_bytes(entries)
            diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
            descs.append(self.blob(compress(raw, how), "application/vnd.oci.image.layer.v1." + types[how]))
        config = self.json_blob({"architecture": arch, "os": "linux", "created": "2024-05-01T12:00:00Z",
                                 "rootfs": {"type": "layers", "diff_ids": diff_ids},
                                 "config": {"Cmd": ["/bin/sh"]}},
                                "application/vnd.oci.image.config.v1+json")
        return self.json_blob({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": config, "layers": descs,
                               "annotations": {"org.opencontainers.image.description": "three layer test"}},
                              "application/vnd.oci.image.manifest.v1+json")

    def tag(self, desc, name):
        desc = dict(desc)
        if name:
            desc["annotations"] = {"org.opencontainers.image.ref.name": name}
        self.manifests.append(desc)

    def close(self):
        write(f"{self.path}/index.json",
              json.dumps({"schemaVersion": 2, "manifests": self.manifests}).encode())


def oci_layers():
    l1 = [d("."), d("etc"), entry("etc/os-release", data=b"ID=ocitest\n"), d("bin"),
          entry("bin/sh", data=b"#!shell\n", mode=0o755),
          d("data"), entry("data/keep", data=b"keep\n", mode=0o640, uid=7, gid=8),
          entry("data/gone", data=b"gone\n"), d("data/dir"), entry("data/dir/a", data=b"a\n"),
          entry("data/dir/b", data=b"b\n"), d("opq"), entry("opq/x", data=b"x\n"), d("opq/sub"),
          entry("opq/sub/y", data=b"y\n"), d("replace"), entry("replace/inner", data=b"i\n"),
          entry("data/link", tarfile.SYMTYPE, link="keep"),
          entry("dev-null", tarfile.CHRTYPE, mode=0o666, dev=(1, 3))]
    # The same layer writes opq/new before its opaque marker: the marker
    # hides only what lower layers had.
    l2 = [entry("data/.wh.gone"), entry("opq/new", data=b"new\n"), entry("opq/.wh..wh..opq"),
          entry("replace", data=b"now a file\n"), entry("data/added", data=b"added\n", mode=0o600, uid=1000, gid=1000)]
    l3 = [entry("data/dir/.wh.a"), entry("data/hard", tarfile.LNKTYPE, link="data/keep"),
          entry("etc/os-release", data=b"ID=ocitest\nVERSION=3\n")]
    return [(l1, "gz"), (l2, ""), (l3, "zst")]


def oci_good():
    lay = Layout(f"{OUT}/oci")
    man = lay.image(oci_layers())
    lay.tag(man, "v1")
    other = lay.image([([d("."), entry("only-v2", data=b"2\n")], "gz")])
    lay.tag(other, "v2")
    # A nested index: one manifest per platform, only ours is real.
    arm = lay.image([([entry("arm", data=b"arm\n")], "gz")], arch="arm64")
    amd = dict(man, platform={"os": "linux", "architecture": "amd64"})
    arm = dict(arm, platform={"os": "linux", "architecture": "arm64"})
    nested = lay.json_blob({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                            "manifests": [arm, amd]}, "application/vnd.oci.image.index.v1+json")
    lay.tag(nested, "multi")
    lay.close()
    # A tag with a ':' in it, as full references have.
    col = Layout(f"{OUT}/oci-colon")
    col.tag(col.image([([d("."), entry("colon", data=b"c\n")], "gz")]), "debian:bookworm")
    col.close()
    # One image, untagged: DIR alone picks it.
    one = Layout(f"{OUT}/oci-one")
    one.tag(one.image([([d("."), entry("single", data=b"1\n")], "")], arch="386"), None)
    one.close()


def oci_hostile():
    h = f"{OUT}/hostile"
    # A layer's symlink to the host, then a later layer's file through it.
    lay = Layout(f"{h}/oci-symlink")
    lay.tag(lay.image([([d("."), entry("evil", tarfile.SYMTYPE, link=HOST)], "gz"),
                       ([entry("evil/pwned", data=b"x")], "gz")]), "t")
    lay.close()
    # A whiteout through a symlink would delete a host file.
    lay = Layout(f"{h}/oci-whiteout-symlink")
    lay.tag(lay.image([([d("."), entry("lnk", tarfile.SYMTYPE, link=HOST)], "gz"),
                       ([entry("lnk/.wh.victim")], "gz")]), "t")
    lay.close()
    lay = Layout(f"{h}/oci-top-symlink")
    lay.tag(lay.image([([entry(".", tarfile.SYMTYPE, link=HOST), entry("pwned", data=b"x")], "")]), "t")
    lay.close()
    lay = Layout(f"{h}/oci-dotdot")
    lay.tag(lay.image([([d("."), entry("../escape", data=b"x")], "")]), "t")
    lay.close()
    # A blob that is a symlink to a host file.
    lay = Layout(f"{h}/oci-blob-symlink")
    man = lay.image([([d("."), entry("f", data=b"x")], "")])
    manifest = json.load(open(f"{lay.path}/blobs/sha256/{man['digest'][7:]}"))
    path = f"{lay.path}/blobs/sha256/{manifest['layers'][0]['digest'][7:]}"
    os.unlink(path)
    os.symlink(f"{HOST}/victim", path)
    lay.tag(man, "t")
    lay.close()
    # Blobs that are not what their descriptors say.
    for name in ("digest", "size", "missing"):
        lay = Layout(f"{h}/oci-{name}")
        man = lay.image([([d("."), entry("f", data=b"content\n")], "")])
        manifest = json.load(open(f"{lay.path}/blobs/sha256/{man['digest'][7:]}"))
        layer = manifest["layers"][0]
        path = f"{lay.path}/blobs/sha256/{layer['digest'][7:]}"
        if name == "digest":  # same size, one byte changed inside the file's data
            data = bytearray(open(path, "rb").read())
            i = data.index(b"content")
            data[i] = ord("C")
            write(path, bytes(data))
        elif name == "size":
            layer["size"] += 1
            man = lay.json_blob(manifest, "application/vnd.oci.image.manifest.v1+json")
        else:
            os.unlink(path)
        lay.tag(man, "t")
        lay.close()


good_tarballs()
hostile_tarballs()
oci_good()
oci_hostile()
