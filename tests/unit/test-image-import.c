/* image_import: the metadata parsers of every format (LXC metadata.yaml,
 * lxm export config.yaml, OCI index/manifest/config JSON), the time and
 * architecture helpers, and the errors bad metadata gets. The formats
 * themselves are exercised end to end by tests/integration/image-formats.sh
 * with archives it builds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image_import-internal.h"
#include "tap.h"
#include "util/fs.h"
#include "util/sha256.h"

#define S(x) x, strlen(x)
#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_lxc_metadata(void)
{
    struct lxm_image_meta m = { 0 };
    struct lxm_error err = { 0 };
    int r = lxm_lxc_metadata_parse("metadata.yaml", S("architecture: x86_64\n"
                                                      "creation_date: 1714564800\n"
                                                      "properties:\n"
                                                      "  os: Debian\n"
                                                      "  release: bookworm\n"
                                                      "  description: Debian bookworm amd64\n"
                                                      "templates:\n"
                                                      "  /etc/hostname:\n"
                                                      "    when: [create]\n"),
                                   &m, &err);
    is_int(r, 0, "metadata.yaml parses (%s)", err.msg);
    is_str(m.arch, "amd64", "architecture x86_64 is amd64");
    is_str(m.template_name, "debian", "properties.os, lowercased");
    is_str(m.release, "bookworm", "properties.release");
    is_str(m.description, "Debian bookworm amd64", "properties.description");
    is_int(m.created, 1714564800, "creation_date");
    lxm_image_meta_clear(&m);

    r = lxm_lxc_metadata_parse("metadata.yaml", S("properties: [a]\n"), &m, &err);
    ok(r == -EINVAL && strstr(err.msg, "metadata.yaml:1:13: properties: expected a map"),
       "properties must be a map, with line:col (%s)", err.msg);
    lxm_image_meta_clear(&m);
    r = lxm_lxc_metadata_parse("metadata.yaml", S("creation_date: yesterday\n"), &m, &err);
    ok(r == -EINVAL && strstr(err.msg, "creation_date: expected unix seconds"),
       "a creation_date that is no number is refused (%s)", err.msg);
    lxm_image_meta_clear(&m);
    r = lxm_lxc_metadata_parse("metadata.yaml", S("- a\n- b\n"), &m, &err);
    ok(r == -EINVAL && strstr(err.msg, "expected a map at the top"), "a list is refused (%s)", err.msg);
    lxm_image_meta_clear(&m);
    r = lxm_lxc_metadata_parse("metadata.yaml", S("a: [\n"), &m, &err);
    ok(r < 0 && strstr(err.msg, "yaml syntax error"), "bad YAML is refused (%s)", err.msg);
    lxm_image_meta_clear(&m);
    r = lxm_lxc_metadata_parse("metadata.yaml", S(""), &m, &err);
    ok(r == 0 && !m.arch && !m.release && m.created == 0, "an empty metadata.yaml says nothing");
    lxm_image_meta_clear(&m);
}

static void test_lxc_config(void)
{
    struct lxm_image_meta m = { 0 };
    is_int(lxm_lxc_config_meta("lxc.include = LXC_TEMPLATE_CONFIG/debian.common.conf\n"
                               "  lxc.arch = x86_64 # the build host\n"
                               "lxc.architecture_x = nope\n", &m),
           0, "LXC download config parses");
    is_str(m.arch, "amd64", "lxc.arch x86_64 is amd64");
    lxm_image_meta_clear(&m);
    is_int(lxm_lxc_config_meta("lxc.arch=\nlxc.arch\n", &m), 0, "an empty lxc.arch is ignored");
    ok(!m.arch, "no arch from an empty value");
    lxm_image_meta_clear(&m);
}

static void test_export_config(void)
{
    struct lxm_image_meta m = { 0 };
    struct lxm_error err = { 0 };
    int r = lxm_export_config_meta("config.yaml", S("name: c1\ntemplate: debian\nrelease: bookworm\n"
                                                    "arch: arm64\ncreated: 2024-05-01T12:00:00Z\n"
                                                    "unknown_key: {a: 1}\n"),
                                   &m, &err);
    is_int(r, 0, "export config.yaml parses (%s)", err.msg);
    is_str(m.template_name, "debian", "template");
    is_str(m.release, "bookworm", "release");
    is_str(m.arch, "arm64", "arch");
    is_int(m.created, 1714564800, "created");
    lxm_image_meta_clear(&m);
    r = lxm_export_config_meta("config.yaml", S("template: [x]\n"), &m, &err);
    ok(r == -EINVAL && strstr(err.msg, "template: expected a string"), "template must be a string (%s)",
       err.msg);
    lxm_image_meta_clear(&m);
}

static void test_oci_index(void)
{
    struct lxm_oci_index x;
    struct lxm_error err = { 0 };
    const char *idx = "{\"schemaVersion\":2,\"manifests\":["
                      "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                      "\"digest\":\"sha256:" D64 "\",\"size\":123,"
                      "\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}},"
                      "{\"digest\":\"sha256:" D64 "\",\"size\":7,"
                      "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}}]}";
    int r = lxm_oci_index_parse("index.json", S(idx), &x, &err);
    is_int(r, 0, "index parses (%s)", err.msg);
    is_int(x.n, 2, "two manifests");
    if (x.n == 2) {
        is_str(x.manifests[0].ref_name, "v1", "ref.name annotation");
        is_str(x.manifests[0].hex, D64, "digest hex");
        is_int(x.manifests[0].size, 123, "size");
        is_str(x.manifests[1].arch, "arm", "platform architecture");
        is_str(x.manifests[1].variant, "v7", "platform variant");
    }
    lxm_oci_index_clear(&x);
    ok(lxm_oci_is_index(S(idx)), "an index is recognised as one");

    static const struct { const char *json, *msg, *what; } bad[] = {
        { "{\"manifests\":[{\"digest\":\"sha512:ab\",\"size\":1}]}", "is not sha256:<64 hex digits>",
          "another digest algorithm" },
        { "{\"manifests\":[{\"digest\":\"sha256:" D64 "/../x\",\"size\":1}]}",
          "is not sha256:<64 hex digits>", "a digest with a path in it" },
        { "{\"manifests\":[{\"digest\":\"sha256:" D64 "\",\"size\":-1}]}", "negative size",
          "a negative size" },
        { "{\"manifests\":[{\"digest\":\"sha256:" D64 "\"}]}", "needs \"digest\" and \"size\"",
          "no size" },
        { "{\"manifests\":{}}", "not an image index", "manifests not an array" },
        { "{\"manifests\":[", "not valid JSON", "truncated JSON" },
        { "[1,2]", "expected a JSON object", "not an object" },
        { "{\"manifests\":[{\"digest\":\"sha256:" D64 "\",\"size\":1,\"mediaType\":5}]}",
          "\"mediaType\" must be a string", "mediaType of the wrong type" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&err, 0, sizeof(err));
        r = lxm_oci_index_parse("index.json", S(bad[i].json), &x, &err);
        ok(r < 0 && strstr(err.msg, bad[i].msg) && strstr(err.msg, "index.json"),
           "index: %s is refused (%s)", bad[i].what, err.msg);
        lxm_oci_index_clear(&x);
    }
}

static void test_oci_manifest_config(void)
{
    struct lxm_oci_manifest m;
    struct lxm_error err = { 0 };
    const char *man = "{\"schemaVersion\":2,"
                      "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
                      "\"digest\":\"sha256:" D64 "\",\"size\":10},"
                      "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
                      "\"digest\":\"sha256:" D64 "\",\"size\":20},"
                      "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
                      "\"digest\":\"sha256:" D64 "\",\"size\":30}],"
                      "\"annotations\":{\"org.opencontainers.image.description\":\"test image\"}}";
    int r = lxm_oci_manifest_parse("manifest", S(man), &m, &err);
    is_int(r, 0, "manifest parses (%s)", err.msg);
    is_int(m.n_layers, 2, "two layers, in order");
    if (m.n_layers == 2)
        is_int(m.layers[1].size, 30, "second layer's size");
    is_int(m.config.size, 10, "config descriptor");
    is_str(m.description, "test image", "description annotation");
    ok(!lxm_oci_is_index(S(man)), "a manifest is not an index");
    lxm_oci_manifest_clear(&m);
    r = lxm_oci_manifest_parse("manifest", S("{\"manifests\":[]}"), &m, &err);
    ok(r == -EINVAL && strstr(err.msg, "not an image manifest"), "an index is not a manifest (%s)",
       err.msg);
    lxm_oci_manifest_clear(&m);

    struct lxm_oci_config c;
    r = lxm_oci_config_parse("config", S("{\"architecture\":\"arm64\",\"os\":\"linux\","
                                         "\"created\":\"2024-05-01T14:00:00.5+02:00\","
                                         "\"config\":{\"Cmd\":[\"/bin/sh\"]}}"),
                             &c, &err);
    is_int(r, 0, "config parses (%s)", err.msg);
    is_str(c.arch, "arm64", "config architecture");
    is_str(c.os, "linux", "config os");
    is_int(c.created, 1714564800, "created with an offset and a fraction");
    lxm_oci_config_clear(&c);
    r = lxm_oci_config_parse("config", S("{\"created\":\"last tuesday\"}"), &c, &err);
    ok(r == -EINVAL && strstr(err.msg, "not an RFC 3339 time"), "a bad created is refused (%s)", err.msg);
    lxm_oci_config_clear(&c);
}

static void test_helpers(void)
{
    is_int(lxm_rfc3339_parse("1970-01-01T00:00:00Z"), 0, "epoch");
    is_int(lxm_rfc3339_parse("2024-05-01T12:00:00.123456789Z"), 1714564800, "fraction ignored");
    is_int(lxm_rfc3339_parse("2024-05-01T10:00:00-02:00"), 1714564800, "negative offset");
    is_int(lxm_rfc3339_parse("2024-05-01"), -1, "a date alone is not a time");
    is_int(lxm_rfc3339_parse("2024-05-01T12:00:00Zjunk"), -1, "trailing junk");
    is_str(lxm_arch_to_debian("386", NULL), "i386", "386 is i386");
    is_str(lxm_arch_to_debian("ppc64le", NULL), "ppc64el", "ppc64le is ppc64el");
    is_str(lxm_arch_to_debian("arm", "v7"), "armhf", "arm v7 is armhf");
    is_str(lxm_arch_to_debian("arm", "v6"), "armel", "arm v6 is armel");
    is_str(lxm_arch_to_debian("aarch64", NULL), "arm64", "aarch64 is arm64");
    is_str(lxm_arch_to_debian("riscv64", NULL), "riscv64", "others unchanged");
}

static void put(const char *dir, const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", dir, name);
    if (!path || write_file_atomic(path, text, strlen(text), 0644) < 0)
        abort();
    free(path);
}

static void make_layout(const char *dir)
{
    if (mkdir_p(dir, 0755) < 0)
        abort();
    put(dir, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
    put(dir, "index.json",
        "{\"manifests\":[{\"digest\":\"sha256:" D64 "\",\"size\":1,"
        "\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}},"
        "{\"digest\":\"sha256:" "1111111111111111111111111111111111111111111111111111111111111111"
        "\",\"size\":1,\"annotations\":{\"org.opencontainers.image.ref.name\":\"a:b\"}}]}");
}

/* lxm_image_source_id: a key for the store that follows the content. */
static void test_source_id(void)
{
    char tmp[] = "/tmp/test-image-import.XXXXXX";
    if (!mkdtemp(tmp))
        abort();
    char *one = xasprintf("%s/one", tmp), *two = xasprintf("%s/two", tmp);
    make_layout(one);
    make_layout(two);
    char *one_v1 = xasprintf("%s:v1", one), *two_v1 = xasprintf("oci:%s:v1", two);
    char *one_ab = xasprintf("%s:a:b", one), *file = xasprintf("%s/index.json", one);
    char a[65] = "", b[65] = "", c[65] = "", f[65] = "", sum[65] = "", split[65] = "";
    struct lxm_error err = { 0 };
    is_int(lxm_image_source_id(one_v1, NULL, a, &err), 0, "id of DIR:TAG (%s)", err.msg);
    is_int(lxm_image_source_id(two_v1, NULL, b, &err), 0, "id of oci:DIR:TAG (%s)", err.msg);
    is_str(a, b, "the same image in two layouts has one id");
    is_int(lxm_image_source_id(one_ab, NULL, c, &err), 0, "a tag with ':' in it (%s)", err.msg);
    ok(strcmp(a, c) != 0, "another tag, another id");
    ok(lxm_image_source_id(one, NULL, c, &err) < 0 && strstr(err.msg, "holds 2 images"),
       "several images and no tag: an error (%s)", err.msg);
    is_int(lxm_image_source_id(file, NULL, f, &err), 0, "id of a file (%s)", err.msg);
    sha256_file(file, sum);
    is_str(f, sum, "a file's id is its sha256");
    is_int(lxm_image_source_id(file, file, split, &err), 0, "id of a split pair (%s)", err.msg);
    ok(strlen(split) == 64 && strcmp(split, sum) != 0, "a split pair's id is neither file's");
    ok(lxm_image_source_id("/nonexistent/x.tar", NULL, f, &err) == -ENOENT, "a missing file (%s)",
       err.msg);
    rm_rf(tmp);
    free(one), free(two), free(one_v1), free(two_v1), free(one_ab), free(file);
}

int main(void)
{
    test_source_id();
    test_lxc_metadata();
    test_export_config();
    test_lxc_config();
    test_oci_index();
    test_oci_manifest_config();
    test_helpers();
    return done();
}
