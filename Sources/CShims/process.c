#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <unistd.h>
#include "CShims.h"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif

int iscsi_root_set_io_flusher(void) { return prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0); }

int iscsi_root_reboot(int command) { return reboot(command); }

int iscsi_root_private_mounts_without(const char *detached) {
    if (unshare(CLONE_NEWNS) != 0) return -1;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) return -1;
    if (detached == NULL) return 0;
    return umount2(detached, MNT_DETACH);
}

int iscsi_root_private_root_with_kernel_mounts(const char *directory) {
    static const char *const kept[] = {"/dev", "/proc", "/sys", "/run"};
    char path[256];
    if (iscsi_root_private_mounts_without(NULL) != 0) return -1;
    if (mkdir(directory, 0700) != 0 && errno != EEXIST) return -1;
    if (mount("tmpfs", directory, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k") != 0) return -1;
    for (unsigned i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        if (snprintf(path, sizeof path, "%s%s", directory, kept[i]) >= (int)sizeof path) {
            errno = ENAMETOOLONG;
            return -1;
        }
        if (mkdir(path, 0755) != 0) return -1;
        if (mount(kept[i], path, NULL, MS_BIND | MS_REC, NULL) != 0) return -1;
    }
    if (chdir(directory) != 0 || chroot(".") != 0 || chdir("/") != 0) return -1;
    return 0;
}
