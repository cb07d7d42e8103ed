/// What one grammar says about one target: where it is, its name, which LUN, and how to
/// authenticate. The resolver merges these into the plan's `TargetPlan`s.
public struct TargetSpec: Sendable, Equatable {
    public var name: String
    public var portal: TargetPortal
    /// nil: not given; the agent uses the first LUN the target reports that is a disk.
    public var lun: LogicalUnitNumber?
    public var credentials: CHAPCredentials?
    /// dracut's open-iscsi iface name (`iscsi_iface_name` field); kept for `plan` only.
    public var ifaceName: String?
    /// The network device to reach the target through (dracut's `netdev_name` field).
    public var networkDevice: String?

    public init(
        name: String, portal: TargetPortal, lun: LogicalUnitNumber?,
        credentials: CHAPCredentials? = nil,
        ifaceName: String? = nil, networkDevice: String? = nil
    ) {
        self.name = name
        self.portal = portal
        self.lun = lun
        self.credentials = credentials
        self.ifaceName = ifaceName
        self.networkDevice = networkDevice
    }
}

/// An iSCSI network portal: an address or host name, and a TCP port.
public struct TargetPortal: Hashable, Sendable, CustomStringConvertible {
    /// The IANA port for iSCSI (RFC 7143 §13.3).
    public static let defaultPort: UInt16 = 3260

    /// An IP address in text form or a DNS name (resolved by the agent after the network is up).
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16 = TargetPortal.defaultPort) {
        self.host = host
        self.port = port
    }

    public var address: IPAddress? { IPAddress(host) }

    public var description: String {
        address?.isIPv6 == true ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Parses a host: an IPv4 address, a bracketed IPv6 address, or a DNS name.
    static func host(_ text: Substring, parameter: String) throws(BootConfigError) -> String {
        if let address = IPAddress(text) { return address.description }
        let isName =
            !text.isEmpty && text.utf8.count <= 253
            && text.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                    || $0 == "-" || $0 == "."
            }
        guard isName else {
            throw BootConfigError(
                parameter, at: "server", token: String(text), problem: "is not an address or host name",
                expected: "a.b.c.d, [IPv6] or a DNS name")
        }
        return String(text)
    }

    /// Parses a TCP port 1-65535; empty means the default 3260.
    static func port(_ text: Substring, parameter: String) throws(BootConfigError) -> UInt16 {
        if text.isEmpty { return defaultPort }
        guard text.isDecimalNumber, text.utf8.count <= 5, let number = Int(text),
            (1...65535).contains(number)
        else {
            throw BootConfigError(
                parameter, at: "port", token: String(text), problem: "is not a TCP port",
                expected: "port 1-65535")
        }
        return UInt16(number)
    }
}

/// A SCSI logical unit number in the 8-byte SAM form (SAM-5 §4.7) that iBFT and the
/// REPORT LUNS command use.
public struct LogicalUnitNumber: Hashable, Sendable, CustomStringConvertible {
    public var bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 8 else { return nil }
        self.bytes = bytes
    }

    /// LUNs below 256 use peripheral device addressing, up to 16383 flat space addressing,
    /// as Linux's `int_to_scsilun()` encodes them.
    public init?(_ number: UInt64) {
        guard number < 16384 else { return nil }
        let high = UInt8(number >> 8)
        bytes = [number < 256 ? 0 : 0x40 | high, UInt8(number & 0xFF), 0, 0, 0, 0, 0, 0]
    }

    /// The number for peripheral and flat space addressing (the forms targets use), or nil.
    public var number: UInt64? {
        guard bytes[2...].allSatisfy({ $0 == 0 }) else { return nil }
        switch bytes[0] >> 6 {
        case 0: return bytes[0] == 0 ? UInt64(bytes[1]) : nil
        case 1: return UInt64(bytes[0] & 0x3F) << 8 | UInt64(bytes[1])
        default: return nil
        }
    }

    /// RFC 4173's form: four dash-separated groups of four hex digits.
    public var hexForm: String {
        (0..<4).map { hexByte(bytes[2 * $0]) + hexByte(bytes[2 * $0 + 1]) }.joined(separator: "-")
    }

    /// Decimal when it has a plain number, else the RFC 4173 hex form.
    public var description: String { number.map { String($0) } ?? hexForm }

    /// Parses a LUN field: digits only is decimal (what dracut and initramfs-tools use);
    /// with dashes or hex letters it is RFC 4173's hex form (up to four groups of up to four hex
    /// digits, filling the 8 bytes from the left).
    static func parse(_ text: Substring, parameter: String) throws(BootConfigError)
        -> LogicalUnitNumber
    {
        let expected = "a decimal LUN 0-16383 or RFC 4173 hex groups such as 0001-0000-0000-0000"
        if text.isDecimalNumber {
            guard text.utf8.count <= 5, let number = UInt64(text), let lun = LogicalUnitNumber(number)
            else {
                throw BootConfigError(
                    parameter, at: "LUN", token: String(text), problem: "is out of range", expected: expected)
            }
            return lun
        }
        let groups = text.split(separator: "-", omittingEmptySubsequences: false)
        var bytes: [UInt8] = []
        for group in groups {
            guard groups.count <= 4, (1...4).contains(group.utf8.count),
                let value = UInt16(group, radix: 16)
            else {
                throw BootConfigError(
                    parameter, at: "LUN", token: String(text), problem: "is not a LUN", expected: expected)
            }
            bytes += [UInt8(value >> 8), UInt8(value & 0xFF)]
        }
        return LogicalUnitNumber(sam: bytes)
    }
}

/// CHAP credentials for one target (RFC 7143 §12.1.3): the initiator's name and secret, and
/// for mutual CHAP the target's.
public struct CHAPCredentials: Sendable, Equatable, CustomStringConvertible {
    public var username: String
    public var secret: Secret
    public var mutual: MutualCHAP?

    public struct MutualCHAP: Sendable, Equatable {
        public var username: String
        public var secret: Secret

        public init(username: String, secret: Secret) {
            self.username = username
            self.secret = secret
        }
    }

    public init(username: String, secret: Secret, mutual: MutualCHAP? = nil) {
        self.username = username
        self.secret = secret
        self.mutual = mutual
    }

    public var description: String {
        var text = "CHAP user \(username) secret (set)"
        if let mutual { text += ", mutual user \(mutual.username) secret (set)" }
        return text
    }
}
