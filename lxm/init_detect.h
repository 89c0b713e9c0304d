/* init_detect: which init a root filesystem boots, for rootfs trees whose
 * template cannot know it (--from tarballs, imported images). */
#pragma once

/* The halt signal the init at path init (absolute, inside rootfs) wants,
 * when it is one lxm knows: systemd (the file, after every symlink inside
 * the root, is named systemd) wants SIGRTMIN+3. 1 and *halt set when
 * known, 0 when not (missing, another init); never follows a link out of
 * rootfs. */
int lxm_init_detect_halt(const char *rootfs, const char *init, int *halt);
