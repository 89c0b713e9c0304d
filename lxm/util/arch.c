/* arch: this machine's architecture (see arch.h). */
#include "util/arch.h"

#include <string.h>
#include <sys/utsname.h>

#include "util/cleanup.h"

const char *lxm_host_arch(void)
{
    static const struct { const char *uname, *debian; } map[] = {
        { "x86_64", "amd64" },  { "aarch64", "arm64" }, { "i686", "i386" },  { "i586", "i386" },
        { "i386", "i386" },     { "armv7l", "armhf" },  { "armv6l", "armel" }, { "ppc64le", "ppc64el" },
        { "s390x", "s390x" },   { "riscv64", "riscv64" }, { "mips64", "mips64el" },
    };
    struct utsname u;
    if (uname(&u) < 0)
        return "unknown";
    for (size_t i = 0; i < ARRAY_SIZE(map); i++)
        if (strcmp(u.machine, map[i].uname) == 0)
            return map[i].debian;
    return "unknown";
}
