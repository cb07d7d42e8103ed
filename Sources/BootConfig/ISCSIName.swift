import ISCSI

/// iSCSI name rules of RFC 7143 §4.2.7 (formats `iqn.`, `eui.`, `naa.`) and the RFC 3722
/// character set. The agent checks names before it sends them: a target rejects a malformed
/// name at login with a status that says far less than this does.
public enum ISCSIName {
    /// RFC 7143 §4.2.7.1: at most 223 bytes.
    public static let maximumLength = 223

    /// What a valid name looks like, for error messages.
    public static let expectedForms =
        "iqn.YYYY-MM.reversed.domain[:unique], eui. + 16 hex digits, or naa. + 16 or 32 hex digits (RFC 7143 §4.2.7)"

    /// The rule `name` breaks, or nil if it is a valid iSCSI name.
    public static func ruleBroken(by name: String) -> String? {
        let bytes = Array(name.utf8)
        guard bytes.count <= maximumLength else { return "longer than \(maximumLength) bytes" }
        let lowercased = name.lowercased()
        if lowercased.hasPrefix("iqn.") { return iqnRuleBroken(by: lowercased) }
        if lowercased.hasPrefix("eui.") {
            return isHex(lowercased.dropFirst(4), digits: [16])
                ? nil : "eui. must be followed by exactly 16 hex digits"
        }
        if lowercased.hasPrefix("naa.") {
            return isHex(lowercased.dropFirst(4), digits: [16, 32])
                ? nil : "naa. must be followed by 16 or 32 hex digits"
        }
        return "must start with iqn., eui. or naa."
    }

    /// A default initiator name made from the MAC address of the boot NIC: the same machine
    /// gets the same name on every boot, so target ACLs keep working.
    public static func generatedInitiatorName(for mac: MACAddress) -> String {
        "iqn.2024-01.org.iscsi-root:mac-" + mac.bytes.map(hexByte).joined()
    }

    /// RFC 7143 §4.2.7.2: `iqn.` date `.` naming authority, optionally `:` and a unique string;
    /// RFC 3722 allows (after lowercasing) only a-z, 0-9, `-`, `.` and `:`.
    private static func iqnRuleBroken(by name: String) -> String? {
        let afterType = name.dropFirst(4)
        let date = afterType.prefix(7)
        let dateBytes = Array(date.utf8)
        guard dateBytes.count == 7, dateBytes[4] == UInt8(ascii: "-"),
            date.prefix(4).isDecimalNumber, date.suffix(2).isDecimalNumber,
            let month = Int(date.suffix(2)), (1...12).contains(month)
        else { return "iqn. must be followed by a date YYYY-MM (month 01-12)" }
        let rest = afterType.dropFirst(7)
        guard rest.hasPrefix("."), rest.count > 1 else {
            return "iqn.YYYY-MM must be followed by . and a reversed domain name"
        }
        let authority = rest.dropFirst().prefix { $0 != ":" }
        guard !authority.isEmpty, !authority.hasPrefix("."), !authority.hasSuffix("."),
            authority.firstOccurrence(of: "..") == nil
        else {
            return
                "the naming authority after the date must be a reversed domain name such as com.example"
        }
        if let bad = name.unicodeScalars.first(where: { !isAllowed($0) }) {
            return
                "contains \(quoted(String(bad))): only letters, digits, '-', '.' and ':' are allowed (RFC 3722)"
        }
        return nil
    }

    private static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "0"..."9", "-", ".", ":": true
        default: false
        }
    }

    private static func isHex(_ text: Substring, digits: Set<Int>) -> Bool {
        digits.contains(text.utf8.count)
            && text.unicodeScalars.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) }
    }
}
