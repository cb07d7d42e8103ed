#ifndef ISCSI_ROOT_CLIBBLKID_SHIM_H
#define ISCSI_ROOT_CLIBBLKID_SHIM_H
// libblkid: filesystem and partition-table probing to resolve root=UUID=/LABEL=/PART*=.
#include <blkid/blkid.h>
#endif
