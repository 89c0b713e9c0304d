/* idmap: security.idmap parsing and validation, subuid/subgid files
 * (injected temp paths), the auto default, isolated blocks, and the ACL and
 * file-capability rewrites on in-memory values. */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "security/idmap.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"

static char tmpdir[] = "/tmp/lxm-test-idmap.XXXXXX";

static char *tpath(const char *name)
{
    return xasprintf("%s/%s", tmpdir, name);
}

static void put(const char *name, const char *text)
{
    _cleanup_free_ char *p = tpath(name);
    write_file_atomic(p, text, strlen(text), 0644);
}

static char *get(const char *name)
{
    _cleanup_free_ char *p = tpath(name);
    char *s = NULL;
    if (read_file(p, &s, NULL) < 0)
        return NULL;
    return s;
}

static void test_parse_ok(void)
{
    struct lxm_error err = {0};
    struct lxm_idmap m;
    is_int(lxm_idmap_parse("0 1000000 65536", &m, &err), 0, "plain triple parses");
    ok(m.n_uid == 1 && m.n_gid == 1 && m.uid[0].host_id == 1000000 && m.gid[0].count == 65536,
       "a bare triple fills the uid and the gid map");
    _cleanup_free_ char *f = lxm_idmap_format(&m);
    is_str(f, "0 1000000 65536", "format of an equal uid/gid map");

    is_int(lxm_idmap_parse("u 0 1000000 65536\ng 0 2000000 65536", &m, &err), 0, "u/g lines parse");
    ok(m.n_uid == 1 && m.n_gid == 1 && m.uid[0].host_id == 1000000 && m.gid[0].host_id == 2000000,
       "u and g lines fill separate maps");
    _cleanup_free_ char *f2 = lxm_idmap_format(&m);
    is_str(f2, "u 0 1000000 65536; g 0 2000000 65536", "format of separate maps");

    is_int(lxm_idmap_parse("0 1000000 1000 1000 1001000 64536; both 70000 3000000 5", &m, &err), 0,
           "several triples on a line and ';' separators");
    is_int(m.n_uid, 3, "three uid ranges");
    is_int(lxm_idmap_range_to_host(m.uid, m.n_uid, 1500), 1001500, "to_host in the second range");
    is_int(lxm_idmap_range_to_ns(m.gid, m.n_gid, 3000004), 70004, "to_ns in the third range");
    is_int(lxm_idmap_range_to_host(m.uid, m.n_uid, 65536), -1, "unmapped id is -1");
    uid_t u;
    gid_t g;
    ok(lxm_idmap_host_root(&m, &u, &g) && u == 1000000 && g == 1000000, "host root ids");
    is_int(lxm_idmap_parse("0 0 4294967295", &m, &err), -EINVAL, "count up to 2^32 is too big");
    is_int(lxm_idmap_parse("0 0 4294967294", &m, &err), 0, "the full id space minus -1 is fine");
}

static void expect_error(const char *text, const char *want)
{
    struct lxm_error err = {0};
    struct lxm_idmap m;
    int r = lxm_idmap_parse(text, &m, &err);
    /* Newlines in a TAP description would break the stream. */
    _cleanup_free_ char *desc = strdup(text);
    for (char *p = desc; p && *p; p++)
        if (*p == '\n')
            *p = '|';
    is_int(r, -EINVAL, "'%s' is rejected", desc);
    is_str(err.msg, want, "message for '%s'", desc);
}

static void test_parse_errors(void)
{
    expect_error("0 1000000 65536\n1000 2000000 10",
                 "idmap 0 1000000 65536 and 1000 2000000 10: container uid ranges overlap");
    expect_error("0 1000000 65536; 70000 1060000 10",
                 "idmap 0 1000000 65536 and 70000 1060000 10: host uid ranges overlap");
    expect_error("u 0 1000000 10; g 0 1000000 10; g 5 2000000 10",
                 "idmap 0 1000000 10 and 5 2000000 10: container gid ranges overlap");
    expect_error("0 1000000 0", "idmap 0 1000000 0: count must be at least 1");
    expect_error("0 4294967000 65536",
                 "idmap 0 4294967000 65536: range goes beyond the largest id 4294967294");
    expect_error("0 1000000 4294967295",
                 "idmap '0 1000000 4294967295': '4294967295' is not a number (0..4294967294)");
    expect_error("0 -1 5", "idmap '0 -1 5': '-1' is not a number (0..4294967294)");
    expect_error("0 1000000", "idmap '0 1000000': expected [u|g|b] CONTAINER-ID HOST-ID COUNT");
    expect_error("u 0 1 2 3 4 5",
                 "idmap 'u 0 1 2 3 4 5': expected [u|g|b] CONTAINER-ID HOST-ID COUNT");
    expect_error("1 1000000 10", "idmap: container uid 0 is not mapped (root needs an id)");
    expect_error("u 0 1000000 10", "idmap: no gid range");
    expect_error("", "idmap: empty map");
    expect_error("auto", "idmap 'auto': expected [u|g|b] CONTAINER-ID HOST-ID COUNT");
}

