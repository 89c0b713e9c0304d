#!/usr/bin/env bash
# Every image format `create --from` (and `lxm image import`) reads, with
# images this test builds itself (progs/mkimages.py): a plain rootfs
# tarball, an lxm export, LXC/Incus unified and split (rootfs tarball or
# rootfs.squashfs), an OCI layout with three layers, whiteouts, an opaque
# directory, tags and a nested index. Each tree is checked (contents,
# modes, owners, symlinks, hard links); hostile images are refused with
# the entry or blob named, and leave nothing behind.
. "$(dirname "$0")/../lib.sh"
t_setup image-formats
t_storage dir # these checks read and write containers/NAME/rootfs on disk

command -v python3 >/dev/null || { echo "1..0 # SKIP python3 is not installed"; exit 0; }
for tool in tar2sqfs zstd; do
    command -v $tool >/dev/null || { echo "1..0 # SKIP $tool is not installed (scripts/install-deps --tests)"; exit 0; }
done

IMG=$(mktemp -d /tmp/lxm-it-images.XXXXXX)
HOST=$(mktemp -d /tmp/lxm-it-images-host.XXXXXX)
t_on_exit "rm -rf '$IMG' '$HOST'"
echo victim >"$HOST/victim"
CT=$T_ROOT/var/lib/lxm/containers
python3 "$(dirname "$0")/progs/mkimages.py" "$IMG" "$HOST" || { echo "Bail out! mkimages.py failed"; exit 1; }

# Everything lxm keeps, but the lock files: run/lxm/.locks/NAME.lock are
# empty files that are never removed (docs/locking.md); a create locks the
# name before it looks at the image, so a refused one may leave one.
state() {
    (cd "$T_ROOT" && find var/lib/lxm run var/log -not -path 'run/lxm/.locks/*.lock' 2>/dev/null | sort)
    find "$T_ROOT/run/lxm/.locks" -mindepth 1 \( -not -name '*.lock' -o -not -type f -o -not -empty \) 2>/dev/null
}
cfg() { sed -n "s/^$2: *//p" "$CT/$1/config.yaml" | tr -d '"'; }

# device_not_created DESC PATH: lxm never makes device nodes from an image
# (every format goes through image.c's extract_entries, which skips them).
device_not_created() {
    if [ -e "$2" ] || [ -L "$2" ]; then
        t_report fail "$1" "$(stat -c '%F %t:%T' "$2")"
    else
        t_report ok "$1"
    fi
}

xattr_of() { python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], sys.argv[2]).decode())' "$1" "$2" 2>&1; }

# check_rootfs NAME: the tree of mkimages.py's rootfs().
check_rootfs() {
    local n=$1 R=$CT/$1/rootfs
    t_is "$n: file content" "$(cat "$R/etc/os-release" 2>/dev/null)" "ID=testos"
    t_is "$n: executable mode" "$(stat -c %a "$R/bin/tool" 2>/dev/null)" 755
    t_is "$n: setuid kept, owner and group" "$(stat -c '%a %u:%g' "$R/bin/suid" 2>/dev/null)" "4755 0:50"
    t_is "$n: private dir owner and mode" "$(stat -c '%a %u:%g' "$R/home/user" 2>/dev/null)" "700 1000:1000"
    t_is "$n: private file owner and mode" "$(stat -c '%a %u:%g' "$R/home/user/secret" 2>/dev/null)" "600 1000:1000"
    t_is "$n: symlink" "$(readlink "$R/sbin")" bin
    t_is "$n: hard link" "$(stat -c %i "$R/bin/tool-link" 2>/dev/null)" "$(stat -c %i "$R/bin/tool" 2>/dev/null)"
    t_is "$n: extended attribute" "$(xattr_of "$R/etc/tagged" user.lxm)" kept
    t_is "$n: hostname is the container's" "$(cat "$R/etc/hostname" 2>/dev/null)" "$n"
    device_not_created "$n: device node not created" "$R/dev/null"
}

# --- every format, end to end ------------------------------------------------------------------
t_ok "plain rootfs tarball" lxm -q create plain --from "$IMG/plain.tar.gz"
check_rootfs plain
t_ok "plain: template tarball" test "$(cfg plain template)" = tarball

