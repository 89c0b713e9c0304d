#!/usr/bin/env bash
# The Debian-family templates (debian, ubuntu, devuan) and their create
# options, checked through `lxm create --dry-run`: the exact bootstrap
# command a create would run, with nothing made. Only Debian's mirror is
# reachable from this machine, so Ubuntu's and Devuan's bootstraps are
# checked this way only (docs/images.md says so); Debian's real bootstrap
# is debian.sh's.
. "$(dirname "$0")/../lib.sh"
t_setup templates

command -v mmdebstrap >/dev/null || { echo "1..0 # SKIP mmdebstrap is not installed (scripts/install-deps)"; exit 0; }
MM=$(command -v mmdebstrap)
ARCH=$(dpkg --print-architecture)
DEBS=$LXM_CACHE_DIR/debs

# hooks REL: the package cache hooks every mmdebstrap run gets.
hooks() {
    printf -- '--skip=essential/unlink --setup-hook=mkdir -p "$1"/var/cache/apt/archives/ '
    printf -- '--setup-hook=sync-in %s/%s-%s /var/cache/apt/archives/ ' "$DEBS" "$1" "$ARCH"
    printf -- '--customize-hook=sync-out /var/cache/apt/archives %s/%s-%s' "$DEBS" "$1" "$ARCH"
}
dry() { lxm create "$@" --dry-run; }
host_mirror=$(dry x1 -t debian | awk '{print $NF}')
t_like "the host's mirror is found in its apt sources" "$host_mirror" '^https?://'

t_is "debian (default bookworm)" "$(dry x1 -t debian)" \
    "$MM --variant=minbase --include=systemd-sysv,dbus,iproute2,procps,systemd-resolved $(hooks bookworm) bookworm ROOTFS $host_mirror"
t_is "debian bullseye (no systemd-resolved package there)" "$(dry x1 -t debian -r bullseye)" \
    "$MM --variant=minbase --include=systemd-sysv,dbus,iproute2,procps $(hooks bullseye) bullseye ROOTFS $host_mirror"
for rel in trixie sid; do
    t_like "debian $rel" "$(dry x1 -t debian -r $rel)" " $rel ROOTFS $host_mirror\$"
done
t_is "variant, packages and mirror options" \
    "$(dry x1 -t debian -c template.variant=standard -c template.packages=vim,curl -c template.mirror=http://mirror.test/debian)" \
    "$MM --variant=standard --include=systemd-sysv,dbus,iproute2,procps,systemd-resolved,vim,curl $(hooks bookworm) bookworm ROOTFS http://mirror.test/debian"
t_like "--include adds to template.packages" "$(dry x1 -t debian --include htop -c template.packages=vim)" \
    '--include=systemd-sysv,dbus,iproute2,procps,systemd-resolved,vim,htop '

t_is "ubuntu (default noble)" "$(dry u1 -t ubuntu)" \
    "$MM --variant=minbase --components=main,universe --keyring=/usr/share/keyrings/ubuntu-archive-keyring.gpg --include=systemd-sysv,dbus,iproute2,procps,systemd-resolved $(hooks noble) noble ROOTFS http://archive.ubuntu.com/ubuntu"
t_is "ubuntu jammy" "$(dry u1 -t ubuntu -r jammy)" \
    "$MM --variant=minbase --components=main,universe --keyring=/usr/share/keyrings/ubuntu-archive-keyring.gpg --include=systemd-sysv,dbus,iproute2,procps $(hooks jammy) jammy ROOTFS http://archive.ubuntu.com/ubuntu"
t_is "devuan (default daedalus)" "$(dry v1 -t devuan)" \
    "$MM --variant=minbase --keyring=/usr/share/keyrings/devuan-archive-keyring.gpg --include=sysvinit-core,ifupdown,udhcpc,iproute2,procps $(hooks daedalus) daedalus ROOTFS http://deb.devuan.org/merged"

t_is "debian with sysvinit" "$(dry s1 -t debian -c template.init=sysvinit)" \
    "$MM --variant=minbase --include=iproute2,procps,sysvinit-core,ifupdown,udhcpc $(hooks bookworm) bookworm ROOTFS $host_mirror"
t_is "debian with openrc" "$(dry s1 -t debian -c template.init=openrc)" \
    "$MM --variant=minbase --include=iproute2,procps,sysvinit-core,openrc,ifupdown,udhcpc $(hooks bookworm) bookworm ROOTFS $host_mirror"
