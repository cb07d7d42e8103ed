import BootConfig
import Reports

/// A kernel command line of any bytes, resolved into a plan as at boot.
public func fuzzKernelCommandLine(_ bytes: [UInt8]) {
    _ = try? BootPlan.resolve(commandLine: KernelCommandLine(bytes: bytes), firmware: nil, config: nil, secrets: nil)
}

/// /etc/iscsi/iscsi.initramfs and /etc/iscsi-root/secrets of any bytes.
public func fuzzInitramfsConfig(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    _ = try? InitramfsToolsConfig.parse(text)
    _ = try? SecretsFile.parse(text)
}

/// An iBFT of any bytes, as the ACPI table and as a low-memory dump.
public func fuzzIBFT(_ bytes: [UInt8]) {
    _ = try? IBFT(bytes: bytes)
    if let table = IBFT.scanLowMemory(bytes, baseAddress: 0).table { _ = try? IBFT(bytes: table.bytes) }
}

/// A supervisor's `status --json` answer of any bytes, as hook mode reads it.
public func fuzzJSON(_ bytes: [UInt8]) {
    _ = try? JSON.read(bytes: bytes)
}
