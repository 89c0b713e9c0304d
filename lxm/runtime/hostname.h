/* hostname: the guest's /etc/hostname and /etc/hosts follow the config's
 * hostname key. The kernel hostname is set by the container's first
 * process (child.c), but the guest's init (systemd, busybox rcS) sets it
 * again from /etc/hostname: so when the key changes, the next start, or
 * the next reboot from inside (the monitor reads the key again, as LXD
 * boots a rebooting container from its current config), writes the new
 * name into those files before init runs. */
#pragma once

#include "config/container.h"

/* The name lxm last wrote into the guest's files, kept beside config.yaml
 * (containers/NAME/hostname.state; create records the one it writes); a
 * container without the file (imported or copied, or older than it)
 * counts as holding its own name (what copy and import write there unless
 * told otherwise). */
#define LXM_HOSTNAME_STATE "hostname.state"

/* Before a start (c stopped and locked) or a reboot (the monitor, between
 * two boots), c->config loaded: when the configured hostname (the name
 * when unset) is not the recorded one, write it into /etc/hostname and the
 * 127.0.1.1 line of /etc/hosts of the stopped rootfs (a private mount of
 * it, not idmapped; resolved inside it, files replaced, never written
 * through), then record it. A change of the key wins over a name the guest
 * wrote there itself; while the key stays, the guest's own edits stay.
 * Best effort: a failure is a warning (the boot goes on, the kernel
 * hostname is still the configured one) and is tried again at the next. */
void lxm_hostname_sync(struct lxm_container *c);

/* Record name as the one in the guest's files of the container whose
 * directory is dir: containers/NAME, or create's staging dir, before it
 * takes the name. */
int lxm_hostname_record(const char *dir, const char *name, struct lxm_error *err);

/* Before a reboot's boot (the monitor): c->config's hostname as
 * config.yaml has it now, nothing else of c->config changed (a key
 * profiles cannot set). When config.yaml cannot be read, a warning, and
 * the hostname stays. */
void lxm_hostname_reload(struct lxm_container *c);
