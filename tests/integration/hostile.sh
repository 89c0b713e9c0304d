#!/usr/bin/env bash
# Hostile input that lxm must refuse or defuse, each built here by the test:
# archives with device nodes (create --from, import) and an export that
# picks its own profiles; config.yaml, profiles, templates and lxm.yaml with
# a NUL byte or over the size limit; a full disk (small tmpfs) under every
# command that writes trees or configs; a rootfs that is a symlink.
. "$(dirname "$0")/../lib.sh"
t_setup hostile
t_storage dir # these checks read and write containers/NAME/rootfs on disk

if ! command -v python3 >/dev/null; then
    echo "1..0 # SKIP python3 is needed to write the hostile archives"
    exit 0
fi
WORK=$(mktemp -d /tmp/lxm-it-hostile-work.XXXXXX)
t_on_exit "rm -rf '$WORK'"
CT=$T_ROOT/var/lib/lxm/containers
# Everything lxm keeps on disk, to show a refusal changed nothing.
state() { (cd "$1" && find var/lib/lxm run var/log 2>/dev/null | sort); }
# The same without run/ (a failed start removes the run dir a lock made).
stored() { (cd "$1" && find var/lib/lxm var/log 2>/dev/null | sort); }
# Block and character devices below $1 ("" when none).
devices() { find "$1" \( -type b -o -type c \) -printf '%P\n' 2>/dev/null | sort | tr '\n' ' '; }
warnings() { printf '%s\n' "$1" | grep -c '^lxm: warning' || true; }
profiles_of() { sed -n '/^profiles:/,/^[^ ]/p' "$CT/$1/config.yaml" | sed -n 's/^  - //p' | tr '\n' ' '; }

# --- device nodes in archives -------------------------------------------------------------
t_ok "create b1 (a busybox container to export)" lxm create b1 -t busybox -c network.eth0.type=none
t_ok "export b1" lxm -q export b1 "$WORK/b1.tar"
# $1 = b1's export; writes: nodes.tar (a rootfs tarball), export-nodes.tar (b1
# with nodes and profiles: [privileged]), export-security.tar (b1 with
# security.privileged, nesting, a host idmap and a bind mount of the host's /).
python3 - "$WORK" <<'PY'
import io, sys, tarfile
work = sys.argv[1]
def nodes(prefix):
    out = []
    b = tarfile.TarInfo(prefix + "dev/hostdisk"); b.type = tarfile.BLKTYPE
    b.devmajor, b.devminor, b.mode = 8, 0, 0o666
    c = tarfile.TarInfo(prefix + "dev/mem"); c.type = tarfile.CHRTYPE
    c.devmajor, c.devminor, c.mode = 1, 1, 0o666
    h = tarfile.TarInfo(prefix + "dev/mem-link"); h.type = tarfile.LNKTYPE; h.linkname = prefix + "dev/mem"
    return [b, c, h]
def file(name, data):
    i = tarfile.TarInfo(name); i.size = len(data); i.mode = 0o644
    return i, io.BytesIO(data)
with tarfile.open(work + "/nodes.tar", "w", format=tarfile.PAX_FORMAT) as t:
    for d in ("bin", "dev"):
        i = tarfile.TarInfo(d); i.type = tarfile.DIRTYPE; i.mode = 0o755; t.addfile(i)
    t.addfile(*file("bin/sh", b"#!/bin/sh\n"))
    for n in nodes(""):
        t.addfile(n)
def rewrite(dst, config, extra=()):
    with tarfile.open(work + "/b1.tar") as src, tarfile.open(work + "/" + dst, "w", format=tarfile.PAX_FORMAT) as t:
        for m in src.getmembers():
            if m.name == "config.yaml":
                t.addfile(*file("config.yaml", config))
            else:
                t.addfile(m, src.extractfile(m) if m.isfile() else None)
        for n in extra:
            t.addfile(n)
with tarfile.open(work + "/b1.tar") as src:
    cfg = src.extractfile("config.yaml").read()
base = b"".join(l + b"\n" for l in cfg.split(b"\n") if l and not l.startswith(b"profiles") and not l.startswith(b"  - "))
rewrite("export-nodes.tar", base + b"profiles: [privileged]\n", nodes("rootfs/"))
rewrite("export-security.tar", base + b"security:\n  privileged: true\n  nesting: true\n"
        b"  idmap: '0 0 65536'\nmounts:\n  - {source: /, path: /mnt}\n")
PY
t_ok "hostile archives written" test -s "$WORK/export-nodes.tar" -a -s "$WORK/nodes.tar" -a -s "$WORK/export-security.tar"

