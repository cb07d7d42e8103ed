#ifndef ISCSI_ROOT_CRUNTIMECOMPAT_H
#define ISCSI_ROOT_CRUNTIMECOMPAT_H

// This target exports nothing to Swift: it is linked into the iscsi-root executable only
// for the definitions in runtime_compat.c, which the Swift runtime itself calls.

#endif
