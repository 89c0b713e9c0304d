/* arch: this machine's architecture, for templates, image formats and
 * image servers alike. */
#pragma once

/* This machine's architecture in Debian's spelling (amd64, arm64, ...). */
const char *lxm_host_arch(void);
