/* SHA-256 (FIPS 180-4): incremental hashing for image cache checksums, and
 * a whole-file helper. Self-contained so the core needs no crypto library. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct sha256_ctx {
    uint32_t h[8];
    uint64_t len;               /* bytes hashed so far */
    uint8_t buf[64];
    size_t nbuf;
    int shani;                  /* the CPU has SHA extensions (x86-64) */
};

void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
/* Finish and write the digest as 64 lowercase hex digits plus NUL. */
void sha256_final_hex(struct sha256_ctx *c, char hex[65]);

/* Hash a whole file; 0 or -errno. */
int sha256_file(const char *path, char hex[65]);
/* Hash what is left to read of fd; 0 or -errno. */
int sha256_fd(int fd, char hex[65]);
