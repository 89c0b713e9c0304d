/* lazy: the libraries lxm opens on first use (lazy-archive.h, lazy-nft.h,
 * image/lazy-curl.h, image/lazy-image.h). */
#pragma once

/* Close every library opened so far; the next use opens it again. For a
 * process that no longer needs them (the monitor): their code and data
 * stop taking its memory. No object of theirs may be alive. */
void lxm_lazy_unload(void);