out=$(lxm create n1 -t busybox --from "$WORK/nodes.tar" 2>&1); rc=$?
t_is "create --from a tarball with device nodes: exit 0" "$rc" 0
t_is "create --from: no block or character device in the rootfs" "$(devices "$CT/n1/rootfs")" ""
t_ok "create --from: the regular file is there" test -f "$CT/n1/rootfs/bin/sh"
t_is "create --from: one warning line" "$(warnings "$out")" 1
t_like "create --from: the warning counts and names the nodes" "$out" \
    "lxm: warning: .*nodes\.tar: skipped 3 device nodes \(dev/hostdisk, dev/mem, dev/mem-link\): lxm never creates device nodes from an archive"

out=$(lxm import "$WORK/export-nodes.tar" i1 2>&1); rc=$?
t_is "import of an export with device nodes: exit 0" "$rc" 0
t_is "import: no block or character device in the rootfs" "$(devices "$CT/i1/rootfs")" ""
t_like "import: the warning names the nodes" "$out" \
    "lxm: warning: .*export-nodes\.tar: skipped 3 device nodes \(rootfs/dev/hostdisk, rootfs/dev/mem, rootfs/dev/mem-link\)"

# --- profiles: the importing user chooses ------------------------------------------------------
t_is "import: the archive's [privileged] is not taken" "$(profiles_of i1)" "default "
t_like "import: one line shows the archive's profiles, refused" "$(echo "$out" | grep profiles)" \
    "^lxm: warning: .*export-nodes\.tar: the archive asks for profiles \[privileged\]: refused without --trust-profiles; the container gets profiles \[default\]$"
t_is "import: two warning lines in all (nodes, profiles)" "$(warnings "$out")" 2
if lxm start i1 >/dev/null 2>&1; then
    map=$(lxm attach i1 -- cat /proc/self/uid_map 2>&1)
    t_like "the imported container runs in a user namespace, not as host root" "$map" '^ *0 +[1-9][0-9]* +[0-9]+'
    t_ok "stop i1" lxm stop i1 -k
else
    t_report fail "start the imported container" "$(lxm start i1 2>&1)"
fi
t_ok "import -p nesting -p default" lxm -q import "$WORK/export-nodes.tar" i2 -p nesting -p default
t_is "import -p: exactly the profiles named, in order" "$(profiles_of i2)" "nesting default "
t_ok "import -p privileged: the user's own choice" lxm -q import "$WORK/export-nodes.tar" i3 -p privileged
t_is "import -p privileged: privileged" "$(profiles_of i3)" "privileged "
out=$(lxm import "$WORK/export-nodes.tar" i4 --trust-profiles 2>&1); rc=$?
t_is "import --trust-profiles: exit 0" "$rc" 0
t_is "import --trust-profiles: the archive's profiles kept" "$(profiles_of i4)" "privileged "
t_like "import --trust-profiles: says so" "$out" "export-nodes\.tar: the archive asks for profiles \[privileged\]: kept \(--trust-profiles\)"
t_is "import --trust-profiles: still no device node" "$(devices "$CT/i4/rootfs")" ""
t_is "import -q: no warnings (errors only)" "$(lxm -q import "$WORK/export-nodes.tar" i8 2>&1)" ""
t_is "import -q: still no device node" "$(devices "$CT/i8/rootfs")" ""
t_is "import -q: still [default]" "$(profiles_of i8)" "default "

out=$(lxm import "$WORK/export-security.tar" i5 2>&1); rc=$?
t_is "import of an archive asking for host access: exit 0" "$rc" 0
t_like "import: the host-reaching keys are named and refused" "$out" \
    "the archive asks for security\.privileged, security\.nesting, security\.idmap, mounts: refused without --trust-profiles"
t_is "import: no security or mounts key saved" "$(grep -cE '^(security|mounts):' "$CT/i5/config.yaml")" 0
t_ok "import --trust-profiles keeps them" lxm -q import "$WORK/export-security.tar" i6 --trust-profiles
t_ok "import --trust-profiles: privileged and the mount kept" \
    grep -qE '^  privileged: true' "$CT/i6/config.yaml"
t_ok "import --trust-profiles: the mount kept" grep -q 'path: /mnt' "$CT/i6/config.yaml"

before=$(state "$T_ROOT")
out=$(lxm import "$WORK/export-nodes.tar" i7 -p nosuch 2>&1); rc=$?
t_is "import -p nosuch: exit 1" "$rc" 1
t_like "import -p nosuch: one line naming the profile" "$out" "^lxm: error: profile 'nosuch' not found"
t_is "import -p nosuch: nothing left" "$(state "$T_ROOT")" "$before"
out=$(lxm import "$WORK/export-nodes.tar" i7 -p 2>&1); rc=$?
t_is "import -p without a profile: usage error (exit 2)" "$rc" 2
t_like "import --help names the flags" "$(lxm import --help)" "-p, --profile NAME.*"

