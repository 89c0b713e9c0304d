#!/usr/bin/env bash
# The Debian package (debian/): dpkg-buildpackage -us -uc -b in a copy of
# the tree (the source tree is never written to), then the .deb's contents
# (binary, YAML, man pages, completion, docs, whatever make install puts
# in), lintian with no error, and the postrm's purge in a private mount
# namespace. The package is never installed on this machine.
. "$(dirname "$0")/../lib.sh"
t_setup deb

"$T_SRC/scripts/install-deps" debhelper lintian fakeroot >/dev/null ||
    { echo "Bail out! cannot install debhelper and lintian"; exit 1; }

WORK=$T_ROOT/build
SRC=$WORK/lxm
mkdir -p "$SRC"
# The tree as it is (committed or not), without build products or git.
tar -C "$T_SRC" --exclude=./_build --exclude=./.git --exclude=./debian/lxm \
    --exclude=./autom4te.cache -cf - . | tar -C "$SRC" -xf -
before=$(cd "$T_SRC" && git status --porcelain 2>/dev/null | md5sum)

# nocheck: the unit tests run in their own stage; noopt and noautodbgsym
# keep the build short (the package's files are the same).
t0=$SECONDS
(cd "$SRC" && DEB_BUILD_OPTIONS="nocheck noopt noautodbgsym parallel=$(nproc)" \
    dpkg-buildpackage -us -uc -b) >"$WORK/build.log" 2>&1
rc=$?
t_is "dpkg-buildpackage -us -uc -b exits 0 ($((SECONDS - t0))s)" "$rc" 0
[ "$rc" = 0 ] || tail -30 "$WORK/build.log" | sed 's/^/# /'
t_is "the source tree is unchanged" "$(cd "$T_SRC" && git status --porcelain 2>/dev/null | md5sum)" "$before"

debs=("$WORK"/lxm_*.deb)
DEB=${debs[0]}
t_ok "lxm_*.deb was built" test -f "$DEB"
[ -f "$DEB" ] || { t_done; exit 1; }
version=$(sed -n 's/^AC_INIT(\[lxm\], \[\([^]]*\)\].*/\1/p' "$T_SRC/configure.ac")
t_like "its version is configure.ac's ($version)" "$(dpkg-deb -f "$DEB" Version)" "^$version"

list=$(dpkg-deb -c "$DEB" | awk '{print $NF}' | sed 's#^\./#/#')
has() { printf '%s\n' "$list" | grep -qx -- "$1"; }
t_ok "binary in /usr/sbin" has /usr/sbin/lxm
t_ok "man page lxm(1)" has /usr/share/man/man1/lxm.1.gz
t_ok "man page lxm.yaml(5)" has /usr/share/man/man5/lxm.yaml.5.gz
t_ok "bash completion" has /usr/share/bash-completion/completions/lxm
t_ok "zsh completion" has /usr/share/zsh/vendor-completions/_lxm
t_ok "copyright" has /usr/share/doc/lxm/copyright
t_ok "README in the docs" has /usr/share/doc/lxm/README.md.gz
missing=
for f in "$T_SRC"/templates/*.yaml "$T_SRC"/profiles/*.yaml; do
    rel=${f#"$T_SRC"/}
    has "/usr/share/lxm/$rel" || missing="$missing $rel"
done
t_is "every template and profile in /usr/share/lxm" "$missing" ""
# Whatever else make install installs (a systemd unit, ...) is in it too.
inst=$WORK/inst
make -C "$SRC" install DESTDIR="$inst" >/dev/null 2>&1
missing=
while IFS= read -r f; do
    f=${f#"$inst"}
    case "$f" in
        /usr/share/man/*) f=$f.gz ;;
        /usr/lib/systemd/system/*) f=${f#/usr} ;; # debian/rules moves units to /lib
    esac
    has "$f" || missing="$missing $f"
done < <(find "$inst" -type f)
t_is "everything make install installs is in the package" "$missing" ""

# The packaged binary finds the packaged YAML.
x=$WORK/x
dpkg-deb -x "$DEB" "$x"
t_like "packaged binary runs" "$("$x/usr/sbin/lxm" version)" "^lxm $version$"
t_ok "it looks for templates in /usr/share/lxm" grep -aq /usr/share/lxm/templates "$x/usr/sbin/lxm"
t_like "depends on the dlopened libraries" "$(dpkg-deb -f "$DEB" Depends)" "libarchive13.*libnftables1"

# lintian: no error (warnings are listed).
lintian -I --pedantic --fail-on error "$DEB" >"$WORK/lintian.log" 2>&1
rc=$?
t_is "lintian --fail-on error exits 0" "$rc" 0
t_is "lintian reports no error" "$(grep '^E:' "$WORK/lintian.log")" ""
grep -E '^[EWIP]:' "$WORK/lintian.log" | sed 's/^/# lintian: /'

# The postrm's purge, on a private view of /var and /etc: it removes the
# logs, keeps and names the containers, images and settings.
ctl=$WORK/ctl
dpkg-deb -e "$DEB" "$ctl"
t_ok "postrm is shipped" test -x "$ctl/postrm"
out=$(unshare -m --propagation private sh -c '
    for d in /var/log /var/lib /var/cache /etc; do mount -t tmpfs lxm-deb-test "$d" || exit 1; done
    mkdir -p /var/log/lxm/c1 /var/lib/lxm/containers/c1 /var/cache/lxm/images
    sh "$1" purge || exit 1
    [ ! -e /var/log/lxm ] && echo "logs removed"
    [ -d /var/lib/lxm/containers/c1 ] && echo "containers kept"' sh "$ctl/postrm" 2>&1)
t_like "purge says what it keeps" "$out" "kept in: /var/lib/lxm /var/cache/lxm$"
t_like "purge removes the logs" "$out" "logs removed"
t_like "purge keeps the containers" "$out" "containers kept"
t_done
