import ISCSI

/// What the kernel's `iscsi_tcp` (as this agent drives it) can run with, and the keys a
/// kernel session reports in sysfs.
extension KeySpace {
    /// A value the kernel path cannot run with, and why; nil when it can.
    public static func kernelProblem(_ key: SweepKey, value: String) -> String? {
        switch key {
        // libiscsi recovers only at session level: an ERL above 0 would be negotiated and
        // then never honoured.
        case .errorRecoveryLevel where value != "0":
            return "iscsi_tcp implements ErrorRecoveryLevel 0 only"
        // The kernel's R2T pool keeps its default of one per command: the agent never sets
        // ISCSI_PARAM_MAX_R2T, so a target sending a second R2T would break the connection.
        case .maxOutstandingR2T where value != "1":
            return "the kernel session keeps one outstanding R2T"
        case .maxConnections where value != "1":
            return "a kernel session here has one connection"
        default:
            return nil
        }
    }

    /// This space without the values the kernel cannot negotiate, and one line per key
    /// that lost values ("ErrorRecoveryLevel=1,2 left out: …"). A key left with no value
    /// is dropped: the login then offers our default for it.
    public func kernelNegotiable() -> (space: KeySpace, leftOut: [String]) {
        var space = self
        var notes: [String] = []
        space.dimensions = []
        for dimension in dimensions {
            let refused = dimension.values.filter { Self.kernelProblem(dimension.key, value: $0) != nil }
            let kept = dimension.values.filter { Self.kernelProblem(dimension.key, value: $0) == nil }
            if let first = refused.first, let reason = Self.kernelProblem(dimension.key, value: first) {
                let what = kept.isEmpty ? "the key left out" : "kept \(kept.joined(separator: ","))"
                notes.append("\(dimension.key.rawValue)=\(refused.joined(separator: ",")) left out (\(what)): \(reason)")
            }
            if !kept.isEmpty { space.dimensions.append(Dimension(key: dimension.key, values: kept)) }
        }
        return (space, notes)
    }
}

/// The negotiated keys of a kernel session as sysfs shows them
/// (`/sys/class/iscsi_session/sessionN`, `/sys/class/iscsi_connection/connectionN:0`).
public enum SysfsKeys {
    /// Attribute names of iscsi_session and iscsi_connection and the key each holds. Not
    /// def_time2wait and def_time2retain: the agent's sessions never give them to the
    /// kernel, which then shows 0 whatever was negotiated.
    public static let sessionAttributes: [(String, SweepKey)] = [
        ("initial_r2t", .initialR2T), ("immediate_data", .immediateData), ("first_burst_len", .firstBurstLength),
        ("max_burst_len", .maxBurstLength), ("max_outstanding_r2t", .maxOutstandingR2T), ("data_pdu_in_order", .dataPDUInOrder),
        ("data_seq_in_order", .dataSequenceInOrder), ("erl", .errorRecoveryLevel),
    ]
    public static let connectionAttributes: [(String, SweepKey)] = [
        ("header_digest", .headerDigest), ("data_digest", .dataDigest), ("max_recv_dlength", .maxRecvDataSegmentLength),
    ]

    /// The keys found among `attributes` (name → text as read), in RFC spelling: booleans
    /// as Yes/No, digests as None/CRC32C. Attributes that are missing or empty are skipped.
    public static func negotiated(session: [String: String], connection: [String: String]) -> [(SweepKey, String)] {
        var keys: [(SweepKey, String)] = []
        for (table, attributes) in [(connectionAttributes, connection), (sessionAttributes, session)] {
            for (name, key) in table {
                guard let raw = attributes[name], !raw.isEmpty else { continue }
                keys.append((key, spelled(key, raw)))
            }
        }
        return keys
    }

    private static func spelled(_ key: SweepKey, _ raw: String) -> String {
        if case .boolean? = key.definition?.type {
            switch raw {
            case "1", "Yes": return "Yes"
            case "0", "No": return "No"
            default: return raw
            }
        }
        if key == .headerDigest || key == .dataDigest {
            // The kernel shows whether the digest is on: 1 or 0.
            switch raw.uppercased() {
            case "1", "CRC32C": return "CRC32C"
            case "0", "NONE": return "None"
            default: return raw
            }
        }
        return raw
    }
}