t_is "template.init=systemd is the template's own" "$(dry s1 -t debian -c template.init=systemd)" "$(dry s1 -t debian)"

# Mirrors from the global config; -c wins over them.
cat >>"$T_ROOT/etc/lxm/lxm.yaml" <<'EOF'
mirrors:
  ubuntu: http://ubuntu.mirror.test/ubuntu
  devuan: https://devuan.mirror.test/merged
EOF
t_like "mirrors.ubuntu of lxm.yaml" "$(dry u1 -t ubuntu)" " noble ROOTFS http://ubuntu.mirror.test/ubuntu\$"
t_like "mirrors.devuan of lxm.yaml" "$(dry v1 -t devuan)" " daedalus ROOTFS https://devuan.mirror.test/merged\$"
t_like "-c template.mirror over lxm.yaml" "$(dry u1 -t ubuntu -c template.mirror=http://other.test/u)" " ROOTFS http://other.test/u\$"
t_like "debian keeps the host's mirror" "$(dry x1 -t debian)" " ROOTFS $host_mirror\$"
printf 'mirrors:\n  ubuntu: ftp://nope\n' >"$T_ROOT/etc/lxm/bad.yaml"
cp "$T_ROOT/etc/lxm/lxm.yaml" "$T_ROOT/etc/lxm/good.yaml"
cp "$T_ROOT/etc/lxm/bad.yaml" "$T_ROOT/etc/lxm/lxm.yaml"
out=$(dry u1 -t ubuntu 2>&1); rc=$?
t_is "a bad mirror in lxm.yaml fails" "$rc" 1
t_like "with FILE:LINE:COL" "$out" "lxm\.yaml:2:11: .*mirrors\.ubuntu"
cp "$T_ROOT/etc/lxm/good.yaml" "$T_ROOT/etc/lxm/lxm.yaml"

# Bad options: one line each, nothing made.
bad() { # DESC PATTERN ARGS...
    local desc=$1 pat=$2 out rc
    shift 2
    out=$(lxm create "$@" 2>&1); rc=$?
    t_is "$desc: exit 1" "$rc" 1
    t_like "$desc: explained" "$out" "$pat"
}
bad "unknown variant" "^lxm: error: -c template\.variant=tiny: 'tiny' is not a variant" b1 -t debian -c template.variant=tiny --dry-run
bad "unknown option" "^lxm: error: -c template\.flavour=x: unknown template option \(variant, packages, mirror, init\)" b1 -t debian -c template.flavour=x
bad "unknown init" "^lxm: error: -c template\.init=upstart: template 'debian' boots no init 'upstart' \(use systemd, sysvinit, openrc\)$" b1 -t debian -c template.init=upstart --dry-run
bad "bad package name" "^lxm: error: -c template\.packages=vim,Bad_Pkg: 'Bad_Pkg' is not a package name" b1 -t debian -c template.packages=vim,Bad_Pkg
bad "bad mirror" "^lxm: error: -c template\.mirror=ftp://x: 'ftp://x' is not a mirror" b1 -t debian -c template.mirror=ftp://x
bad "an option busybox has no use for" "template 'busybox' does not bootstrap packages" b1 -t busybox -c template.variant=standard
bad "unknown release" "^lxm: error: .*release 'hirsute'" b1 -t ubuntu -r hirsute --dry-run
bad "template options with --image" "not with --image" b1 --image nosuch -c template.variant=standard
if [ ! -e /usr/share/keyrings/ubuntu-archive-keyring.gpg ]; then
    bad "ubuntu without its keyring" "^lxm: error: template 'ubuntu' needs the keyring /usr/share/keyrings/ubuntu-archive-keyring\.gpg \(install the distribution's keyring package, e\.g\. ubuntu-keyring\)$" b1 -t ubuntu
else
    t_skip "ubuntu without its keyring" "ubuntu-keyring is installed here"
fi
t_is "no container (nor a staged one) was made by any of it" "$(ls -A "$T_ROOT/var/lib/lxm/containers" 2>/dev/null)" ""
t_is "no image either" "$(ls "$T_ROOT/var/lib/lxm/images" 2>/dev/null)" ""
t_ok "no package cache was made by a dry run" test ! -e "$DEBS/noble-$ARCH"

t_like "template list shows the three" "$(lxm template list)" 'devuan.*'
t_like "  ubuntu too" "$(lxm template list)" 'ubuntu'
t_done
