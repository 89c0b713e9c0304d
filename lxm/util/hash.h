/* FNV-1a, 32 bits: a short stable hash for names lxm derives (host
 * interface names, MACs, the instance tag of a --root). Not for security. */
#pragma once

#include <stdint.h>

#define LXM_FNV1A_INIT 2166136261u

/* Continue hash h over the bytes of s (NULL is empty). */
static inline uint32_t lxm_fnv1a(uint32_t h, const char *s)
{
    for (; s && *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}