static void test_subid(void)
{
    struct lxm_error err = {0};
    put("subuid", "alice:100000:65536\n# comment\nroot:1000000:65536\nbogus line\n0:2000000:10\n");
    _cleanup_free_ char *p = tpath("subuid");
    struct lxm_subid_set set;
    is_int(lxm_subid_read(p, "root", &set, &err), 0, "subuid parses");
    ok(set.n == 2 && set.r[0].host_id == 1000000 && set.r[1].host_id == 2000000 &&
           set.r[1].count == 10,
       "root's two lines (by name and by uid 0)");
    is_int(lxm_subid_read(p, "alice", &set, &err), 0, "other user");
    ok(set.n == 1 && set.r[0].host_id == 100000, "alice's line");
    _cleanup_free_ char *missing = tpath("nope");
    is_int(lxm_subid_read(missing, "root", &set, &err), 0, "a missing file is empty");
    is_int(set.n, 0, "no ranges from a missing file");
    put("badroot", "root:1000000\n");
    _cleanup_free_ char *bad = tpath("badroot");
    is_int(lxm_subid_read(bad, "root", &set, &err), -EINVAL, "malformed root line");
    _cleanup_free_ char *want =
        xasprintf("%s:1: malformed line for root (want root:START:COUNT)", bad);
    is_str(err.msg, want, "malformed root line message");
}

static void test_allocation(void)
{
    struct lxm_error err = {0};
    put("a-uid", "root:1000000:65536\n");
    put("a-gid", "root:1000000:65536\n");
    _cleanup_free_ char *pu = tpath("a-uid"), *pg = tpath("a-gid");
    struct lxm_subid_files files = {.subuid = pu, .subgid = pg};
    struct lxm_subid_set us, gs;
    lxm_subid_read(pu, "root", &us, &err);
    lxm_subid_read(pg, "root", &gs, &err);
    struct lxm_idmap m;
    lxm_idmap_parse("0 1000000 100000", &m, &err);
    is_int(lxm_idmap_check_allocation(&m, &us, &gs, &files, &err), -EINVAL, "too large a range");
    _cleanup_free_ char *want = xasprintf(
        "idmap 0 1000000 100000: larger than root's allocation in %s (65536 ids at 1000000)", pu);
    is_str(err.msg, want, "larger-than-allocation message");
    lxm_idmap_parse("0 5000000 65536", &m, &err);
    is_int(lxm_idmap_check_allocation(&m, &us, &gs, &files, &err), -EINVAL, "range outside");
    _cleanup_free_ char *want2 = xasprintf(
        "idmap 0 5000000 65536: outside root's allocation in %s (65536 ids at 1000000)", pu);
    is_str(err.msg, want2, "outside-allocation message");
    lxm_idmap_parse("u 0 1000000 65536; g 0 1000000 70000", &m, &err);
    is_int(lxm_idmap_check_allocation(&m, &us, &gs, &files, &err), -EINVAL, "gid side checked");
    ok(strstr(err.msg, pg) != NULL, "gid error names the subgid file");
    lxm_idmap_parse("0 1000000 65536", &m, &err);
    is_int(lxm_idmap_check_allocation(&m, &us, &gs, &files, &err), 0, "exact allocation fits");
    lxm_idmap_parse("0 1000010 10", &m, &err);
    is_int(lxm_idmap_check_allocation(&m, &us, &gs, &files, &err), 0, "a sub-range fits");
}

