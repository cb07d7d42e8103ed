#ifndef ISCSI_ROOT_CLIBKMOD_SHIM_H
#define ISCSI_ROOT_CLIBKMOD_SHIM_H
// libkmod: modules.dep lookups, aliases and loading, as modprobe does, without exec'ing
// anything. The static binary links the libkmod.a built by scripts/build-libkmod.sh.
#include <libkmod.h>
#endif
