#ifndef ISCSI_ROOT_CSHIMS_H
#define ISCSI_ROOT_CSHIMS_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/if_packet.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <sys/random.h>

/// CRC32C (Castagnoli, RFC 3720 §12.1 / appendix B.4) over `length` bytes, continuing
/// from `crc` (pass 0 to start). Uses the SSE4.2 instruction when the CPU has it.
uint32_t iscsi_root_crc32c(uint32_t crc, const void *bytes, size_t length);

/// The user id of the process at the other end of a Unix socket (SO_PEERCRED); 0 on
/// success, -1 with errno set otherwise.
int iscsi_root_peer_user_id(int descriptor, uint32_t *user_id);

/// prctl(PR_SET_IO_FLUSHER, 1): memory reclaim will not wait on this process's own I/O
/// (Linux 5.6+). prctl is variadic, which Swift cannot call. 0 on success, -1 with errno.
int iscsi_root_set_io_flusher(void);

/// Gives the calling process a private copy of the mount tree (unshare(CLONE_NEWNS),
/// MS_REC|MS_PRIVATE) and detaches `detached` from that copy, so that the process holds no
/// reference to that filesystem (NULL: detach nothing; hook mode takes its copy before the
/// root is mounted). 0 on success, -1 with errno.
int iscsi_root_private_mounts_without(const char *detached);

/// Hook mode: a private copy of the mount tree (as above) whose root is a small tmpfs at
/// `directory` holding recursive binds of /dev, /proc, /sys and /run, entered with chroot.
/// The framework's switch_root empties the initramfs, deleting its /proc, /sys, /dev and
/// /run folders, and the kernel detaches every namespace's mounts on a deleted folder: with
/// the initramfs as root, those mounts would vanish from the process's view; under this
/// root they stay (a detached mount keeps its submounts). 0 on success, -1 with errno.
int iscsi_root_private_root_with_kernel_mounts(const char *directory);

/// reboot(2) with a LINUX_REBOOT_CMD_* value; <sys/reboot.h> is not in Glibc's module map.
int iscsi_root_reboot(int command);

#endif
