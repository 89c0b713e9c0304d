#!/usr/bin/env bash
# Image servers: `lxm remote`, `lxm image list REMOTE:`, `lxm image copy`,
# `lxm create --image REMOTE:ALIAS`, against a simplestreams server this
# test runs on 127.0.0.1 (progs/mkstream.py) with images it builds from a
# busybox rootfs and from the cached Debian rootfs, as root.tar.xz and as
# squashfs. Every failure (sha256 mismatch, truncated file, HTTP error,
# missing architecture, server down) is one clear error that leaves
# nothing in the store and no container.
. "$(dirname "$0")/../lib.sh"
t_setup remote
t_storage dir

for tool in python3 gensquashfs xz; do
    command -v $tool >/dev/null || { echo "1..0 # SKIP $tool is not installed (scripts/install-deps --tests)"; exit 0; }
done
DEB_CACHE=${LXM_CACHE_DIR:-/var/cache/lxm-test}
export LXM_CACHE_DIR=$T_ROOT/var/cache/lxm # the store and downloads of this test alone
ARCH=$(dpkg --print-architecture)
W=$(mktemp -d /tmp/lxm-it-remote.XXXXXX)
t_on_exit "rm -rf '$W'"
PROGS=$(dirname "$0")/progs
CT=$T_ROOT/var/lib/lxm/containers

# ---- images ------------------------------------------------------------------------
t_ok "a busybox container to take a rootfs from" lxm create src -t busybox
mkdir -p "$W/meta/templates"
cat >"$W/meta/metadata.yaml" <<EOF
architecture: $(uname -m)
creation_date: 1764720000
properties:
  os: busybox
  release: "1"
  description: busybox test image
templates:
  /etc/hostname:
    when: [create, copy]
    template: hostname.tpl
EOF
echo '{{ container.name }}' >"$W/meta/templates/hostname.tpl"
tar -C "$W/meta" -cJf "$W/lxd.tar.xz" metadata.yaml templates
tar -C "$CT/src/rootfs" --numeric-owner -cJf "$W/bb.tar.xz" .
gensquashfs -q -D "$CT/src/rootfs" -c xz "$W/bb.squashfs" >/dev/null
gensquashfs -q -D "$CT/src/rootfs" -c gzip "$W/bb-gz.squashfs" >/dev/null # other bytes, same tree
half=$(( $(stat -c %s "$W/bb.tar.xz") / 2 ))
head -c "$half" "$W/bb.tar.xz" >"$W/bb-half.tar.xz"
t_ok "source container deleted" lxm delete src

# The default debian template's cache file (not a sysvinit/OpenRC one),
# as lxm names it; only when it is there (debian.sh makes it).
deb_tar=$(LXM_CACHE_DIR=$DEB_CACHE t_debian_tarball)
# The Debian forms take a minute or two to make: made once per cached
# tarball and kept beside it (the cache is shared across runs).
if [ -n "$deb_tar" ]; then
    DC=$DEB_CACHE/remote-test
    key=$(basename "$deb_tar" .tar.zst)
    if [ ! -s "$DC/$key.tar.xz" ] || [ ! -s "$DC/$key.squashfs" ]; then
        mkdir -p "$DC" "$W/deb"
        rm -f "$DC"/debian-* # older tarballs' forms
        tar -C "$W/deb" --numeric-owner -xf "$deb_tar" &&
            tar -C "$W/deb" --numeric-owner -cf - . | xz -T2 -0 >"$DC/.$key.tar.xz" &&
            gensquashfs -q -j 2 -D "$W/deb" -c gzip "$DC/.$key.squashfs" >/dev/null &&
            mv "$DC/.$key.tar.xz" "$DC/$key.tar.xz" && mv "$DC/.$key.squashfs" "$DC/$key.squashfs"
        rm -rf "$W/deb" "$DC/.$key".*
    fi
    ln -s "$DC/$key.tar.xz" "$W/deb.tar.xz"
    ln -s "$DC/$key.squashfs" "$W/deb.squashfs"
fi

