// C half of the Embedded build's stand-in for the Glibc module (see Glibc.swift), linked into
// the Embedded binary only: the normal build gets all of this from the Glibc overlay and the
// Swift runtime.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "CEmbeddedLibc.h"

int iscsi_root_embedded_errno(void) { return errno; }
void iscsi_root_embedded_set_errno(int value) { errno = value; }

int iscsi_root_embedded_open(const char *path, int flags, mode_t mode) { return open(path, flags, mode); }
int iscsi_root_embedded_openat(int directory, const char *path, int flags, mode_t mode) {
    return openat(directory, path, flags, mode);
}
int iscsi_root_embedded_fcntl(int descriptor, int command, long argument) {
    return fcntl(descriptor, command, argument);
}
int iscsi_root_embedded_ioctl(int descriptor, unsigned long request, void *argument) {
    return ioctl(descriptor, request, argument);
}

// Embedded Swift has no CommandLine: glibc calls ELF constructors with (argc, argv, envp), in
// static executables too, before anything of Swift runs.
static int saved_argc;
static char **saved_argv;
__attribute__((constructor)) static void iscsi_root_embedded_save_arguments(int argc, char **argv, char **envp) {
    (void)envp;
    saved_argc = argc;
    saved_argv = argv;
}
int iscsi_root_embedded_argc(void) { return saved_argc; }
char **iscsi_root_embedded_argv(void) { return saved_argv; }

// The Embedded stdlib seeds Hasher (every Dictionary and Set) through arc4random_buf, and
// glibc's calls getrandom(2) without GRND_NONBLOCK: as PID 1, before the kernel's pool is
// ready (seconds under emulation without RDRAND or virtio-rng), the first Dictionary would
// stall the boot. glibc defines arc4random_buf weak, so this strong definition replaces it
// for everything in the binary. A hash seed needs to be unpredictable, not secret: the
// pool when it is ready, otherwise a mix of clocks, addresses and the process id. Secrets
// (a CHAP challenge) never come from here: LinuxSystem.secureRandomBytes calls a blocking
// getrandom directly.
static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void arc4random_buf(void *buffer, size_t length) {
    unsigned char *bytes = buffer;
    size_t filled = 0;
    while (filled < length) {
        ssize_t got = getrandom(bytes + filled, length - filled, GRND_NONBLOCK);
        if (got > 0) {
            filled += (size_t)got;
        } else if (got < 0 && errno == EINTR) {
            continue;
        } else {
            break;  // EAGAIN: the pool is not ready; ENOSYS: no getrandom at all.
        }
    }
    if (filled == length) return;
    struct timespec monotonic = {0, 0}, realtime = {0, 0};
    clock_gettime(CLOCK_MONOTONIC, &monotonic);
    clock_gettime(CLOCK_REALTIME, &realtime);
    uint64_t state = (uint64_t)monotonic.tv_nsec ^ ((uint64_t)monotonic.tv_sec << 32) ^
                     (uint64_t)realtime.tv_nsec * 0x100000001b3ULL ^ ((uint64_t)realtime.tv_sec << 20) ^
                     (uint64_t)(uintptr_t)&state ^ ((uint64_t)(uintptr_t)buffer << 7) ^ ((uint64_t)getpid() << 48);
    while (filled < length) {
        uint64_t word = splitmix64(&state);
        size_t count = length - filled < sizeof word ? length - filled : sizeof word;
        memcpy(bytes + filled, &word, count);
        filled += count;
    }
}

uint32_t arc4random(void) {
    uint32_t value;
    arc4random_buf(&value, sizeof value);
    return value;
}
