# The static iscsi-root: one self-contained binary for the initramfs (no shared library
# can be loaded before the root is mounted, nor after the initramfs is gone).
# Included by the top Makefile; paths are relative to the repository root.
#
# It is built in Embedded Swift: the stdlib is compiled into the binary as far as it is used,
# with no runtime library and no reflection metadata (about a third of the size of the same
# sources linked with the static Swift runtime). The normal SwiftPM build and `swift test`
# compile the same sources in normal mode; Embedded mode has no test framework.
#
# SwiftPM cannot drive Embedded mode for an executable with C targets and system libraries,
# so this file calls swiftc and clang itself: one whole-module compile per module of
# Package.swift, in dependency order, then one static link. Nothing else in the repository
# builds the shipped binary: the initramfs, the VM suites, install and the .deb take
# $(STATIC_BINARY) from here.

STATIC_BINARY := cache/bin/iscsi-root
LIBKMOD_STATIC := cache/libkmod/lib/libkmod.a
EMBEDDED_BUILD := .build-embedded
SWIFTC ?= swiftc
CLANG ?= clang
EMBEDDED_LIBRARIES = $(dir $(shell command -v $(SWIFTC)))../lib/swift/embedded/x86_64-unknown-linux-gnu

# The Swift modules of the binary in dependency order (each after everything it imports;
# Package.swift has the graph). `static-modules-check` fails when a module is added to
# Sources/ without being listed here or in EMBEDDED_EXCLUDED.
EMBEDDED_MODULES := ISCSI Reports NetworkAddresses BootConfig LinuxSystem Multipath Initiator KernelSession \
	NetworkSetup DomainValidation Agent Commands