# --- NUL bytes and huge files in YAML ------------------------------------------------------------
mkdir -p "$CT/nul1"
printf 'name: nul1\ntemplate: busybox\n\0network:\n  eth0: {type: none}\n' >"$CT/nul1/config.yaml"
out=$(lxm start nul1 2>&1); rc=$?
t_is "a config.yaml with a NUL byte: start exits 1" "$rc" 1
t_like "a NUL byte: refused with config.yaml:LINE:COL" "$out" "^lxm: error: .*/nul1/config\.yaml:3:1: a NUL byte"
t_like "a NUL byte: list names it too" "$(lxm list 2>&1 >/dev/null)" "nul1/config\.yaml:3:1: a NUL byte"
t_like "a NUL byte: config show refuses it" "$(lxm config show nul1 2>&1)" "config\.yaml:3:1: a NUL byte"
rm -rf "$CT/nul1"

mkdir -p "$T_ROOT/etc/lxm/profiles" "$WORK/templates"
printf 'name: nulprof\ncapabilities:\n  drop: [sys_admin\0]\n' >"$T_ROOT/etc/lxm/profiles/nulprof.yaml"
t_like "a profile with a NUL byte: refused with its place" "$(lxm profile show nulprof 2>&1)" \
    "nulprof\.yaml:3:19: a NUL byte"
rm "$T_ROOT/etc/lxm/profiles/nulprof.yaml"
printf 'name: nultpl\nsource:\n  type: busybox\0\n' >"$WORK/templates/nultpl.yaml"
out=$(LXM_TEMPLATES_DIR=$WORK/templates lxm create t1 -t nultpl 2>&1)
t_like "a template with a NUL byte: refused with its place" "$out" "nultpl\.yaml:3:16: a NUL byte"
t_ok "a template with a NUL byte: no container" test ! -e "$CT/t1"
cp "$T_ROOT/etc/lxm/lxm.yaml" "$WORK/lxm.yaml"
printf '\0' >>"$T_ROOT/etc/lxm/lxm.yaml"
t_like "lxm.yaml with a NUL byte: refused with its place" "$(lxm net status 2>&1)" "lxm\.yaml:$(($(wc -l <"$WORK/lxm.yaml") + 1)):1: a NUL byte"
cp "$WORK/lxm.yaml" "$T_ROOT/etc/lxm/lxm.yaml"

mkdir -p "$CT/big1"
{ printf 'name: big1\n'; head -c 1048576 /dev/zero | tr '\0' '#'; } >"$CT/big1/config.yaml"
truncate -s 200M "$CT/big1/config.yaml"
out=$(timeout 20 "$LXM_BIN" --root "$T_ROOT" list 2>&1); rc=$?
t_is "a 200 MiB config.yaml: list still works" "$rc" 0
t_like "a 200 MiB config.yaml: named with the limit" "$out" \
    "big1/config\.yaml: 209715200 bytes, over the 1 MiB limit for a YAML file"
t_like "a 200 MiB config.yaml: start refuses it" "$(lxm start big1 2>&1)" "over the 1 MiB limit"
rm -rf "$CT/big1"
printf 'name: bigprof\n' >"$T_ROOT/etc/lxm/profiles/bigprof.yaml"
truncate -s 2M "$T_ROOT/etc/lxm/profiles/bigprof.yaml"
t_like "a 2 MiB profile: refused" "$(lxm profile show bigprof 2>&1)" "bigprof\.yaml: 2097152 bytes, over the 1 MiB limit"
rm "$T_ROOT/etc/lxm/profiles/bigprof.yaml"

# --- a full disk ---------------------------------------------------------------------------------
# tmpfs mounts of the test's own, unmounted at exit. 600 KiB holds no
# busybox rootfs (2 MiB); 5 MiB holds the image and one container made
# from it on the dir driver (a full copy each), but not a second.
full=0
tiny() { # tiny DIR SIZE
    mkdir -p "$1" && mount -t tmpfs -o "size=$2" tmpfs "$1" && t_on_exit "umount -l '$1'"
}
if tiny "$T_ROOT/full-out" 600k && tiny "$T_ROOT/full-root" 600k && tiny "$T_ROOT/full-3m" 5m; then
    full=1
    for d in full-root full-3m; do
        mkdir -p "$T_ROOT/$d/etc/lxm" && printf 'storage:\n  driver: dir\n' >"$T_ROOT/$d/etc/lxm/lxm.yaml"
    done