other=arm64; [ "$ARCH" = arm64 ] && other=amd64
python3 "$PROGS/mkstream.py" build "$W/srv" <<EOF
{"products": [
 {"name": "busybox:1:$ARCH:default", "aliases": "busybox/1/default,busybox/1,busybox", "arch": "$ARCH",
  "os": "busybox", "release": "1", "variant": "default",
  "versions": {"20261201_00:00": {"meta": "$W/lxd.tar.xz", "rootfs": "$W/bb-half.tar.xz"},
               "20261203_00:00": {"meta": "$W/lxd.tar.xz", "rootfs": "$W/bb.tar.xz"}}},
 {"name": "busybox:sq:$ARCH:default", "aliases": "busybox-sq", "arch": "$ARCH",
  "os": "busybox", "release": "sq", "variant": "default",
  "versions": {"20261203_00:00": {"meta": "$W/lxd.tar.xz", "rootfs": "$W/bb.squashfs", "rootfs_ftype": "squashfs"}}},
 {"name": "only:1:$other:default", "aliases": "other-arch-only", "arch": "$other",
  "os": "busybox", "release": "1", "variant": "default",
  "versions": {"20261203_00:00": {"meta": "$W/lxd.tar.xz", "rootfs": "$W/bb.tar.xz"}}},
 {"name": "badsha:1:$ARCH:default", "aliases": "badsha", "arch": "$ARCH",
  "os": "busybox", "release": "1", "variant": "default",
  "versions": {"20261203_00:00": {"meta": "$W/lxd.tar.xz", "rootfs": "$W/bb.squashfs", "rootfs_ftype": "squashfs",
               "override": {"sha256": "$(printf '%064d' 1)"}}}},
 {"name": "short:1:$ARCH:default", "aliases": "truncated", "arch": "$ARCH",
  "os": "busybox", "release": "1", "variant": "default",
  "versions": {"20261203_00:00": {"meta": "$W/lxd.tar.xz", "rootfs": "$W/bb-gz.squashfs", "rootfs_ftype": "squashfs",
               "override": {"size": $(( $(stat -c %s "$W/bb-gz.squashfs") + 4096 ))}}}},
 {"name": "gone:1:$ARCH:default", "aliases": "gone", "arch": "$ARCH",
  "os": "busybox", "release": "1", "variant": "default",
  "versions": {"20261203_00:00": {"meta": "$W/lxd.tar.xz", "rootfs": null}}}
 $( [ -n "$deb_tar" ] && cat <<EOT
 ,{"name": "debian:bookworm:$ARCH:default", "aliases": "debian/bookworm/default,debian/bookworm", "arch": "$ARCH",
  "os": "debian", "release": "bookworm", "variant": "default",
  "versions": {"20261203_00:00": {"meta": "$W/lxd.tar.xz", "rootfs": "$W/deb.tar.xz"}}},
 {"name": "debian:bookworm:$ARCH:sq", "aliases": "debian/bookworm/sq", "arch": "$ARCH",
  "os": "debian", "release": "bookworm", "variant": "sq",
  "versions": {"20261203_00:00": {"meta": "$W/lxd.tar.xz", "rootfs": "$W/deb.squashfs", "rootfs_ftype": "squashfs"}}}
EOT
)
]}
EOF
t_is "the stream is built" "$?" 0

SERVER=
serve() {
    rm -f "$W/port"
    python3 "$PROGS/mkstream.py" serve "$W/srv" "$W/port" 2>"$W/server.err" &
    SERVER=$!
    t_on_exit "kill $SERVER 2>/dev/null"
    t_wait 10 test -s "$W/port"
}
unserve() { kill "$SERVER" && wait "$SERVER" 2>/dev/null; }
serve || { echo "Bail out! the test's image server did not start: $(cat "$W/server.err")"; exit 1; }
URL=http://127.0.0.1:$(cat "$W/port")

