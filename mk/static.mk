# The static iscsi-root: one self-contained binary for the initramfs (no shared library
# can be loaded before the root is mounted, nor after the initramfs is gone).
# Included by the top Makefile; paths are relative to the repository root.

STATIC_SCRATCH_PATH := .build-static
STATIC_BINARY := cache/bin/iscsi-root
LIBKMOD_STATIC := cache/libkmod/lib/libkmod.a

.PHONY: static libkmod

# `-static-executable` links glibc and the Swift runtime statically; its warnings about
# dlopen/getaddrinfo/getpw* in static glibc are harmless as long as we never call them.
# ISCSI_ROOT_STATIC_EXECUTABLE switches on CRuntimeCompat's PID-1 runtime paths.
# Size flags, each measured on the stripped binary (9,149,008 bytes without them): -Osize
# -205 KB; -function-sections lets the linker's --gc-sections (SwiftPM passes it) drop our
# unused functions, -147 KB; gold's --icf=safe folds identical functions whose address is
# never taken, -143 KB. Tried and not kept: --icf=all (-168 KB more, but folds functions
# whose addresses are compared), lld (-32 KB), full LTO (no gain over these), the machine outliner.
STATIC_SIZE_FLAGS := -Xswiftc -Osize -Xswiftc -Xfrontend -Xswiftc -function-sections -Xlinker --icf=safe

static: $(LIBKMOD_STATIC)
	scripts/install-deps.sh --set libkmod
	swift build -c release --product iscsi-root --scratch-path $(STATIC_SCRATCH_PATH) \
		-Xswiftc -static-executable -Xcc -DISCSI_ROOT_STATIC_EXECUTABLE $(STATIC_SIZE_FLAGS) \
		-Xlinker -L$(CURDIR)/$(dir $(LIBKMOD_STATIC)) -Xlinker --strip-all
	@mkdir -p $(dir $(STATIC_BINARY))
	cp $$(swift build -c release --scratch-path $(STATIC_SCRATCH_PATH) --show-bin-path)/iscsi-root $(STATIC_BINARY)
	@if ! file -b $(STATIC_BINARY) | grep -Eq 'statically linked|static-pie linked'; then \
		echo "static: $(STATIC_BINARY) is not statically linked: $$(file -b $(STATIC_BINARY))" >&2; exit 1; fi
	@if ldd $(STATIC_BINARY) >/dev/null 2>&1; then \
		echo "static: ldd lists shared libraries for $(STATIC_BINARY):" >&2; ldd $(STATIC_BINARY) >&2; exit 1; fi
	@echo "static: $(STATIC_BINARY) $$(stat -c %s $(STATIC_BINARY)) bytes ($$(du -h $(STATIC_BINARY) | cut -f1)), $$(file -b $(STATIC_BINARY) | cut -d, -f1-5)"

libkmod: $(LIBKMOD_STATIC)

$(LIBKMOD_STATIC):
	scripts/build-libkmod.sh