fi
if [ $full = 1 ]; then
    F=$T_ROOT/full-root
    out=$(lxm -q export b1 "$T_ROOT/full-out/b1.tar" 2>&1); rc=$?
    t_is "export onto a full disk: exit 1" "$rc" 1
    t_like "export onto a full disk: says so, naming the file" "$out" \
        "^lxm: error: export b1 to $T_ROOT/full-out/b1\.tar: .*No space left on device$"
    t_is "export onto a full disk: no file or temp file left" "$(ls -A "$T_ROOT/full-out")" ""

    out=$("$LXM_BIN" --root "$F" -q import "$WORK/b1.tar" 2>&1); rc=$?
    t_is "import onto a full disk: exit 1" "$rc" 1
    t_like "import onto a full disk: says so, naming where" "$out" \
        "^lxm: error: extract into $F/var/lib/lxm/containers/\.import-[^:]*: .*b1\.tar: write '[^']*': No space left on device$"
    t_is "import onto a full disk: no staging dir left" "$(ls -A "$F/var/lib/lxm/containers")" ""

    head -c 2000000 /dev/urandom >"$WORK/fat.bin"
    tar -C "$WORK" -cf "$WORK/fat.tar" fat.bin
    out=$("$LXM_BIN" --root "$F" -q create f1 -t busybox --from "$WORK/fat.tar" 2>&1); rc=$?
    t_is "create --from onto a full disk: exit 1" "$rc" 1
    t_like "create --from onto a full disk: says so" "$out" \
        "^lxm: error: .*extract into $F/var/lib/lxm/images/\.staging-[^:]*/rootfs: .*fat\.tar: write 'fat\.bin': No space left on device$"
    t_ok "create --from onto a full disk: no container left" test ! -e "$F/var/lib/lxm/containers/f1"
    t_is "create --from onto a full disk: no image or staging dir left" "$(ls -A "$F/var/lib/lxm/images" | grep -v '^\.lock$' || true)" ""

    G=$T_ROOT/full-3m
    if "$LXM_BIN" --root "$G" -q create g1 -t busybox -c network.eth0.type=none >/dev/null 2>&1; then
        out=$("$LXM_BIN" --root "$G" copy g1 g2 2>&1); rc=$?
        t_is "copy onto a full disk: exit 1" "$rc" 1
        t_like "copy onto a full disk: says so, naming the target" "$out" \
            "^lxm: error: copy .*/g1/rootfs to .*/\.copy-[0-9]+-[0-9]+\.g2/rootfs: (write [^:]*|[^:]*: copy data): No space left on device$"
        out=$("$LXM_BIN" --root "$G" snapshot g1 2>&1); rc=$?
        t_is "snapshot onto a full disk: exit 1" "$rc" 1
        t_like "snapshot onto a full disk: says so" "$out" \
            "^lxm: error: snapshot g1: copy .*/g1/rootfs to .*: (write [^:]*|[^:]*: copy data): No space left on device$"
        head -c 4000000 /dev/zero >"$G/filler" 2>/dev/null
        cfg=$(sha256sum <"$G/var/lib/lxm/containers/g1/config.yaml")
        out=$("$LXM_BIN" --root "$G" config set g1 limits.pids=100 2>&1); rc=$?
        t_is "config set on a full disk: exit 1" "$rc" 1
        t_like "config set on a full disk: says so, naming config.yaml" "$out" \
            "^lxm: error: write .*/g1/config\.yaml: No space left on device$"
        t_is "config set on a full disk: config.yaml untouched" \
            "$(sha256sum <"$G/var/lib/lxm/containers/g1/config.yaml")" "$cfg"
        t_is "config set on a full disk: no temp file left" \
            "$(ls -A "$G/var/lib/lxm/containers/g1" | grep -c tmp || true)" 0
    else
        t_report fail "create g1 on a 5 MiB tmpfs" "$("$LXM_BIN" --root "$G" create g1 -t busybox 2>&1)"
    fi
else
    t_skip "a full disk" "could not mount a tmpfs here"
fi

# --- a rootfs that is a symlink -----------------------------------------------------------------
t_ok "create s1" lxm create s1 -t busybox -c network.eth0.type=none
mkdir -p "$WORK/target" && echo precious >"$WORK/target/file"
mv "$CT/s1/rootfs" "$WORK/s1-rootfs" && ln -s "$WORK/target" "$CT/s1/rootfs"
before=$(stored "$T_ROOT")
for cmd in "export s1 $WORK/s1.tar" "copy s1 s2" "snapshot s1" "start s1"; do
    out=$(lxm $cmd 2>&1); rc=$?
    t_is "${cmd%% *} with a symlinked rootfs: exit 1" "$rc" 1
    t_like "${cmd%% *} with a symlinked rootfs: says so" "$out" \
        "^lxm: error: container 's1': .*/s1/rootfs is a symlink \(to $WORK/target\); lxm never follows one"
done
t_ok "no archive written" test ! -e "$WORK/s1.tar"
t_is "the refusals changed nothing" "$(stored "$T_ROOT")" "$before"
t_ok "delete s1" lxm delete s1
t_is "delete removed the link, not its target" "$(cat "$WORK/target/file" 2>&1)" precious
t_ok "s1 is gone" test ! -e "$CT/s1"

t_done
