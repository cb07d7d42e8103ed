/// Two lowercase hex digits for `byte`.
public func hexByte(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
}

/// Lowercase hex digits for `bytes`, without a prefix.
public func hexString(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map(hexByte).joined()
}