t_ok "lxm export" lxm -q create exp --from "$IMG/export.tar.zst"
check_rootfs exp
t_ok "export: only rootfs/ unpacked (no config.yaml in the tree)" test ! -e "$CT/exp/rootfs/config.yaml"
t_is "export: release from its config.yaml" "$(cfg exp release)" 1.36

out=$(lxm create uni --from "$IMG/unified.tar.xz" 2>&1)
t_like "LXC unified tarball for another arch: created, with a warning" "$out" \
    "warning: .*unified.tar.xz: the image is for arm64, this machine is $(dpkg --print-architecture)"
check_rootfs uni
t_ok "unified: metadata and templates stay out of the tree" \
    test ! -e "$CT/uni/rootfs/metadata.yaml" -a ! -e "$CT/uni/rootfs/templates" -a ! -e "$CT/uni/rootfs/rootfs"
t_is "unified: release from metadata.yaml" "$(cfg uni release)" bookworm
t_is "unified: arch from metadata.yaml (aarch64 -> arm64)" "$(cfg uni arch)" arm64

t_ok "LXC unified tarball with ./ names" lxm -q create unidot --from "$IMG/unified-dot.tar.gz"
check_rootfs unidot
t_is "unified ./: release from metadata.yaml" "$(cfg unidot release)" bookworm

t_ok "LXC split: metadata + rootfs.squashfs" \
    lxm -q create sq --from "$IMG/meta.tar.xz" --from-rootfs "$IMG/rootfs.squashfs"
check_rootfs sq
t_is "split: release from metadata.yaml" "$(cfg sq release)" bookworm
# Warnings come from unpacking, which this root's image store has done
# already for the same image: a root of its own unpacks it again.
fresh() { "$LXM_BIN" --root "$T_ROOT/fresh-$1" "${@:2}"; }
out=$(fresh sq create sqw --from "$IMG/meta.tar.xz" --from-rootfs "$IMG/rootfs.squashfs" 2>&1 >/dev/null)
t_like "squashfs: one warning names the skipped device node" "$out" \
    "rootfs.squashfs: skipped 1 device node \(dev/null\)"
t_ok "LXC split: metadata + rootfs tarball" \
    lxm -q create sqt --from "$IMG/meta.tar.xz" --from-rootfs "$IMG/split-rootfs.tar.gz"
check_rootfs sqt
t_ok "LXC download image: meta.tar.xz (config) + rootfs tarball" \
    lxm -q create lxcdl --from "$IMG/lxc-meta.tar.xz" --from-rootfs "$IMG/split-rootfs.tar.gz"
check_rootfs lxcdl
t_is "LXC download image: arch from lxc.arch (aarch64 -> arm64)" "$(cfg lxcdl arch)" arm64
out=$(lxm -q create meta-only --from "$IMG/meta.tar.xz" 2>&1)
t_like "metadata tarball alone: says the rootfs is missing" "$out" "metadata half of a split LXC image"
out=$(lxm -q create x --from-rootfs "$IMG/rootfs.squashfs" -t tarball 2>&1)
t_like "--from-rootfs without --from is a usage error" "$out" "--from-rootfs needs --from"

# --- OCI ----------------------------------------------------------------------------------------
t_ok "OCI layout DIR:TAG" lxm -q create oci --from "$IMG/oci:v1"
R=$CT/oci/rootfs
t_is "oci: a later layer's file wins" "$(cat "$R/etc/os-release")" "ID=ocitest
VERSION=3"
t_ok "oci: .wh.gone removed a lower file" test ! -e "$R/data/gone" -a ! -e "$R/data/.wh.gone"
t_ok "oci: .wh.a in a third layer removed it" test ! -e "$R/data/dir/a" -a -e "$R/data/dir/b"
t_is "oci: opaque dir keeps only its own layer's file" "$(cd "$R/opq" && find . | sort | tr '\n' ' ')" ". ./new "
t_ok "oci: no whiteout file is left anywhere" test -z "$(find "$R" -name '.wh.*')"
t_is "oci: a file replaced a lower directory" "$(cat "$R/replace" 2>/dev/null)" "now a file"
t_is "oci: owner and mode from a layer" "$(stat -c '%a %u:%g' "$R/data/added")" "600 1000:1000"
t_is "oci: owner and mode of a lower file kept" "$(stat -c '%a %u:%g' "$R/data/keep")" "640 7:8"
t_is "oci: hard link to a lower layer's file" "$(stat -c %i "$R/data/hard")" "$(stat -c %i "$R/data/keep")"
t_is "oci: symlink" "$(readlink "$R/data/link")" keep
t_ok "oci: other tags not mixed in" test ! -e "$R/only-v2" -a ! -e "$R/arm"
device_not_created "oci: device node not created" "$R/dev-null"

