/* Unit tests of the pure parts of net/: CIDR parsing and arithmetic,
 * interface names, MAC addresses, nft table names, which resolv.conf
 * dnsmasq is given, IPv6 prefixes and EUI-64, the nftables trap reader,
 * how a port forward of either family is shown, the raw netlink dump
 * reader (fed crafted answers over a socketpair). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "lxm/net/addr.h"
#include "lxm/net/dnsmasq.h"
#include "lxm/net/ipv6.h"
#include "lxm/net/link.h"
#include "lxm/net/nat.h"
#include "lxm/net/netlink.h"
#include "lxm/net/portfwd.h"
#include "lxm/net/traps.h"
#include "tap.h"
#include "util/strv.h"

static void test_cidr(void)
{
    struct lxm_error err = {0};
    struct lxm_cidr c;
    is_int(lxm_cidr_parse("10.77.0.1/24", false, &c, &err), 0, "parse 10.77.0.1/24");
    is_int(c.addr, 0x0a4d0001, "address");
    is_int(c.prefix, 24, "prefix");
    is_int(lxm_cidr_network(&c), 0x0a4d0000, "network");
    is_int(lxm_cidr_broadcast(&c), 0x0a4d00ff, "broadcast");
    char s[24];
    lxm_cidr_format(&c, s);
    is_str(s, "10.77.0.1/24", "format");

    const char *bad[] = {"10.77.0.1", "10.77.0.1/33", "10.77.0/24",     "10.77.0.1/",
                         "x/24",      "10.77.0.1/2a", "10.77.0.256/24", "",
                         "/24",       "10.77.0.1/-1", "10.77.0.1/024x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        is_int(lxm_cidr_parse(bad[i], false, &c, &err), -EINVAL, "reject '%s'", bad[i]);
    ok(strstr(err.msg, "invalid IPv4 address") != NULL, "message names the problem: %s", err.msg);
    is_int(lxm_cidr_parse("10.1.2.3", true, &c, &err), 0, "bare address allowed when asked");
    is_int(c.prefix, 32, "bare address is /32");

    struct lxm_cidr a = {0x0a000000, 8}, b = {0x0a4d0000, 24}, d = {0x0b000000, 24};
    ok(lxm_cidr_overlap(&a, &b), "10/8 overlaps 10.77.0/24");
    ok(lxm_cidr_overlap(&b, &a), "overlap is symmetric");
    ok(!lxm_cidr_overlap(&b, &d), "10.77.0/24 and 11.0.0/24 are apart");
    ok(lxm_cidr_contains(&b, 0x0a4d0005), "10.77.0.5 in 10.77.0/24");
    ok(!lxm_cidr_contains(&b, 0x0a4d0105), "10.77.1.5 not in 10.77.0/24");
    is_int(lxm_cidr_mask(0), 0, "mask /0");
    is_int(lxm_cidr_mask(32), 0xffffffff, "mask /32");
}

static void test_names(void)
{
    struct lxm_error err = {0};
    is_int(lxm_ifname_validate("lxmbr0", &err), 0, "lxmbr0 is a valid name");
    is_int(lxm_ifname_validate("abcdefghijklmno", &err), 0, "15 chars are fine");
    is_int(lxm_ifname_validate("abcdefghijklmnop", &err), -EINVAL, "16 chars are too many");
    ok(strstr(err.msg, "longer than 15") != NULL, "says why: %s", err.msg);
    is_int(lxm_ifname_validate("a/b", &err), -EINVAL, "no slash");
    is_int(lxm_ifname_validate("a b", &err), -EINVAL, "no space");
    is_int(lxm_ifname_validate("", &err), -EINVAL, "not empty");

    uint8_t mac[6];
    is_int(lxm_mac_parse("00:16:3e:aa:bb:cc", mac), 0, "parse MAC");
    is_int(mac[5], 0xcc, "last byte");
    char s[18];
    lxm_mac_format(mac, s);
    is_str(s, "00:16:3e:aa:bb:cc", "format MAC");
    is_int(lxm_mac_parse("01:16:3e:aa:bb:cc", mac), -EINVAL, "multicast MAC refused");
    is_int(lxm_mac_parse("00:16:3e:aa:bb", mac), -EINVAL, "short MAC refused");
    is_int(lxm_mac_parse("00:16:3e:aa:bb:cc:dd", mac), -EINVAL, "long MAC refused");

    char t[32];
    lxm_nat_table_name("lxmbr0", t);
    is_str(t, "lxm_lxmbr0", "nft table name");
    lxm_nat_table_name("br-x.1", t);
    is_str(t, "lxm_br_x_1", "nft table name is an identifier");
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_resolv_file(void)
{
    char dir[] = "/tmp/lxm-unit-resolv.XXXXXX";
    if (!mkdtemp(dir)) {
        ok(0, "mkdtemp");
        return;
    }
    char etc[64], res[64];
    snprintf(etc, sizeof(etc), "%s/etc", dir);
    snprintf(res, sizeof(res), "%s/res", dir);
    put(etc, "# stub\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch x\n");
    is_str(lxm_dnsmasq_resolv_file(etc, res), etc, "stub only, no resolved list: the file itself");
    put(res, "nameserver 192.0.2.1\n");
    is_str(lxm_dnsmasq_resolv_file(etc, res), res, "stub only: resolved's list");
    put(etc, "nameserver 127.0.0.53\nnameserver 192.0.2.9\n");
    is_str(lxm_dnsmasq_resolv_file(etc, res), etc, "stub plus a real server: the file itself");
    put(etc, "nameserver 127.0.0.1\n");
    is_str(lxm_dnsmasq_resolv_file(etc, res), etc, "a local resolver that is not the stub");
    put(etc, "# nothing\n");
    is_str(lxm_dnsmasq_resolv_file(etc, res), etc, "no nameserver at all: the file itself");
    unlink(etc);
    is_str(lxm_dnsmasq_resolv_file(etc, res), etc, "missing file: dnsmasq waits for it");
    unlink(res);
    rmdir(dir);
}

static void test_ipv6(void)
{
    struct lxm_error err = {0};
    struct lxm_cidr6 c;
    char s[LXM_CIDR6_LEN];
    is_int(lxm_cidr6_parse("fd42:1:2::1/64", &c, &err), 0, "parse fd42:1:2::1/64");
    is_int(c.prefix, 64, "prefix 64");
    struct lxm_cidr6 n = lxm_cidr6_network(&c);
    lxm_cidr6_format(&n, s);
    is_str(s, "fd42:1:2::/64", "network of it");
    const char *bad[] = {"fd42::1", "fd42::1/129", "zz::1/64", "fd42::1/", "/64", "10.0.0.1/24"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        is_int(lxm_cidr6_parse(bad[i], &c, NULL), -EINVAL, "refuse '%s'", bad[i]);
    const uint8_t mac[6] = {0x00, 0x16, 0x3e, 0x01, 0x2b, 0x6a};
    lxm_cidr6_parse("fd65:7b86:541e::1/64", &c, NULL);
    struct in6_addr a = lxm_ipv6_eui64(&c, mac);
    char as[INET6_ADDRSTRLEN];
    lxm_ipv6_format(&a, as);
    is_str(as, "fd65:7b86:541e:0:216:3eff:fe01:2b6a", "EUI-64 flips the U/L bit, ff:fe in the middle");
    struct lxm_cidr6 u1, u2;
    is_int(lxm_ula_generate(&u1, &err), 0, "generate a ULA");
    lxm_ula_generate(&u2, NULL);
    ok(u1.addr.s6_addr[0] == 0xfd && u1.prefix == 64 && u1.addr.s6_addr[15] == 1 &&
           u1.addr.s6_addr[6] == 0 && u1.addr.s6_addr[7] == 0,
       "ULA: fd + 40 bits + subnet 0, ::1/64");
    ok(memcmp(&u1.addr, &u2.addr, 16) != 0, "two ULAs differ (random global ID)");
    is_int(lxm_ipv6_check_conf("br0", "fd42:1:2::/64", NULL), 0, "PREFIX::/64 accepted");
    is_int(lxm_ipv6_check_conf("br0", "none", NULL), 0, "none accepted");
    is_int(lxm_ipv6_check_conf("br0", "fd42::/48", &err), -EINVAL, "a /48 refused");
    ok(strstr(err.msg, "not /64") != NULL, "... saying so: %s", err.msg);
}

/* Rulesets as `nft list ruleset` prints them. */
static const char docker_ruleset[] =
    "table ip filter {\n"
    "\tchain FORWARD {\n"
    "\t\ttype filter hook forward priority filter; policy drop;\n"
    "\t\tcounter packets 0 bytes 0 jump DOCKER-USER\n"
    "\t\toifname \"docker0\" ct state related,established counter packets 0 bytes 0 accept\n"
    "\t}\n"
    "\n"
    "\tchain DOCKER-USER {\n"
    "\t\tcounter packets 0 bytes 0 return\n"
    "\t}\n"
    "}\n"
    "table ip lxm_br0 {\n"
    "\tchain forward {\n"
    "\t\ttype filter hook forward priority filter; policy drop;\n"
    "\t}\n"
    "}\n";