static void test_resolve_auto(void)
{
    struct lxm_error err = {0};
    _cleanup_free_ char *pu = tpath("r-uid"), *pg = tpath("r-gid");
    struct lxm_subid_files files = {.subuid = pu, .subgid = pg};
    struct lxm_idmap m;

    /* Bad explicit input changes nothing. */
    is_int(lxm_idmap_resolve("0 1000000 100000", &files, &m, &err), -EINVAL, "explicit too big");
    ok(!path_exists(pu) && !path_exists(pg), "bad input wrote nothing");
    ok(strstr(err.msg, "(none; the default would be 65536 ids at 1000000)") != NULL,
       "message explains the default: %s", err.msg);

    is_int(lxm_idmap_resolve("auto", &files, &m, &err), 0, "auto with no files");
    _cleanup_free_ char *f = lxm_idmap_format(&m);
    is_str(f, "0 1000000 65536", "auto gives the default range");
    _cleanup_free_ char *u = get("r-uid"), *g = get("r-gid");
    is_str(u, "root:1000000:65536\n", "default written to subuid");
    is_str(g, "root:1000000:65536\n", "default written to subgid");
    is_int(lxm_idmap_resolve(NULL, &files, &m, &err), 0, "again (NULL = auto)");
    _cleanup_free_ char *u2 = get("r-uid");
    is_str(u2, "root:1000000:65536\n", "not appended twice");

    /* Appending keeps other users' lines, even without a final newline. */
    put("s-uid", "alice:100000:65536");
    put("s-gid", "alice:100000:65536\n");
    _cleanup_free_ char *su = tpath("s-uid"), *sg = tpath("s-gid");
    struct lxm_subid_files f2 = {.subuid = su, .subgid = sg};
    is_int(lxm_idmap_resolve("0 1000000 1000", &f2, &m, &err), 0, "explicit map inside default");
    _cleanup_free_ char *su_text = get("s-uid");
    is_str(su_text, "alice:100000:65536\nroot:1000000:65536\n", "root appended after alice");
    struct stat st;
    ok(stat(su, &st) == 0 && (st.st_mode & 07777) == 0644, "mode kept");

    /* The default range already belongs to someone: refuse, write nothing. */
    put("o-uid", "bob:1000000:65536\n");
    _cleanup_free_ char *ou = tpath("o-uid"), *og = tpath("o-gid");
    struct lxm_subid_files f3 = {.subuid = ou, .subgid = og};
    is_int(lxm_idmap_resolve("auto", &f3, &m, &err), -EEXIST, "default overlaps bob");
    ok(strstr(err.msg, "overlaps bob's allocation 1000000:65536") != NULL, "message: %s", err.msg);
    ok(!path_exists(og), "subgid untouched");

    /* Root has a big range of its own: used as is, nothing written. */
    put("b-uid", "root:2000000:1000000\n");
    put("b-gid", "root:3000000:65536\n");
    _cleanup_free_ char *bu = tpath("b-uid"), *bg = tpath("b-gid");
    struct lxm_subid_files f4 = {.subuid = bu, .subgid = bg};
    is_int(lxm_idmap_resolve("auto", &f4, &m, &err), 0, "auto with root's own ranges");
    ok(m.uid[0].host_id == 2000000 && m.gid[0].host_id == 3000000 && m.uid[0].count == 65536,
       "uid and gid starts come from their own files");
    put("t-uid", "root:2000000:1000\n");
    _cleanup_free_ char *tu = tpath("t-uid");
    struct lxm_subid_files f5 = {.subuid = tu, .subgid = bg};
    is_int(lxm_idmap_resolve("auto", &f5, &m, &err), -EINVAL, "too small an allocation");
    ok(strstr(err.msg, "too small for a container (1000 ids at 2000000; need 65536)") != NULL,
       "message: %s", err.msg);
}

static void test_default_range(void)
{
    struct lxm_error err = {0};
    _cleanup_free_ char *pu = tpath("c-uid"), *pg = tpath("c-gid");
    struct lxm_subid_files files = {.subuid = pu, .subgid = pg};
    is_int(lxm_idmap_parse_default_range("auto", &files, &err), 0, "idmap.range auto");
    is_int(files.default_count, 0, "auto keeps the built-in default");
    is_int(lxm_idmap_parse_default_range("2000000:131072", &files, &err), 0, "START:COUNT");
    ok(files.default_start == 2000000 && files.default_count == 131072, "range stored");
    struct lxm_idmap m;
    is_int(lxm_idmap_resolve("auto", &files, &m, &err), 0, "auto with a configured default");
    is_int(m.uid[0].host_id, 2000000, "map starts at the configured range");
    _cleanup_free_ char *u = get("c-uid");
    is_str(u, "root:2000000:131072\n", "configured range written to subuid");
    is_int(lxm_idmap_parse_default_range("2000000:100", &files, &err), -EINVAL, "too small");
    is_str(err.msg, "idmap range '2000000:100': COUNT must be at least 65536", "message");
    is_int(lxm_idmap_parse_default_range("2000000", &files, &err), -EINVAL, "no colon");
    is_int(lxm_idmap_parse_default_range("4294960000:65536", &files, &err), -EINVAL,
           "beyond the id space");
}

