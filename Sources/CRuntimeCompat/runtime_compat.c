// Lets the statically linked Swift binary run as PID 1 of an initramfs, before /proc is
// mounted. Without this, a static Swift runtime started by the kernel
//   - aborts with "Unable to obtain Swift runtime path": it looks for its own location
//     with dladdr() and /proc/self/exe, which a static binary without /proc cannot answer;
//   - leaves CommandLine.arguments empty: it reads the arguments from /proc/self/cmdline.
// Linked into SwiftPM's iscsi-root executable only (see Package.swift). The shipped binary
// is built in Embedded Swift by mk/static.mk, which has no such runtime and does not link
// this; these paths matter to a normal-mode static build (-static-executable with
// -DISCSI_ROOT_STATIC_EXECUTABLE), kept buildable for comparison.

#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

// In a dynamically linked build these definitions would interpose on libswiftCore.so's
// own, which work there.
#ifdef ISCSI_ROOT_STATIC_EXECUTABLE

// The runtime uses these paths only to find optional parts installed beside it (the
// swift-backtrace helper, resources); NULL means "not available", which the runtime
// handles, instead of the abort it does when its own lookup fails.
const char *swift_getRuntimeLibraryPath(void) { return NULL; }

const char *swift_getRootPath(void) { return NULL; }

char *swift_copyAuxiliaryExecutablePath(const char *name) {
    (void)name;
    return NULL;
}

#endif

// Declared in the Swift runtime (stdlib/public/stubs/CommandLine.cpp).
void _swift_stdlib_overrideUnsafeArgvArgc(char **argv, int argc);

// glibc calls ELF constructors with (argc, argv, envp), in static executables too; the
// runtime then serves CommandLine.arguments from these instead of /proc/self/cmdline.
__attribute__((constructor)) static void iscsi_root_hand_arguments_to_swift(int argc, char **argv, char **envp) {
    (void)envp;
    _swift_stdlib_overrideUnsafeArgvArgc(argv, argc);
}

// As PID 1 the kernel's random pool may not be initialised yet (a VM without RDRAND or
// virtio-rng: about 1.1 s under QEMU TCG), and the Swift runtime's hash seed would block in
// getrandom() during static initialisation. PID 1 of the initramfs only hashes bounded,
// parsed input, so a fixed seed costs nothing there; SwitchRoot removes the variable before
// it executes the real init. Priority 101 runs this before the runtime's own initialisers.
__attribute__((constructor(101))) static void iscsi_root_avoid_blocking_hash_seed(void) {
    if (getpid() == 1) setenv("SWIFT_DETERMINISTIC_HASHING", "1", 1);
}