static const char ufw_ruleset[] =
    "table ip filter {\n"
    "\tset blocked {\n"
    "\t\ttype ipv4_addr\n"
    "\t\telements = { 192.0.2.1,\n"
    "\t\t\t     192.0.2.2 }\n"
    "\t}\n"
    "\tchain FORWARD {\n"
    "\t\ttype filter hook forward priority filter; policy drop;\n"
    "\t\tcounter packets 0 bytes 0 jump ufw-before-forward\n"
    "\t}\n"
    "\tchain ufw-before-forward {\n"
    "\t}\n"
    "}\n"
    "table inet firewalld {\n"
    "\tchain filter_FORWARD {\n"
    "\t\ttype filter hook forward priority filter + 10; policy accept;\n"
    "\t\tct state established,related accept\n"
    "\t\tiifname != \"br0\" drop\n"
    "\t\treject with icmpx admin-prohibited\n"
    "\t}\n"
    "}\n"
    "table inet mine {\n"
    "\tchain input {\n"
    "\t\ttype filter hook input priority filter; policy drop;\n"
    "\t}\n"
    "\tchain fw {\n"
    "\t\ttype filter hook forward priority filter; policy drop;\n"
    "\t\tiifname \"br0\" accept\n"
    "\t\toifname \"br0\" tcp dport 22 drop\n"
    "\t}\n"
    "}\n";

