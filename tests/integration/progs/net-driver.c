/* net-driver: exposes the link layer of net/ (the parts lxm's own start
 * path does not use: moves, renames, master/MTU/MAC changes) to
 * tests/integration/net.sh.
 *
 *   net-driver links TAG PID
 *       in the host: bridge lxmdTAG, veth xaTAG/xbTAG (no netns), master,
 *       MTU 1280, MAC 02:00:00:00:00:01 on xbTAG; move xbTAG into the netns
 *       of PID by fd, rename it eth7 there, up; a second pair xcTAG/xdTAG
 *       moved by pid; prints what it sees, deletes what it made. Exit 0
 *       when every step did what it should.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lxm/net/link.h"
#include "lxm/net/netlink.h"
#include "util/cleanup.h"

static int failed;

static void step(const char *what, int r, const struct lxm_error *err)
{
    printf("%s %s%s%s\n", r < 0 ? "FAIL" : "ok", what, r < 0 ? ": " : "", r < 0 ? err->msg : "");
    failed |= r < 0;
}

static void expect(const char *what, int cond)
{
    printf("%s %s\n", cond ? "ok" : "FAIL", what);
    failed |= !cond;
}

static int links(const char *tag, pid_t pid)
{
    struct lxm_error err = { 0 };
    char br[16], xa[16], xb[16], xc[16], xd[16];
    snprintf(br, sizeof(br), "lxmd%s", tag);
    snprintf(xa, sizeof(xa), "xa%s", tag);
    snprintf(xb, sizeof(xb), "xb%s", tag);
    snprintf(xc, sizeof(xc), "xc%s", tag);
    snprintf(xd, sizeof(xd), "xd%s", tag);
    _cleanup_close_ int nsfd = lxm_netns_open_pid(pid, &err);
    struct nl_sock *host = NULL, *ns = NULL;
    if (nsfd < 0 || lxm_nl_open(-1, &host, &err) < 0 || lxm_nl_open(nsfd, &ns, &err) < 0) {
        printf("FAIL setup: %s\n", err.msg);
        return 1;
    }
    step("bridge create", lxm_link_bridge_create(host, br, &err), &err);
    struct lxm_veth_spec s = { xa, xb, -1, NULL, 0, NULL };
    step("veth create", lxm_link_veth_create(host, &s, &err), &err);
    step("set master", lxm_link_set_master(host, xa, br, &err), &err);
    step("set mtu", lxm_link_set_mtu(host, xa, 1280, &err), &err);
    const uint8_t mac[LXM_MAC_LEN] = { 0x02, 0, 0, 0, 0, 1 };
    step("set mac", lxm_link_set_mac(host, xb, mac, &err), &err);
    step("move by fd", lxm_link_move(host, xb, nsfd, 0, &err), &err);
    step("rename in netns", lxm_link_rename(ns, xb, "eth7", &err), &err);
    step("up in netns", lxm_link_set_up(ns, "eth7", true, &err), &err);
    struct lxm_link_info a = { 0 }, b = { 0 };
    step("get host end", lxm_link_get(host, xa, &a, &err), &err);
    step("get eth7", lxm_link_get(ns, "eth7", &b, &err), &err);
    expect("host end has the bridge as master", a.master > 0 && a.master == lxm_link_ifindex(host, br));
    expect("host end MTU 1280", a.mtu == 1280);
    expect("host end sees its peer in another netns", a.peer_netns);
    expect("eth7 is a veth and up", strcmp(b.kind, "veth") == 0 && b.up);
    expect("moved end is gone from the host", lxm_link_ifindex(host, xb) == -ENODEV);
    struct lxm_link_info *v = NULL;
    int n = 0;
    step("list netns", lxm_link_list(ns, &v, &n, &err), &err);
    expect("netns has lo and eth7", n == 2);
    free(v);
    s = (struct lxm_veth_spec){ xc, xd, -1, NULL, 0, NULL };
    step("second veth", lxm_link_veth_create(host, &s, &err), &err);
    step("move by pid", lxm_link_move(host, xd, -1, pid, &err), &err);
    expect("it is in the netns", lxm_link_ifindex(ns, xd) > 0);
    step("delete host end", lxm_link_delete(host, xa, &err), &err);
    expect("peer went with it", lxm_link_ifindex(ns, "eth7") == -ENODEV);
    expect("delete again says ENODEV", lxm_link_delete(host, xa, &err) == -ENODEV);
    step("delete second", lxm_link_delete(host, xc, &err), &err);
    step("delete bridge", lxm_link_delete(host, br, &err), &err);
    lxm_nl_close(host);
    lxm_nl_close(ns);
    return failed;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "links") == 0 && strlen(argv[2]) <= 8)
        return links(argv[2], atoi(argv[3]));
    fprintf(stderr, "usage: net-driver links TAG PID\n");
    return 2;
}
