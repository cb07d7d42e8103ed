// swift-tools-version:6.0
import PackageDescription

// Pure modules (ISCSI, BootConfig) do no I/O; system modules (LinuxSystem, Initiator) are
// thin wrappers tested for real. `Commands` holds every person-facing command so that
// tests drive them directly and `iscsi-root` only dispatches.
let package = Package(
    name: "iscsi-root",
    products: [
        .executable(name: "iscsi-root", targets: ["iscsi-root"])
    ],
    targets: [
        .target(name: "CShims"),
        .systemLibrary(
            name: "CLibcrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(name: "ISCSI", dependencies: ["CShims", "CLibcrypto"]),
        .target(name: "BootConfig", dependencies: ["ISCSI"]),
        .target(name: "LinuxSystem", dependencies: ["CShims"]),
        .target(name: "Initiator", dependencies: ["ISCSI", "LinuxSystem"]),
        .target(name: "KernelSession", dependencies: ["ISCSI", "LinuxSystem"]),
        .target(name: "NetworkSetup", dependencies: ["LinuxSystem", "CShims"]),
        .target(name: "Commands", dependencies: ["ISCSI", "BootConfig", "Initiator", "LinuxSystem"]),
        .systemLibrary(name: "CLibkmod", pkgConfig: "libkmod", providers: [.apt(["libkmod-dev"])]),
        .systemLibrary(name: "CLibblkid", pkgConfig: "blkid", providers: [.apt(["libblkid-dev"])]),
        .target(name: "Agent", dependencies: ["LinuxSystem", "CLibkmod", "CLibblkid", "BootConfig", "KernelSession", "ISCSI"]),
        // Link-only: lets the static binary run as PID 1 before /proc exists (executable only).
        .target(name: "CRuntimeCompat"),
        .executableTarget(name: "iscsi-root", dependencies: ["Commands", "Agent", "CRuntimeCompat"]),
        .testTarget(name: "ISCSITests", dependencies: ["ISCSI"]),
        .testTarget(name: "AgentTests", dependencies: ["Agent"]),
        .testTarget(name: "BootConfigTests", dependencies: ["BootConfig", "Commands"], exclude: ["Resources"]),
        .testTarget(name: "LinuxSystemTests", dependencies: ["LinuxSystem"]),
        .testTarget(name: "InitiatorTests", dependencies: ["Initiator", "ISCSI", "LinuxSystem", "Commands"]),
        .testTarget(name: "NetworkSetupTests", dependencies: ["NetworkSetup"]),
    ]
)