# Not part of the shipped binary: the fuzzers, and CRuntimeCompat (the normal mode's
# PID-1 runtime workarounds; EmbeddedGlibc is the Embedded build's libc module).
EMBEDDED_EXCLUDED := FuzzTargets iscsi-root-fuzz iscsi-root CRuntimeCompat EmbeddedGlibc CShims CLibkmod CLibblkid
# C sources of the binary: the project's shims and the Embedded libc stand-in.
EMBEDDED_C_SOURCES := $(wildcard Sources/CShims/*.c) Sources/EmbeddedGlibc/embedded_runtime.c

# Size flags: -Osize; -function-sections, without which every module's object carries its
# own weak copies of the generic stdlib code it specialises in sections --gc-sections cannot
# drop one by one; gold's --icf=safe folds identical functions whose address is never taken.
# Tried and not kept on the earlier runtime-linked build: --icf=all (folds functions whose
# addresses are compared), lld, full LTO, the machine outliner.
EMBEDDED_SWIFT_FLAGS := -enable-experimental-feature Embedded -target x86_64-unknown-linux-gnu \
	-wmo -Osize -Xfrontend -function-sections -parse-as-library -package-name iscsi_root -swift-version 6 \
	-I $(EMBEDDED_BUILD)/modules -I $(EMBEDDED_BUILD)/cshims -I Sources/EmbeddedGlibc/include \
	-I Sources/CLibkmod -I Sources/CLibblkid
EMBEDDED_C_FLAGS := -Os -ffunction-sections -fdata-sections -ISources/CShims/include -ISources/EmbeddedGlibc/include
# The module maps' `link` lines are not applied in this mode: every library is named here
# (-lm: Dictionary's growth uses ceil; the Unicode tables: Character properties, case).
EMBEDDED_LINK_FLAGS := -static -fuse-ld=gold -Wl,--gc-sections -Wl,--icf=safe -Wl,--strip-all \
	-L$(dir $(LIBKMOD_STATIC)) -lkmod -lblkid -L$(EMBEDDED_LIBRARIES) -lswiftUnicodeDataTables -lm

EMBEDDED_OBJECTS := $(EMBEDDED_MODULES:%=$(EMBEDDED_BUILD)/%.o) $(EMBEDDED_BUILD)/Glibc.o \
	$(EMBEDDED_BUILD)/main.o $(EMBEDDED_C_SOURCES:Sources/%.c=$(EMBEDDED_BUILD)/c/%.o)

.PHONY: static libkmod static-modules-check static-deps

static: static-modules-check $(STATIC_BINARY)
	@if ! file -b $(STATIC_BINARY) | grep -Eq 'statically linked|static-pie linked'; then \
		echo "static: $(STATIC_BINARY) is not statically linked: $$(file -b $(STATIC_BINARY))" >&2; exit 1; fi
	@if ldd $(STATIC_BINARY) >/dev/null 2>&1; then \
		echo "static: ldd lists shared libraries for $(STATIC_BINARY):" >&2; ldd $(STATIC_BINARY) >&2; exit 1; fi
	@echo "static: $(STATIC_BINARY) $$(stat -c %s $(STATIC_BINARY)) bytes ($$(du -h $(STATIC_BINARY) | cut -f1)), $$(file -b $(STATIC_BINARY) | cut -d, -f1-5)"

static-modules-check:
	@for module in $$(ls Sources); do \
		case " $(EMBEDDED_MODULES) $(EMBEDDED_EXCLUDED) " in *" $$module "*) ;; \
		*) echo "static: Sources/$$module is neither in EMBEDDED_MODULES nor in EMBEDDED_EXCLUDED of mk/static.mk" >&2; exit 1;; esac; \
	done

# The headers of libkmod and libblkid (Agent imports them) and the link's tools; order-only,
# so that it runs first without making anything out of date.
static-deps:
	scripts/install-deps.sh --set libkmod

$(STATIC_BINARY): $(EMBEDDED_OBJECTS) $(LIBKMOD_STATIC)
	@mkdir -p $(dir $@)
	$(CLANG) -o $@.tmp $(EMBEDDED_OBJECTS) $(EMBEDDED_LINK_FLAGS)
	mv $@.tmp $@

# The Embedded stand-in for the Glibc module: every source keeps its `import Glibc`.
$(EMBEDDED_BUILD)/Glibc.o: Sources/EmbeddedGlibc/Glibc.swift Sources/EmbeddedGlibc/include/CEmbeddedLibc.h mk/static.mk \
		| static-deps
	@mkdir -p $(EMBEDDED_BUILD)/modules
	$(SWIFTC) $(EMBEDDED_SWIFT_FLAGS) -module-name Glibc -emit-module-path $(EMBEDDED_BUILD)/modules/Glibc.swiftmodule -c $< -o $@
	touch $@

# SwiftPM writes a module map for a C target with an include/ folder; so does this.
$(EMBEDDED_BUILD)/cshims/module.modulemap: Package.swift
	@mkdir -p $(dir $@)
	printf 'module CShims {\n    header "%s"\n    export *\n}\n' $(CURDIR)/Sources/CShims/include/CShims.h >$@

# One rule per module; a module is rebuilt when its sources or anything before it changes
# (every module listed before it: a superset of its imports), or a file is added or removed
# (the folder's time). swiftc leaves an object that
# did not change untouched, hence the `touch`: make would otherwise rebuild it every time.
define embedded_module
$(EMBEDDED_BUILD)/$(1).o: Sources/$(1) $(wildcard Sources/$(1)/*.swift) $(2) $(EMBEDDED_BUILD)/Glibc.o $(EMBEDDED_BUILD)/cshims/module.modulemap \
		$(wildcard Sources/CShims/include/*.h)
	$(SWIFTC) $(EMBEDDED_SWIFT_FLAGS) -module-name $(1) -emit-module-path $(EMBEDDED_BUILD)/modules/$(1).swiftmodule \
		-c $(wildcard Sources/$(1)/*.swift) -o $$@
	touch $$@
endef
EMBEDDED_BEFORE :=
$(foreach module,$(EMBEDDED_MODULES),$(eval $(call embedded_module,$(module),$(EMBEDDED_BEFORE))) \
	$(eval EMBEDDED_BEFORE += $(EMBEDDED_BUILD)/$(module).o))

$(EMBEDDED_BUILD)/main.o: Sources/iscsi-root/main.swift $(EMBEDDED_MODULES:%=$(EMBEDDED_BUILD)/%.o)
	$(SWIFTC) $(filter-out -parse-as-library,$(EMBEDDED_SWIFT_FLAGS)) -module-name iscsi_root -c $< -o $@
	touch $@

$(EMBEDDED_BUILD)/c/%.o: Sources/%.c $(wildcard Sources/CShims/include/*.h Sources/EmbeddedGlibc/include/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(EMBEDDED_C_FLAGS) -c $< -o $@

libkmod: $(LIBKMOD_STATIC)

$(LIBKMOD_STATIC):
	scripts/build-libkmod.sh
