import CShims

/// CRC32C (Castagnoli), the iSCSI header and data digest (RFC 7143 §13.1, RFC 3720 §12.1).
public enum CRC32C {
    /// The digest of `bytes`, continuing from `partial` (0 to start).
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing partial: UInt32 = 0) -> UInt32 {
        iscsi_root_crc32c(partial, bytes.baseAddress, bytes.count)
    }

    public static func checksum<Bytes: Collection<UInt8>>(_ bytes: Bytes, continuing partial: UInt32 = 0) -> UInt32 {
        if let digest = bytes.withContiguousStorageIfAvailable({ checksum(UnsafeRawBufferPointer($0), continuing: partial) }) {
            return digest
        }
        return Array(bytes).withUnsafeBytes { checksum($0, continuing: partial) }
    }
}
