#if canImport(Glibc)
    import Glibc
#endif
import CLibkmod
import LinuxSystem

/// Loads kernel modules from `/lib/modules/$(uname -r)` with libkmod, the way `modprobe`
/// does (dependencies and soft dependencies first), without running any helper program.
public struct KernelModules: ~Copyable {
    private let context: OpaquePointer

    /// Opens the module index of the running kernel. The corresponding C functions are
    /// `kmod_new` and `kmod_load_resources`.
    public init() throws(KernelModuleError) {
        guard let context = kmod_new(nil, nil) else {
            throw KernelModuleError(module: "*", reason: "cannot open the module index of the running kernel")
        }
        let result = kmod_load_resources(context)
        guard result == 0 else {
            kmod_unref(context)
            throw KernelModuleError(module: "*", reason: "cannot load the module index: \(Self.describe(result))")
        }
        self.context = context
    }

    deinit {
        kmod_unref(context)
    }

    /// Loads the modules that `nameOrAlias` resolves to (a module name such as `iscsi_tcp`,
    /// or a device's modalias) with their dependencies, and returns their names. Modules
    /// already loaded or built into the kernel count as loaded.
    ///
    /// - Parameter required: when false, an alias that no module provides returns `[]`
    ///   (a device without a driver in the initramfs) instead of throwing.
    @discardableResult
    public func load(_ nameOrAlias: String, required: Bool = true) throws(KernelModuleError) -> [String] {
        var list: OpaquePointer?
        let lookup = kmod_module_new_from_lookup(context, nameOrAlias, &list)
        guard lookup == 0 else {
            throw KernelModuleError(module: nameOrAlias, reason: "lookup failed: \(Self.describe(lookup))")
        }
        defer { kmod_module_unref_list(list) }
        guard list != nil else {
            if required {
                throw KernelModuleError(module: nameOrAlias, reason: "not in modules.dep or modules.alias of the initramfs")
            }
            return []
        }
        var names: [String] = []
        var entry = list
        // Bounded: a lookup list holds one entry per matching module.
        while let current = entry {
            guard let module = kmod_module_get_module(current) else { break }
            defer { kmod_module_unref(module) }
            let name = String(cString: kmod_module_get_name(module))
            // No install commands: this binary must never exec a helper (no shell exists).
            let flags = UInt32(KMOD_PROBE_IGNORE_COMMAND.rawValue)
            let result = kmod_module_probe_insert_module(module, flags, nil, nil, nil, nil)
            guard result >= 0 else {
                throw KernelModuleError(module: name, reason: Self.describe(result))
            }
            names.append(name)
            entry = kmod_list_next(list, current)
        }
        return names
    }

    /// Loads the drivers of the devices present on `bus` (`pci`, `virtio`, ...), from each
    /// device's `modalias` in sysfs, as udev's coldplug would. Returns the modules loaded.
    public func loadDrivers(forDevicesOnBus bus: String) throws(KernelModuleError) -> [String] {
        var names: [String] = []
        for alias in Self.deviceAliases(onBus: bus) {
            for name in try load(alias, required: false) where !names.contains(name) {
                names.append(name)
            }
        }
        return names
    }

    /// The `modalias` of each device under /sys/bus/BUS/devices (none if the bus is absent).
    private static func deviceAliases(onBus bus: String) -> [String] {
        let devicesPath = "/sys/bus/\(bus)/devices"
        guard let directory = opendir(devicesPath) else { return [] }
        defer { closedir(directory) }
        var aliases: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard !name.hasPrefix(".") else { continue }
            if let alias = readFirstLine("\(devicesPath)/\(name)/modalias"), !alias.isEmpty {
                aliases.append(alias)
            }
        }
        return aliases.sorted()
    }

    private static func readFirstLine(_ path: String) -> String? {
        readText(path).map { String($0.prefix { $0 != "\n" }) }
    }

    /// libkmod returns negative errno values.
    private static func describe(_ result: Int32) -> String {
        String(cString: strerror(-result))
    }
}

/// A module that could not be found or loaded, named, with the kernel's or libkmod's reason.
public struct KernelModuleError: Error, CustomStringConvertible {
    public let module: String
    public let reason: String

    public var description: String { "module \(module): \(reason)" }
}
