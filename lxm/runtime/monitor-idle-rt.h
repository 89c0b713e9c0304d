/* monitor-idle-rt.h: read first by every file of lxm-monitor-idle when it
 * is built without libc (Makefile.am, -include; after every -D of the
 * command line, so it has the last word). glibc's headers serve for
 * types and declarations only: nothing may call glibc's fortified
 * __*_chk functions, whatever _FORTIFY_SOURCE a distribution's CPPFLAGS
 * set (dpkg-buildflags does). A stack protector is fine: the runtime
 * (monitor-idle-rt.c) sets up its canary. */
#pragma once

#undef _FORTIFY_SOURCE

/* A small variable the idle monitor writes, put in .data: with the link
 * order of Makefile.am, .data and the start of .bss (struct monitor's
 * fields, its id map last) then share one page, where a variable of .bss
 * past the map would dirty a page of its own. */
#define LXM_IDLE_DATA __attribute__((section(".data")))
