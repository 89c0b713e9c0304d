/* monitor internals: what monitor.c (setup, boots, teardown, the loop) and
 * monitor-io.c (console and socket clients) share. The monitor is one
 * thread serving every peer; none of them may ever block it, so every fd
 * towards a peer is non-blocking and what a peer cannot take at once waits
 * in a bounded queue. Not for other modules. */
#pragma once

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/state.h"
#include "runtime/runtime-internal.h"
#include "util/io.h"

#define MAX_CLIENTS 32
/* Console output a client may fall behind by before it is dropped. */
#define CLIENT_OUT_MAX (64 * 1024)
/* Recent console output, replayed to each new console client. */
#define CONSOLE_RING_SIZE (16 * 1024)
/* Console input waiting for the guest to read its console. */
#define CONSOLE_IN_MAX (16 * 1024)
/* A connection must complete its request line within this. */
#define REQUEST_TIMEOUT_MS 5000

/* A byte queue of fixed capacity (a ring). */
struct byte_queue {
    char *buf;
    size_t cap, head, len;
};

/* CLIENT_WAIT: a `wait-ready` request, answered "ready\n" when the
 * container is (at once if it is). */
enum client_kind { CLIENT_REQUEST, CLIENT_STOP, CLIENT_CONSOLE, CLIENT_WAIT };

/* A request line's room, with its NUL (each slot's is in monitor-io.c,
 * apart from struct monitor: see there). */
#define CLIENT_LINE_MAX 128

struct client {
    int fd;                 /* -1: free slot */
    enum client_kind kind;
    int64_t last_active;    /* monotonic ms of the connect or its last input */
    size_t len;             /* of the request line being read */
    struct byte_queue out;  /* what the client has not taken yet */
};

/* Readiness of the current boot (monitor-ready.c). */
struct monitor_ready {
    int notify_fd;           /* run/NAME/notify, datagrams from the guest; -1 if none */
    int watch_fd;            /* address/route events of the container's netns; -1 */
    bool want_notify;        /* this boot waits for READY=1 */
    bool notified;           /* READY=1 seen this boot */
    bool leased;             /* every DHCP interface has its lease */
    bool ready;
    bool stopping;           /* STOPPING=1 seen this boot: the guest shuts down */
    int64_t begin_ms;        /* monotonic ms the boot began (start or reboot) */
    int64_t boot_ms;         /* begin to ready, -1 until ready */
    int64_t notified_ms;     /* begin to READY=1, -1 */
    int64_t leased_ms;       /* begin to the last lease, -1 (0: none wanted) */
    char status[LXM_READY_STATUS_MAX];
};

struct monitor {
    struct lxm_container *c;
    struct lxm_config *cfg;
    struct lxm_cgroup *cg;
    struct lxm_network *net;
    struct lxm_seccomp *seccomp;
    char *apparmor_profile;
    bool own_mntns;
    int host_mntns;          /* the mount namespace we had before own_mntns, -1 */
    char *stage_dir;
    int rootfd;              /* the first boot's rootfs, made during the setup; -1 */
    struct lxm_userns_helper userns_helper; /* its user ns's, reaped after the answer */
    int layers[2];           /* the mounts it was made from, closed after the answer; -1 */
    uint64_t starttime;      /* our own, recorded in the state file */
    int listen_fd;
    int master_fd;
    int slave_fd;
    int log_fd;
    off_t log_size;
    int timer_fd;            /* stop timeout */
    int boot_timer_fd;       /* delayed reboot (reboot loop back-off) */
    int oom_fd;              /* memory events of the cgroup, -1 if none */
    short oom_events;
    int64_t oom_kills;       /* last count written to lxm.log */
    int64_t oom_recheck_at;  /* monotonic ms of the next look, 0 = none */
    int oom_rechecks;        /* looks left after an event */
    int pidfd;               /* init of this boot; -1 between boots */
    pid_t init_pid;
    uint64_t init_starttime;
    int64_t started_at;
    int64_t boot_ms;         /* monotonic ms when this boot's init exec'd */
    int fast_reboots;        /* reboots in a row, each soon after its boot */
    bool reboot_pending;     /* waiting on boot_timer_fd */
    bool stopping;
    struct monitor_ready ready;
    struct byte_queue ring;        /* recent console output */
    struct byte_queue console_in;  /* client input for the guest */
    struct client clients[MAX_CLIENTS];
    int uffd;                /* keeps fault-around off (monitor-mem.c); -1 */
    /* The hand-over between the full monitor and the idle one
     * (monitor-handover.c, monitor-idle.c). */
    int idle_fd;             /* the idle binary, opened at the start; -1: none */
    int exe_fd;              /* idle: the lxm binary to go back to; -1 */
    int frozen_fd;           /* idle: freezer.state or cgroup.events; -1 */
    bool idle_failed;        /* full: the idle form could not be run */
    bool need_boot_setup;    /* full, resumed: userns/seccomp/AppArmor before a boot */
    int64_t idle_since_ms;   /* monotonic ms of the last hand-over to the idle form */
    int quick_returns;       /* hand-backs in a row, each soon after the hand-over */
    bool stop_pending;       /* idle: a stop request for the full form */
    bool stop_kill;
    int64_t stop_ms;
    /* Last: the idle monitor never touches its ~5 KiB (the id map), and
     * a page of struct monitor costs it only once written. */
    struct lxm_userns userns;
};

