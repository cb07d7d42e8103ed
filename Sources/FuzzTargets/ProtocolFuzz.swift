import ISCSI

/// A byte stream from a target: framed into PDUs (with and without digests) and each PDU
/// decoded as whatever its opcode says.
public func fuzzPDUStream(_ bytes: [UInt8]) {
    for digests in [DigestSettings.none, DigestSettings(header: true, data: true)] {
        var decoder = PDUDecoder(digests: digests, maxDataSegmentLength: 1 << 16)
        decoder.append(bytes)
        // Each PDU consumes at least 48 bytes, so this ends.
        while let pdu = try? decoder.nextPDU() {
            _ = try? TargetMessage(pdu)
            _ = try? SCSICommand(pdu)
        }
    }
}

/// Login and Text data segments: key=value text, also split at every point as the C bit
/// would split it.
public func fuzzTextKeys(_ bytes: [UInt8]) {
    _ = try? TextKeys.decode(bytes)
    var accumulator = TextAccumulator(maximumTextLength: 4096)
    let middle = bytes.count / 2
    _ = try? accumulator.append(bytes[..<middle], isFinal: false)
    _ = try? accumulator.append(bytes[middle...], isFinal: true)
    _ = try? BinaryValue.decode(String(decoding: bytes, as: UTF8.self))
}

/// Login Responses from a hostile target fed to the login state machine at each stage,
/// with CHAP configured so the CHAP parsing is reached too.
public func fuzzLoginResponse(_ bytes: [UInt8]) {
    var configuration = LoginConfiguration(
        initiatorName: "iqn.2024-01.org.iscsi-root:fuzz", targetName: "iqn.2024-01.org.iscsi-root:target",
        isid: [0x80, 0, 0, 0, 0, 1], portalDescription: "fuzz")
    configuration.initiatorTaskTag = nil
    configuration.authentication = .chap(
        CHAPConfiguration(
            credentials: CHAPCredentials(userName: "user", secret: CHAPSecret("secret")),
            mutual: CHAPCredentials(userName: "target", secret: CHAPSecret("target-secret")), mutualChallenge: [1, 2, 3, 4]))
    var machine = LoginStateMachine(configuration: configuration)
    _ = machine.start()
    var decoder = PDUDecoder(maxDataSegmentLength: 1 << 16)
    decoder.append(bytes)
    // Each response consumes at least 48 bytes, so this ends.
    while let pdu = try? decoder.nextPDU(), let response = try? LoginResponse(pdu) {
        guard case .send = try? machine.receive(response) else { return }
    }
}