out=$(fresh oci create ociw --from "$IMG/oci:v1" 2>&1 >/dev/null)
t_like "oci: one warning names the layer and the skipped device node" "$out" \
    "oci layer 1/3 \(sha256:[0-9a-f]{12}\): skipped 1 device node \(dev-null\)"
t_ok "OCI tag v2" lxm -q create oci2 --from "oci:$IMG/oci:v2"
t_is "oci v2: its own tree" "$(cat "$CT/oci2/rootfs/only-v2" 2>/dev/null)" 2
t_ok "a layout in a directory named oci: oci:TAG" bash -c "cd '$IMG' && '$LXM_BIN' --root '$T_ROOT' -q create ocirel --from oci:v2"
t_is "oci:TAG: its tree" "$(cat "$CT/ocirel/rootfs/only-v2" 2>/dev/null)" 2
t_ok "OCI nested index: the host's platform" lxm -q create multi --from "$IMG/oci:multi"
t_is "nested index: the amd64 image" "$(cat "$CT/multi/rootfs/data/keep" 2>/dev/null)" keep
t_ok "nested index: not the arm64 one" test ! -e "$CT/multi/rootfs/arm"
t_ok "OCI tag with a ':' in it" lxm -q create colon --from "$IMG/oci-colon:debian:bookworm"
t_is "colon tag: its tree" "$(cat "$CT/colon/rootfs/colon" 2>/dev/null)" c
t_ok "OCI layout with one untagged image: DIR alone" lxm -q create one --from "$IMG/oci-one"
t_is "one: its tree" "$(cat "$CT/one/rootfs/single" 2>/dev/null)" 1
t_is "one: arch from its config (386 -> i386)" "$(cfg one arch)" i386

# A layout as skopeo itself writes it (it re-packs what it copies), two tags in one.
if command -v skopeo >/dev/null; then
    if timeout 120 skopeo copy --quiet "oci:$IMG/oci:v1" "oci:$IMG/skopeo:bookworm" &&
        timeout 120 skopeo copy --quiet "oci:$IMG/oci:v2" "oci:$IMG/skopeo:other"; then
        t_ok "skopeo-written layout, DIR:TAG" lxm -q create sk --from "oci:$IMG/skopeo:bookworm"
        t_ok "skopeo layout: whiteouts and opaque dir applied" \
            test ! -e "$CT/sk/rootfs/data/gone" -a ! -e "$CT/sk/rootfs/opq/x" -a -e "$CT/sk/rootfs/opq/new"
        t_is "skopeo layout: hard link kept" "$(stat -c %i "$CT/sk/rootfs/data/hard")" "$(stat -c %i "$CT/sk/rootfs/data/keep")"
        out=$(lxm -q create sk2 --from "$IMG/skopeo" 2>&1)
        t_like "skopeo layout with two tags, none given: the tags are listed" "$out" "tags: bookworm, other"
    else
        t_report fail "skopeo copy oci: -> oci: (local)" "skopeo failed"
    fi
else
    t_skip "skopeo-written layout" "skopeo is not installed"
fi

# --- the same formats through the image store: image import, create --image ------------------
t_ok "image import: lxm export, with an alias" lxm -q image import "$IMG/export.tar.zst" --alias imp-exp
t_ok "image import: LXC unified" lxm -q image import "$IMG/unified.tar.xz" --alias imp-uni
t_ok "image import: LXC split with rootfs.squashfs" \
    lxm -q image import "$IMG/meta.tar.xz" --split "$IMG/rootfs.squashfs" --alias imp-sq
t_ok "image import: OCI DIR:TAG" lxm -q image import "$IMG/oci:v1" --alias imp-oci
list=$(lxm image list --format csv)
for a in imp-exp imp-uni imp-sq imp-oci; do
    t_like "image list shows $a" "$list" "(^|[,; ])$a([,; ]|$)"
done
t_is "image info: release from the split image's metadata.yaml" \
    "$(lxm image info imp-sq --format json | jq -r .release)" bookworm