enum lxm_state monitor_state(struct monitor *m);
void monitor_begin_stop(struct monitor *m, int64_t timeout_ms, bool kill);
/* Rewrite the state file (no boot under way): after a change of what a
 * state request would answer, before anyone is told of it. */
void monitor_record_state(struct monitor *m);

/* monitor-io.c */
void monitor_io_init(struct monitor *m);
void monitor_io_free(struct monitor *m);
/* Append the pollfds of the console master and the clients to pfd (room
 * for 1 + MAX_CLIENTS), in the order monitor_io_events() expects. */
int monitor_io_pollfds(struct monitor *m, struct pollfd *pfd);
void monitor_io_events(struct monitor *m, const struct pollfd *pfd, int n);
/* Poll timeout (ms, -1 = none) until the next idle request expires;
 * drops the ones that have. */
int monitor_io_expire(struct monitor *m);
void monitor_accept(struct monitor *m);
/* Read what the console has (init's last words too). */
void monitor_read_console(struct monitor *m);
/* A new console master for this boot. */
void monitor_take_console(struct monitor *m, int master);
/* Move DIR/NAME to DIR/NAME.1 and open a new DIR/NAME; -1 on failure. */
int monitor_log_rotate(const char *dir, const char *name);
/* One line to every client waiting on a stop. */
void monitor_notify_stop(struct monitor *m, const char *line);

/* The request line of client slot (CLIENT_LINE_MAX bytes, one store per
 * process), NULL without memory for it. */
char *monitor_client_line(struct monitor *m, int slot);

/* One line to every client waiting for readiness; they are dropped. */
void monitor_notify_ready(struct monitor *m);

/* Hand-over state of the console and the clients: written to and read
 * from fd (a memfd), in the order of monitor_io_fds(). */
int monitor_io_save(const struct monitor *m, int fd);
int monitor_io_load(struct monitor *m, int fd);
/* The fds of the console and the clients (-1 for a free slot): room for
 * MONITOR_IO_FDS. */
#define MONITOR_IO_FDS (3 + MAX_CLIENTS)
int monitor_io_fds(const struct monitor *m, int *fds);

/* monitor-handover.c: what the full monitor and the idle one pass to each
 * other through exec: the state of struct monitor that outlives a boot
 * step, in a memfd, and the fds it names, kept open across the exec. */
struct monitor_names {
    char *name;
    char *log_dir;
    char *root;              /* --root, "" for none */
    int log_level;
};
/* The environment variable that gives the idle monitor the fd of the
 * saved state (argv is only its title). */
#define LXM_MONITOR_HANDOVER_ENV "LXM_MONITOR_HANDOVER"
/* The memfd (not close-on-exec, at offset 0), with every fd it names made
 * inheritable; -errno. */
int monitor_handover_save(const struct monitor *m, const struct monitor_names *names);
/* The exec failed: close-on-exec again, the memfd closed. */
void monitor_handover_abort(const struct monitor *m, int memfd);
/* Fill m (and names, each string malloc'd) from the memfd, which is
 * closed; its fds are made close-on-exec again. */
int monitor_handover_load(struct monitor *m, struct monitor_names *names, int memfd);

/* monitor-exec.c: the full monitor's side of the hand-over. */
/* The container is up and nothing is under way that needs the full
 * monitor: the idle one can take over. */
bool monitor_may_idle(struct monitor *m);
/* Open the idle binary (m->idle_fd) when the monitor starts: the one of
 * the same build, whatever an upgrade puts on disk later. */
void monitor_open_idle(struct monitor *m);
/* Exec the idle monitor; returns only if that failed (m->idle_failed,
 * not tried again). */
void monitor_go_idle(struct monitor *m);
/* The full monitor again, from the idle one's memfd: m as it was, with
 * what the idle one does not keep (the config, the cgroup, the network)
 * made again from the container's config. */
int monitor_resume_load(struct monitor *m, int memfd, struct lxm_error *err);
/* monitor.c: the id map, the seccomp program and the AppArmor profile a
 * boot needs; part of monitor_setup, and again before a resumed monitor
 * reboots the guest. */
int monitor_boot_policy(struct monitor *m, struct lxm_error *err);

/* monitor-mem.c: give back what the boot left resident, and keep what
 * the idle loop touches to the pages it touches. */
void monitor_trim_memory(struct monitor *m);
/* Fault-around on again: a boot or the teardown runs a lot of code. */
void monitor_untrim(struct monitor *m);

/* monitor-ready.c */
void monitor_ready_init(struct monitor *m);
/* The notify socket (run/NAME/notify), owned by the container's root. */
int monitor_ready_setup(struct monitor *m, struct lxm_error *err);
/* A detached bind mount of the notify socket for init to attach at
 * LXM_NOTIFY_SOCKET; -1 when there is none. */
int monitor_ready_mount_fd(struct monitor *m);
/* Init of a new boot has exec'd: arm readiness for it. */
void monitor_ready_boot(struct monitor *m);
/* Init is gone (a reboot follows or the end): not ready; begin_ms of
 * the next boot is now. */
void monitor_ready_reset(struct monitor *m);
/* pollfds of the notify socket and the lease watch (2 entries). */
void monitor_ready_pollfds(struct monitor *m, struct pollfd *pfd);
void monitor_ready_events(struct monitor *m, const struct pollfd *pfd);
void monitor_ready_free(struct monitor *m);

/* monitor-notify.c: read what init sent to the notify socket (a bounded
 * number of datagrams per call). */
void monitor_notify_read(struct monitor *m);
