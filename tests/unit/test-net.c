/* Unit tests of the pure parts of net/: CIDR parsing and arithmetic,
 * interface names, MAC addresses, nft table names, which resolv.conf
 * dnsmasq is given. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/addr.h"
#include "net/dnsmasq.h"
#include "net/link.h"
#include "net/nat.h"
#include "tap.h"

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

int main(void)
{
    test_cidr();
    test_names();
    test_resolv_file();
    return done();
}