static void test_traps_nft(void)
{
    char **v = NULL;
    is_int(lxm_traps_nft_text(docker_ruleset, "br0", &v), 0, "read a Docker ruleset");
    is_int((int)strv_length(v), 1, "one trap (lxm's own table skipped)");
    ok(v && v[0] && strstr(v[0], "table ip filter (Docker)") && strstr(v[0], "policy drop") &&
           strstr(v[0], "fix: iptables -I DOCKER-USER -i br0 -j ACCEPT"),
       "Docker's policy drop with the DOCKER-USER fix: %s", v && v[0] ? v[0] : "");
    strv_free(v);
    v = NULL;
    is_int(lxm_traps_nft_text(ufw_ruleset, "br0", &v), 0, "read ufw + firewalld + own tables");
    is_int((int)strv_length(v), 3, "three traps");
    ok(v && v[0] && strstr(v[0], "(ufw)") && strstr(v[0], "ufw route allow in on br0"),
       "ufw's fix: %s", v && v[0] ? v[0] : "");
    ok(v && v[1] && strstr(v[1], "(firewalld)") && strstr(v[1], "'reject with icmpx") &&
           !strstr(v[1], "!="),
       "firewalld's unconditional reject, not its != rule: %s", v && v[1] ? v[1] : "");
    ok(v && v[2] && strstr(v[2], "inet mine") && strstr(v[2], "tcp dport 22 drop") &&
           !strstr(v[2], "policy"),
       "a drop rule naming the bridge; the policy drop is answered by an accept: %s",
       v && v[2] ? v[2] : "");
    strv_free(v);
    v = NULL;
    is_int(lxm_traps_nft_text(docker_ruleset, "other0", &v), 0, "another bridge");
    is_int((int)strv_length(v), 1, "... caught by Docker's policy too");
    strv_free(v);
}

static void test_portfwd_format(void)
{
    struct lxm_portfwd f = {.proto = LXM_PORTFWD_TCP,
                            .family = AF_INET,
                            .listen = 0,
                            .target = 0x0a4d0005,
                            .host_port = 8080,
                            .target_port = 80};
    char s[128], a[INET6_ADDRSTRLEN];
    lxm_portfwd_format(&f, s, sizeof(s));
    is_str(s, "tcp 0.0.0.0:8080 -> 10.77.0.5:80", "IPv4 forward shown");
    f.family = AF_INET6;
    f.proto = LXM_PORTFWD_UDP;
    inet_pton(AF_INET6, "fd00:1::216:3eff:fe00:5", &f.target6);
    lxm_portfwd_format(&f, s, sizeof(s));
    is_str(s, "udp [::]:8080 -> [fd00:1::216:3eff:fe00:5]:80", "IPv6 forward shown in brackets");
    lxm_portfwd_addr(&f, false, a);
    is_str(a, "::", "IPv6 listen address alone");
    lxm_portfwd_addr(&f, true, a);
    is_str(a, "fd00:1::216:3eff:fe00:5", "IPv6 target alone");
}

/* One message of a crafted dump answer: a header of some type and an
 * nlmsgerr (what an NLMSG_ERROR carries; mere payload for the others). */
struct fake_msg {
    struct nlmsghdr h;
    struct nlmsgerr e;
};

static struct fake_msg fake(int type, int error)
{
    struct fake_msg m = {.h = {.nlmsg_len = sizeof(m), .nlmsg_type = (uint16_t)type}};
    m.e.error = error;
    return m;
}

