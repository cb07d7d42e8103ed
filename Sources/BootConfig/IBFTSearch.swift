/// Where the agent looked for the firmware's iBFT, in order, and what each place held: the
/// boot log names the place a table came from ("iBFT from low memory at 0x9e620"), and the
/// plan error names every place looked at when none had one.
public struct IBFTSearch: Sendable, Equatable {
    /// The places an iBFT can be, in the order the agent looks.
    public enum Place: Sendable, Equatable {
        /// The ACPI tables under /sys/firmware/acpi/tables (UEFI and firmware that publish one).
        case acpi
        /// Legacy BIOS low memory 0x80000-0xFFFFF, read through `device` (/dev/mem).
        case lowMemory(device: String)
        /// The tree of the kernel's `iscsi_ibft` module; `loadedModule` when the agent loaded it.
        case sysfs(path: String, loadedModule: String?)
        /// A file or directory named by an option of `iscsi-root plan` (`--ibft FILE`).
        case given(String)
    }

    public enum Outcome: Sendable, Equatable {
        /// A table, with where exactly (`at 0x9e620`, the ACPI table's path).
        case found(String)
        /// None there; the note says what was passed over (rejected signatures), if anything.
        case absent(note: String?)
        /// The place could not be looked at, and why (no /dev/mem, module not loadable).
        case unreadable(String)
        /// The place was left out on purpose, and why (low memory on a UEFI boot).
        case skipped(String)
    }

    public struct Attempt: Sendable, Equatable {
        public var place: Place
        public var outcome: Outcome
    }

    public var attempts: [Attempt] = []

    public init() {}

    public mutating func record(_ place: Place, _ outcome: Outcome) {
        attempts.append(Attempt(place: place, outcome: outcome))
    }

    /// Where the table that was used came from, e.g. `iBFT from low memory at 0x9e620 (/dev/mem)`.
    public var source: String? {
        for attempt in attempts {
            guard case .found(let detail) = attempt.outcome else { continue }
            switch attempt.place {
            case .acpi: return "iBFT from the ACPI table \(detail)"
            case .lowMemory(let device): return "iBFT from low memory \(detail) (\(device))"
            case .sysfs(let path, _): return "iBFT from \(path)\(detail.isEmpty ? "" : " (\(detail))")"
            case .given(let what): return "iBFT from \(what)"
            }
        }
        return nil
    }

    /// Every place looked at and what it held, e.g. `not in ACPI (...), not in low memory ...`.
    public var placesLooked: String {
        guard !attempts.isEmpty else { return "no place was searched and no table was given" }
        return attempts.map(Self.describe).joined(separator: ", ")
    }

    private static func describe(_ attempt: Attempt) -> String {
        let place: String
        switch attempt.place {
        case .acpi:
            place = "ACPI (\(IBFT.acpiTablePaths.first ?? ""), \(IBFT.signatures.dropFirst().joined(separator: ", ")))"
        case .lowMemory(let device):
            place = "low memory 0x80000-0xFFFFF (\(device))"
        case .sysfs(let path, let module):
            place = path + (module.map { " after loading \($0)" } ?? "")
        case .given(let what):
            place = what
        }
        switch attempt.outcome {
        case .found(let detail): return "found in \(place) \(detail)"
        case .absent(let note): return "not in \(place)" + (note.map { " (passed over: \($0))" } ?? "")
        case .unreadable(let reason): return "not readable: \(place): \(reason)"
        case .skipped(let reason): return "not searched: \(place): \(reason)"
        }
    }
}

extension BootParameters {
    /// The parameter that asks for the firmware's targets or NICs (`rd.iscsi.firmware=1`,
    /// `ip=ibft`, `rd.iscsi.ibft=1`, `iscsi_firmware`, `iscsi_auto`, bare `netroot=iscsi`), or
    /// ISCSI_AUTO=true in the initramfs-tools file; nil when nothing asks. The agent searches
    /// low memory and loads `iscsi_ibft` only when asked.
    public func firmwareRequest(config: InitramfsToolsConfig?) -> ValueSource? {
        if let firmwareTargets { return firmwareTargets }
        if let firmwareNetwork { return firmwareNetwork }
        if let automatic = config?.automatic, automatic.value { return automatic.source }
        return nil
    }
}

extension BootConfigError {
    /// What a person should check when the firmware was asked for and gave nothing.
    static let firmwareCheck =
        "check that the firmware (iPXE sanhook/sanboot, the NIC's iSCSI boot ROM) is set to publish an iBFT"

    /// `request` asked for the firmware's targets and the search found no table.
    static func noFirmwareTable(request: String, search: IBFTSearch?) -> BootConfigError {
        BootConfigError(
            request,
            explanation: "no iBFT found: \((search ?? IBFTSearch()).placesLooked); \(firmwareCheck)")
    }

    /// `request` asked for the firmware's targets; the table has none the agent can use.
    static func noFirmwareTarget(request: String, search: IBFTSearch?) -> BootConfigError {
        BootConfigError(
            request,
            explanation:
                "the \((search?.source).map { $0 } ?? "iBFT") has no valid, boot-selected target with a name and an address; check the target the firmware is set to boot from (or rd.iscsi.mp=1 for every valid one)"
        )
    }
}

extension KernelCommandLine {
    /// The parameters that concern the agent's targets and network, as written, for an
    /// error that must say what it judged; secrets show as (set). Nil when there are none.
    func judgedParameters() -> String? {
        let keys: Set = ["root", "netroot", "iscsiroot", "iscsi", "ip", "BOOTIF", "bootdev", "rd.neednet"]
        let prefixes = ["rd.iscsi.", "iscsi_", "iscsi."]
        let judged = parameters.filter { parameter in
            keys.contains(parameter.key) || prefixes.contains { parameter.key.hasPrefix($0) }
        }
        guard !judged.isEmpty else { return nil }
        return judged.map { parameter in
            guard let value = parameter.value else { return parameter.key }
            // firstOccurrence, not contains(): _StringProcessing would add 1.3 MB to the binary.
            let secret =
                parameter.key.firstOccurrence(of: "password") != nil || parameter.key.firstOccurrence(of: "secret") != nil
            return parameter.key + "=" + (secret ? "(set)" : value)
        }.joined(separator: " ")
    }

    /// Every parameter as written, for an error about a command line with nothing of ours.
    var writtenParameters: String {
        parameters.map { $0.key + ($0.value.map { "=" + $0 } ?? "") }.joined(separator: " ")
    }

    /// The parameter named by `source` as written (`rd.iscsi.firmware=1`), else the source.
    func written(_ source: ValueSource) -> String {
        guard case .commandLine(let name) = source,
            let parameter = parameters.last(where: { $0.name == name })
        else { return source.description }
        return parameter.key + (parameter.value.map { "=" + $0 } ?? "")
    }
}