for a in exp uni sq; do
    t_ok "create --image imp-$a" lxm -q create "st-$a" --image "imp-$a"
    check_rootfs "st-$a"
done
t_ok "create --image imp-oci" lxm -q create st-oci --image imp-oci
t_is "st-oci: the top layer's file" "$(cat "$CT/st-oci/rootfs/etc/os-release" 2>/dev/null)" "ID=ocitest
VERSION=3"
t_ok "st-oci: whiteouts applied" test ! -e "$CT/st-oci/rootfs/data/gone"
out=$(lxm image delete imp-sq 2>&1)
t_like "image delete of a used image: refused, naming the user" "$out" "st-sq"
t_ok "... after its container is gone it goes" sh -c "'$LXM_BIN' --root '$T_ROOT' delete st-sq && '$LXM_BIN' --root '$T_ROOT' image delete imp-sq"

# --- refused, with the entry or blob named, leaving nothing ---------------------------------------
before=$(state)
# expect_refused DESC REGEX ARGS...: exit 1, one line matching REGEX.
expect_refused() {
    local desc=$1 want=$2
    shift 2
    t_error "$desc" 1 "$want" lxm -q create evil "$@"
}
H=$IMG/hostile
expect_refused "OCI: several images, no tag" "holds 3 images: name one as .*:TAG \(tags: v1, v2, multi\)" --from "$IMG/oci"
expect_refused "OCI: unknown tag" "no image tagged 'nope' \(tags: v1, v2, multi\)" --from "$IMG/oci:nope"
expect_refused "OCI: digest mismatch" "blob sha256:[0-9a-f]{12} does not match its digest" --from "$H/oci-digest:t"
expect_refused "OCI: size mismatch" "blob sha256:[0-9a-f]{12} is [0-9]+ bytes, its descriptor says [0-9]+" --from "$H/oci-size:t"
expect_refused "OCI: missing blob" "blob sha256:[0-9a-f]{12} is missing" --from "$H/oci-missing:t"
expect_refused "OCI: a blob symlinked out of the layout" "blobs/sha256/[0-9a-f]{64}: a symlink leads out of the layout" \
    --from "$H/oci-blob-symlink:t"
expect_refused "a directory that is no OCI layout" "is a directory but not an OCI image layout" --from "$H"
expect_refused "OCI: file through a lower layer's symlink" "refusing entry 'evil/pwned' \(its path goes through a symlink\)" \
    --from "$H/oci-symlink:t"
expect_refused "OCI: whiteout through a symlink" "refusing entry 'lnk/.wh.victim' \(whiteout through a symlink\)" \
    --from "$H/oci-whiteout-symlink:t"
expect_refused "OCI: '..' entry" "refusing entry '\.\./escape'" --from "$H/oci-dotdot:t"
expect_refused "unified: '..' below rootfs/" "refusing entry 'rootfs/\.\./escape' \('\.\.' in its path\)" --from "$H/unified-dotdot.tar"
expect_refused "unified: absolute path" "refusing entry '$HOST/abs' \(absolute path\)" --from "$H/unified-absolute.tar"
expect_refused "unified: hard link out of rootfs/" "refusing entry 'rootfs/h' \(hard link outside rootfs/\)" \
    --from "$H/unified-hardlink-out.tar"
expect_refused "unified: file through a symlink" "refusing entry 'a/pwned'" --from "$H/unified-symlink.tar"
expect_refused "unified: rootfs itself a symlink" "refusing entry 'rootfs' \(rootfs/ must be a directory\)" \
    --from "$H/unified-rootfs-symlink.tar"
expect_refused "OCI: the top of a layer a symlink" "refusing entry '\.' \(the top of a layer must be a directory\)" \
    --from "$H/oci-top-symlink:t"
expect_refused "export: bad config.yaml" "export-bad-yaml.tar:config.yaml:[0-9]+:[0-9]+: yaml syntax error" --from "$H/export-bad-yaml.tar"
expect_refused "split: truncated squashfs" "truncated.squashfs: truncated \(its superblock says [0-9]+ bytes, the file has 200\)" \
    --from "$IMG/meta.tar.xz" --from-rootfs "$H/truncated.squashfs"
t_is "refused images left no container" "$(state)" "$before"
t_is "nothing written to or removed from the host dir" "$(ls -A "$HOST")" victim

t_done
