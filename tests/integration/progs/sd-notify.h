/* sd-notify: the sending side of the notify protocol for the test inits
 * (fake-systemd.c, notify-init.c): one datagram on $NOTIFY_SOCKET. Built
 * into each of them at test time; no library of lxm. */
#pragma once

/* Send msg ("READY=1\nSTATUS=...") to $NOTIFY_SOCKET; nothing when it is
 * unset or too long for a socket address, or the send fails. */
void sd_notify_send(const char *msg);