/* Queue one datagram of the messages in m on fd. */
static void queue(int fd, const struct fake_msg *m, size_t n)
{
    if (send(fd, m, n * sizeof(*m), 0) != (ssize_t)(n * sizeof(*m)))
        perror("queue fake answer");
}

struct seen {
    int n, types[8], fail_at;
};

static int count_msg(const struct nlmsghdr *h, void *data, struct lxm_error *err)
{
    struct seen *s = data;
    if (s->n < 8)
        s->types[s->n] = h->nlmsg_type;
    if (++s->n == s->fail_at)
        return lxm_error_set(err, ENOMEM, "things: out of memory");
    return 0;
}

/* Run one dump over a fresh socketpair whose peer has queued answers. */
static int dump_with(void (*answer)(int peer), const int *nothing, struct seen *s,
                     struct lxm_error *err)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    /* A reader that misses its end fails with EAGAIN rather than hangs. */
    struct timeval tv = {.tv_sec = 2};
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    answer(sv[1]);
    const struct lxm_nl_dump d = {"list things", count_msg, s, nothing};
    struct nlmsghdr req = {
        .nlmsg_len = sizeof(req), .nlmsg_type = 77, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP};
    int r = lxm_nl_dump(sv[0], &req, sizeof(req), &d, err);
    struct nlmsghdr got = {0};
    if (recv(sv[1], &got, sizeof(got), MSG_DONTWAIT) != (ssize_t)sizeof(got) ||
        got.nlmsg_type != 77)
        r = -1000; /* the request did not reach the peer */
    close(sv[0]);
    close(sv[1]);
    return r;
}

static void answer_two_batches(int peer)
{
    struct fake_msg a[] = {fake(16, 1), fake(17, 2)};
    struct fake_msg b[] = {fake(18, 3), fake(NLMSG_DONE, 0), fake(19, 4)};
    queue(peer, a, 2);
    queue(peer, b, 3);
}
static void answer_eacces(int peer)
{
    struct fake_msg a[] = {fake(16, 1), fake(NLMSG_ERROR, -EACCES), fake(NLMSG_DONE, 0)};
    queue(peer, a, 3);
}
static void answer_enoent(int peer)
{
    struct fake_msg a[] = {fake(NLMSG_ERROR, -ENOENT), fake(NLMSG_DONE, 0)};
    queue(peer, a, 2);
}
static void answer_ack(int peer)
{
    struct fake_msg a[] = {fake(NLMSG_ERROR, 0)};
    queue(peer, a, 1);
}
static void answer_too_big(int peer)
{
    static struct fake_msg a[1500]; /* 36 KiB: more than the reader's buffer */
    for (size_t i = 0; i < 1500; i++)
        a[i] = fake(16, 0);
    a[1499] = fake(NLMSG_DONE, 0);
    queue(peer, a, 1500);
}

static void test_nl_dump(void)
{
    struct lxm_error err = {0};
    struct seen s = {0};
    is_int(dump_with(answer_two_batches, NULL, &s, &err), 0, "dump read to NLMSG_DONE");
    is_int(s.n, 3, "every message before NLMSG_DONE, over two batches, handed on");
    ok(s.types[0] == 16 && s.types[1] == 17 && s.types[2] == 18, "in order");

    s = (struct seen){0};
    is_int(dump_with(answer_eacces, NULL, &s, &err), -EACCES, "NLMSG_ERROR is the kernel's errno");
    is_str(err.msg, "list things: Permission denied", "message says what failed");
    is_int(s.n, 1, "NLMSG_ERROR itself not handed on");

    static const int nothing[] = {ENOENT, EPROTONOSUPPORT, 0};
    s = (struct seen){0};
    is_int(dump_with(answer_enoent, nothing, &s, &err), 0, "an error listed as nothing-to-list: 0");
    is_int(dump_with(answer_enoent, NULL, &s, &err), -ENOENT, "the same error unlisted fails");

    is_int(dump_with(answer_ack, nothing, &s, &err), -EIO, "an NLMSG_ERROR of 0 mid-dump is EIO");

    s = (struct seen){0};
    is_int(dump_with(answer_too_big, NULL, &s, &err), -EMSGSIZE, "a batch beyond the buffer fails");
    is_str(err.msg, "list things: answer truncated", "message says truncated");

    s = (struct seen){.fail_at = 2};
    is_int(dump_with(answer_two_batches, NULL, &s, &err), -ENOMEM, "a failing callback stops it");
    is_int(s.n, 2, "no message after the failing one");
    is_str(err.msg, "things: out of memory", "the callback's message kept");
}

int main(void)
{
    test_cidr();
    test_names();
    test_resolv_file();
    test_ipv6();
    test_traps_nft();
    test_portfwd_format();
    test_nl_dump();
    return done();
}