# ---- remotes -----------------------------------------------------------------------
out=$(lxm remote list)
t_like "the built-in remote 'images'" "$out" '^images +https://images\.linuxcontainers\.org +simplestreams'
t_ok "remote add local" lxm remote add local "$URL"
t_like "remote list shows it" "$(lxm remote list)" "local +$URL +simplestreams"
t_is "remote list --format json" "$(lxm remote list --format json | jq -r '.[] | select(.name=="local") | .url')" "$URL"
out=$(lxm remote add local "$URL" 2>&1); rc=$?
t_is "a second 'local' is refused" "$rc" 1
t_like "and says it exists" "$out" "^lxm: error: remote 'local' exists"
out=$(lxm remote add bad ftp://x 2>&1); rc=$?
t_is "an ftp URL is refused" "$rc" 1
t_like "and explained" "$out" "must be http://HOST... or https://HOST..."
out=$(lxm remote add Bad/Name "$URL" 2>&1); rc=$?
t_is "a bad remote name is refused" "$rc" 1
out=$(lxm remote add x "$URL" --protocol lxd 2>&1); rc=$?
t_like "another protocol is refused" "$out" "lxm speaks simplestreams"
out=$(lxm remote remove nosuch 2>&1); rc=$?
t_is "removing an unknown remote fails" "$rc" 1
t_like "and names it" "$out" "no remote 'nosuch'"
t_ok "remote add tmp + remove tmp" sh -c "'$LXM_BIN' --root '$T_ROOT' remote add tmp '$URL' && '$LXM_BIN' --root '$T_ROOT' remote remove tmp"
t_fail "tmp is gone" sh -c "'$LXM_BIN' --root '$T_ROOT' remote list | grep -q '^tmp '"

# ---- listing -----------------------------------------------------------------------
out=$(lxm image list local:)
t_like "image list local: shows busybox" "$out" "busybox/1/default,busybox/1,busybox +busybox +1 +default +$ARCH +20261203_00:00 +root\.tar\.xz"
t_like "the squashfs one" "$out" "busybox-sq .* squashfs"
t_fail "not the other architecture's" grep -q other-arch-only <<<"$out"
t_like "--arch all shows it" "$(lxm image list local: --arch all)" "other-arch-only .* $other"
out=$(lxm image list local:busybox-sq --format json)
t_is "a filter keeps one product" "$(jq length <<<"$out")" 1
t_is "JSON sizes are numbers" "$(jq '.[0].size | type' <<<"$out")" '"number"'
out=$(lxm image list nosuch: 2>&1); rc=$?
t_is "an unknown remote is a usage error" "$rc" 2

# ---- copy and create ---------------------------------------------------------------
store_n() { lxm image list --format json | jq length; }
state() { (cd "$T_ROOT" && find var/lib/lxm var/cache/lxm -not -path '*/.lock' -not -name '*.lock' 2>/dev/null | sort); }
t_ok "image copy local:busybox --alias bb" lxm image copy local:busybox --alias bb
info=$(lxm image info bb --format json)
t_like "its source names remote, alias, product and version" "$(jq -r .source <<<"$info")" \
    "^local:busybox \(busybox:1:$ARCH:default 20261203_00:00\)$"
t_is "the newest version (not the older half file)" "$(jq -r .template <<<"$info")" busybox
t_is "no download left behind" "$(ls -A "$LXM_CACHE_DIR/downloads")" ""
out=$(lxm image copy local:busybox 2>&1)
t_like "a second copy downloads nothing" "$out" "^already had image"

unserve
t_ok "with the server down, create --image local:busybox uses the store" lxm create c1 --image local:busybox
t_ok "c1 starts" lxm start c1
t_is "hostname written at create" "$(lxm attach c1 -- cat /etc/hostname)" c1
t_ok "c1 stopped" lxm stop -k c1
before=$(state)
out=$(lxm create c2 --image local:busybox-sq 2>&1); rc=$?
t_is "an image never copied needs the server: create fails" "$rc" 1
t_like "and says the server is unreachable" "$out" "^lxm: error: local:busybox-sq: GET $URL/streams/v1/index\.json: "
t_is "no container, nothing in the store" "$(state)" "$before"
serve || { echo "Bail out! the server did not restart"; exit 1; }
URL2=http://127.0.0.1:$(cat "$W/port")
t_ok "remote moved to the new port" sh -c "'$LXM_BIN' --root '$T_ROOT' remote remove local && '$LXM_BIN' --root '$T_ROOT' remote add local '$URL2'"
URL=$URL2

t_ok "create --image local:busybox-sq (squashfs)" lxm create c2 --image local:busybox-sq
t_ok "c2 starts" lxm start c2
t_is "c2 runs busybox" "$(lxm attach c2 -- sh -c 'echo $((6*7))')" 42
t_ok "c2 stopped" lxm stop -k c2
t_like "c2's image came from local:busybox-sq" \
    "$(lxm image list --format json | jq -r '.[].source')" "local:busybox-sq \(busybox:sq:$ARCH:default"

# A stale partial download of the wrong bytes: the resume is refused by
# the server (no ranges), the file is fetched whole and checked.
sum=$(jq -r '.products["busybox:1:'"$ARCH"':default"].versions["20261203_00:00"].items["root.tar.xz"].sha256' "$W/srv/streams/v1/images.json")
mkdir -p "$LXM_CACHE_DIR/downloads"
head -c 1000 /dev/urandom >"$LXM_CACHE_DIR/downloads/$sum.part"
t_ok "c1 deleted, then its image" sh -c "'$LXM_BIN' --root '$T_ROOT' delete c1 && '$LXM_BIN' --root '$T_ROOT' image delete bb"
t_ok "copy with a stale partial download" lxm image copy local:busybox --alias bb2
t_ok "and the image is whole (a container from it runs)" sh -c "'$LXM_BIN' --root '$T_ROOT' create c3 --image bb2 && '$LXM_BIN' --root '$T_ROOT' start c3 && '$LXM_BIN' --root '$T_ROOT' attach c3 -- true"
lxm stop -k c3 >/dev/null 2>&1

# ---- failures ----------------------------------------------------------------------
fails() { # DESC REF PATTERN
    local before out rc
    before=$(state)
    out=$(lxm image copy "$2" 2>&1); rc=$?
    t_is "$1: exit 1" "$rc" 1
    t_like "$1: one clear line" "$out" "$3"
    t_is "$1: one line only" "$(printf '%s\n' "$out" | wc -l)" 1
    t_is "$1: nothing new in the store, no container" "$(state | grep -v '/downloads')" "$(grep -v '/downloads' <<<"$before")"
    out=$(lxm create bad1 --image "$2" 2>&1); rc=$?
    t_is "$1: create fails too" "$rc" 1
    t_ok "$1: and leaves no container" test ! -e "$CT/bad1"
}
fails "sha256 mismatch" local:badsha "^lxm: error: local:badsha: $URL/images/badsha/1/$ARCH/default/20261203_00:00/root\.squashfs: sha256 mismatch"
t_is "the wrong file is not kept for a resume" "$(ls "$LXM_CACHE_DIR/downloads" | grep -c "^0*1\.")" 0
fails "truncated download" local:truncated "^lxm: error: local:truncated: GET .*root\.squashfs: truncated \([0-9]+ of [0-9]+ bytes\)$"
fails "HTTP 404" local:gone "^lxm: error: local:gone: GET $URL/images/gone/.*/root\.tar\.xz: HTTP 404$"
fails "missing architecture" local:other-arch-only "^lxm: error: local:other-arch-only: no image 'other-arch-only' for $ARCH on $URL \(there is: $other\)$"
fails "unknown alias" local:nosuch "^lxm: error: local:nosuch: no image 'nosuch' on $URL$"
out=$(lxm image copy local:busybox --alias 'bad alias' 2>&1); rc=$?
t_is "a bad --alias is refused before any download" "$rc" 1

# ---- Debian, booted ------------------------------------------------------------------
if [ -z "$deb_tar" ]; then
    t_skip "Debian from the image server" "no cached Debian image in $DEB_CACHE (debian.sh makes it)"
else
    for v in bookworm bookworm/sq; do
        n=deb${v#bookworm}; n=${n//\//}
        t_ok "create $n --image local:debian/$v" lxm create "$n" --image "local:debian/$v" -c network.eth0.type=none
        t_ok "$n starts" lxm start "$n"
        bus_up() { [ -n "$(lxm attach "$1" -- systemctl is-system-running 2>/dev/null)" ]; }
        t_wait 60 bus_up "$n"
        st=$(timeout 120 "$LXM_BIN" --root "$T_ROOT" attach "$n" -- systemctl is-system-running --wait 2>&1)
        t_like "$n boots systemd to running" "$st" '^(running|degraded)$'
        t_is "$n: no failed unit" "$(lxm attach "$n" -- systemctl --failed --no-legend --plain | wc -l)" 0
        t_is "$n: its own hostname" "$(lxm attach "$n" -- hostname)" "$n"
        t_ok "$n stops" lxm stop "$n"
    done
fi
t_done
