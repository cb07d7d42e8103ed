/// Entry points for fuzzing the pure decoders: each takes arbitrary bytes and must return
/// for every input — a trap is a bug. libFuzzer drives them through `iscsi-root-fuzz` in
/// `make fuzz`; `make check` replays the saved corpus (Tests/Fuzz/Corpus/<name>/) through
/// the same functions without the fuzzer.
public struct FuzzTarget: Sendable {
    /// Also the name of the target's corpus folder.
    public let name: String
    public let run: @Sendable ([UInt8]) -> Void

    public init(_ name: String, _ run: @escaping @Sendable ([UInt8]) -> Void) {
        self.name = name
        self.run = run
    }
}

/// Every fuzz target. Adding a decoder is one line here (and a folder of seed inputs).
public let allFuzzTargets: [FuzzTarget] = [
    FuzzTarget("pdu", fuzzPDUStream),
    FuzzTarget("text-keys", fuzzTextKeys),
    FuzzTarget("login-response", fuzzLoginResponse),
    FuzzTarget("scsi-data", fuzzSCSIData),
    FuzzTarget("sense-data", fuzzSenseData),
    FuzzTarget("kernel-command-line", fuzzKernelCommandLine),
    FuzzTarget("initramfs-config", fuzzInitramfsConfig),
    FuzzTarget("ibft", fuzzIBFT),
    FuzzTarget("json", fuzzJSON),
    FuzzTarget("dhcpv6-message", fuzzDHCPv6Message),
    FuzzTarget("device-mapper-reply", fuzzDeviceMapperReply),
    FuzzTarget("multipath-status", fuzzMultipathStatus),
]

public func fuzzTarget(named name: String) -> FuzzTarget? {
    allFuzzTargets.first { $0.name == name }
}
