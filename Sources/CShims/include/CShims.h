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

/// CRC32C (Castagnoli, RFC 3720 §12.1 / appendix B.4) over `length` bytes, continuing
/// from `crc` (pass 0 to start). Uses the SSE4.2 instruction when the CPU has it.
uint32_t iscsi_root_crc32c(uint32_t crc, const void *bytes, size_t length);

#endif