static void test_isolated(void)
{
    struct lxm_error err = {0};
    put("i-uid", "root:1000000:262144\n");
    put("i-gid", "root:1000000:262144\n");
    _cleanup_free_ char *pu = tpath("i-uid"), *pg = tpath("i-gid"), *state = tpath("state");
    struct lxm_subid_files files = {.subuid = pu, .subgid = pg};
    struct lxm_idmap a, b, c, d, a2;
    is_int(lxm_idmap_allocate_isolated(state, "a", &files, &a, &err), 0, "allocate a");
    is_int(a.uid[0].host_id, 1065536, "a skips the shared auto block");
    is_int(lxm_idmap_allocate_isolated(state, "b", &files, &b, &err), 0, "allocate b");
    is_int(b.uid[0].host_id, 1131072, "b gets the next block");
    is_int(lxm_idmap_allocate_isolated(state, "a", &files, &a2, &err), 0, "a again");
    is_int(a2.uid[0].host_id, 1065536, "same block for the same name");
    is_int(lxm_idmap_allocate_isolated(state, "c", &files, &c, &err), 0, "allocate c");
    is_int(c.gid[0].host_id, 1196608, "c gets the last block (gid too)");
    is_int(lxm_idmap_allocate_isolated(state, "d", &files, &d, &err), -ENOSPC, "d: none left");
    ok(strstr(err.msg, "no free 65536-id block left") != NULL, "message: %s", err.msg);
    _cleanup_free_ char *rec = get("state/idmap-isolated");
    ok(rec && strstr(rec,
                     "a 1065536 1065536 65536\nb 1131072 1131072 65536\nc 1196608 1196608 65536\n"),
       "allocations recorded");
    is_int(lxm_idmap_release_isolated(state, "b", &err), 0, "release b");
    is_int(lxm_idmap_allocate_isolated(state, "d", &files, &d, &err), 0, "d after release");
    is_int(d.uid[0].host_id, 1131072, "d reuses b's block");
    is_int(lxm_idmap_release_isolated(state, "nobody", &err), 0, "release of an unknown name");
    is_int(lxm_idmap_allocate_isolated(state, "x y", &files, &d, &err), -EINVAL, "bad name");
}

struct acl_entry {
    uint16_t tag, perm;
    uint32_t id;
};

static size_t build_acl(unsigned char *buf, const struct acl_entry *e, size_t n)
{
    uint32_t v = htole32(2);
    memcpy(buf, &v, 4);
    for (size_t i = 0; i < n; i++) {
        uint16_t t = htole16(e[i].tag), p = htole16(e[i].perm);
        uint32_t id = htole32(e[i].id);
        memcpy(buf + 4 + 8 * i, &t, 2);
        memcpy(buf + 6 + 8 * i, &p, 2);
        memcpy(buf + 8 + 8 * i, &id, 4);
    }
    return 4 + 8 * n;
}

static uint32_t acl_id(const unsigned char *buf, size_t i)
{
    uint32_t id;
    memcpy(&id, buf + 8 + 8 * i, 4);
    return le32toh(id);
}

static void test_acl(void)
{
    struct lxm_error err = {0};
    struct lxm_idmap m;
    lxm_idmap_parse("u 0 1000000 65536; g 0 2000000 65536", &m, &err);
    const struct acl_entry e[] = {
        {0x01, 7, UINT32_MAX}, {0x02, 6, 1000},       {0x02, 4, 70000},      {0x04, 5, UINT32_MAX},
        {0x08, 5, 50},         {0x10, 7, UINT32_MAX}, {0x20, 0, UINT32_MAX},
    };
    unsigned char buf[128], orig[128];
    size_t len = build_acl(buf, e, ARRAY_SIZE(e));
    memcpy(orig, buf, len);
    is_int(lxm_idmap_shift_acl(buf, len, &m, LXM_IDMAP_TO_HOST), 2, "two ids shifted");
    is_int(acl_id(buf, 1), 1001000, "ACL_USER 1000 -> 1001000");
    is_int(acl_id(buf, 2), 70000, "unmapped ACL_USER kept");
    is_int(acl_id(buf, 4), 2000050, "ACL_GROUP uses the gid map");
    is_int(acl_id(buf, 0), UINT32_MAX, "USER_OBJ untouched");
    is_int(lxm_idmap_shift_acl(buf, len, &m, LXM_IDMAP_TO_NS), 2, "reverse shift");
    ok(memcmp(buf, orig, len) == 0, "round trip restores the value");
    is_int(lxm_idmap_shift_acl(buf, len - 1, &m, LXM_IDMAP_TO_HOST), -EINVAL, "bad length");
    buf[0] = 3;
    is_int(lxm_idmap_shift_acl(buf, len, &m, LXM_IDMAP_TO_HOST), -EINVAL, "bad version");
}

