// swift-tools-version:6.0
import PackageDescription

// Pure modules (ISCSI, BootConfig, Multipath) do no I/O; system modules (LinuxSystem, Initiator) are
// thin wrappers tested for real. `Commands` holds every person-facing command so that
// tests drive them directly and `iscsi-root` only dispatches.
let package = Package(
    name: "iscsi-root",
    products: [
        .executable(name: "iscsi-root", targets: ["iscsi-root"])
    ],
    targets: [
        .target(name: "CShims"),
        .target(name: "ISCSI", dependencies: ["CShims"]),
        // Machine-readable output (JSON) shared by `plan`, `status` and the probes.
        .target(name: "Reports"),
        // IP and MAC address values, shared by the boot plan and the network setup.
        .target(name: "NetworkAddresses"),
        .target(name: "BootConfig", dependencies: ["ISCSI", "Reports", "NetworkAddresses"]),
        .target(name: "LinuxSystem", dependencies: ["CShims"]),
        // dm-multipath as values: the table, its status, the path policy (no I/O; the
        // device numbers are LinuxSystem's, next to the device-mapper codec).
        .target(name: "Multipath", dependencies: ["LinuxSystem"]),
        .target(name: "Initiator", dependencies: ["ISCSI", "LinuxSystem"]),
        .target(name: "KernelSession", dependencies: ["ISCSI", "LinuxSystem"]),
        .target(name: "NetworkSetup", dependencies: ["LinuxSystem", "CShims", "NetworkAddresses"]),
        .target(name: "DomainValidation", dependencies: ["ISCSI", "Initiator", "KernelSession", "LinuxSystem"]),
        .target(
            name: "Commands",
            dependencies: ["ISCSI", "BootConfig", "Initiator", "KernelSession", "LinuxSystem", "Agent", "Reports", "DomainValidation"]),
        .systemLibrary(name: "CLibkmod", pkgConfig: "libkmod", providers: [.apt(["libkmod-dev"])]),
        .systemLibrary(name: "CLibblkid", pkgConfig: "blkid", providers: [.apt(["libblkid-dev"])]),
        .target(
            name: "Agent",
            dependencies: [
                "LinuxSystem", "CLibkmod", "CLibblkid", "CShims", "BootConfig", "KernelSession", "ISCSI", "Initiator", "NetworkSetup", "Reports", "Multipath",
            ]),
        // Link-only: lets the static binary run as PID 1 before /proc exists (executable only).
        .target(name: "CRuntimeCompat"),
        .executableTarget(name: "iscsi-root", dependencies: ["Commands", "Agent", "CRuntimeCompat"]),
        // Fuzzing: entry points per decoder, and the libFuzzer driver / corpus replayer.
        .target(name: "FuzzTargets", dependencies: ["ISCSI", "BootConfig", "LinuxSystem", "Multipath", "Reports", "NetworkSetup"]),
        .executableTarget(name: "iscsi-root-fuzz", dependencies: ["FuzzTargets"]),
        .testTarget(name: "ISCSITests", dependencies: ["ISCSI"]),
        .testTarget(name: "AgentTests", dependencies: ["Agent", "Reports"]),
        .testTarget(name: "BootConfigTests", dependencies: ["BootConfig", "ISCSI"], exclude: ["Resources"]),
        .testTarget(name: "LinuxSystemTests", dependencies: ["LinuxSystem"]),
        .testTarget(name: "FuzzReplayTests", dependencies: ["FuzzTargets"]),
        .testTarget(name: "InitiatorTests", dependencies: ["Initiator", "ISCSI", "LinuxSystem", "Commands", "Agent"]),
        .testTarget(name: "DomainValidationTests", dependencies: ["DomainValidation", "ISCSI"]),
        .testTarget(name: "NetworkSetupTests", dependencies: ["NetworkSetup"]),
        .testTarget(name: "KernelSessionTests", dependencies: ["KernelSession", "ISCSI"]),
        .testTarget(name: "MultipathTests", dependencies: ["Multipath", "LinuxSystem"]),
    ]
)