static void put32(unsigned char *b, size_t off, uint32_t v)
{
    v = htole32(v);
    memcpy(b + off, &v, 4);
}

static uint32_t get32(const unsigned char *b, size_t off)
{
    uint32_t v;
    memcpy(&v, b + off, 4);
    return le32toh(v);
}

static void test_fcaps(void)
{
    struct lxm_error err = {0};
    struct lxm_idmap m;
    lxm_idmap_parse("0 1000000 65536", &m, &err);
    unsigned char v2[20] = {0}, out[24], back[24];
    put32(v2, 0, 0x02000001); /* v2, effective */
    put32(v2, 4, 1u << 13);   /* cap_net_raw permitted */
    put32(v2, 12, 1u << 1);   /* high word: cap 33 */
    ssize_t n = lxm_idmap_shift_fcaps(v2, sizeof(v2), out, &m, LXM_IDMAP_TO_HOST);
    is_int(n, 24, "v2 -> v3 (24 bytes)");
    is_int(get32(out, 0), 0x03000001, "v3 magic keeps the effective flag");
    is_int(get32(out, 4), 1u << 13, "permitted low word kept");
    is_int(get32(out, 12), 1u << 1, "permitted high word kept");
    is_int(get32(out, 20), 1000000, "rootid = host id of container root");
    n = lxm_idmap_shift_fcaps(out, 24, back, &m, LXM_IDMAP_TO_NS);
    is_int(n, 20, "reverse: v3 with rootid 0 becomes v2 again");
    ok(n == 20 && memcmp(back, v2, 20) == 0, "round trip restores the v2 value");

    unsigned char v3[24];
    memcpy(v3, out, 24);
    put32(v3, 20, 1000); /* caps for a nested ns whose root is container uid 1000 */
    is_int(lxm_idmap_shift_fcaps(v3, 24, out, &m, LXM_IDMAP_TO_HOST), 24, "v3 stays v3");
    is_int(get32(out, 20), 1001000, "nested rootid shifted like a uid");
    put32(v3, 20, 5000000);
    is_int(lxm_idmap_shift_fcaps(v3, 24, out, &m, LXM_IDMAP_TO_NS), -ERANGE, "unmapped rootid");

    unsigned char v1[12] = {0};
    put32(v1, 0, 0x01000000);
    put32(v1, 4, 1u << 10);
    is_int(lxm_idmap_shift_fcaps(v1, 12, out, &m, LXM_IDMAP_TO_HOST), 24, "v1 -> v3");
    ok(get32(out, 4) == 1u << 10 && get32(out, 12) == 0, "v1 words carried over");
    is_int(lxm_idmap_shift_fcaps(v2, 19, out, &m, LXM_IDMAP_TO_HOST), -EINVAL, "bad length");
    put32(v1, 0, 0x07000000);
    is_int(lxm_idmap_shift_fcaps(v1, 12, out, &m, LXM_IDMAP_TO_HOST), -EINVAL, "bad revision");

    struct lxm_idmap id;
    lxm_idmap_parse("0 0 65536", &id, &err);
    is_int(lxm_idmap_shift_fcaps(v2, 20, out, &id, LXM_IDMAP_TO_HOST), 20,
           "an identity map keeps v2 valid as v2");
}

static void test_methods(void)
{
    enum lxm_idmap_method m;
    is_str(lxm_idmap_method_name(LXM_IDMAP_METHOD_SHIFTED), "shifted", "method name");
    ok(lxm_idmap_method_from_name("idmapped", &m) == 0 && m == LXM_IDMAP_METHOD_IDMAPPED,
       "method from name");
    is_int(lxm_idmap_method_from_name("bogus", &m), -EINVAL, "unknown method");
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        printf("Bail out! mkdtemp\n");
        return 1;
    }
    test_parse_ok();
    test_parse_errors();
    test_subid();
    test_allocation();
    test_resolve_auto();
    test_default_range();
    test_isolated();
    test_acl();
    test_fcaps();
    test_methods();
    rm_rf(tmpdir);
    return done();
}
