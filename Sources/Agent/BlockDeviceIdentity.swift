#if canImport(Glibc)
    import Glibc
#endif
import CLibblkid

/// What libblkid reads from a block device: the filesystem's UUID, LABEL and TYPE, and
/// the partition entry's PARTUUID and PARTLABEL when the device is a partition.
public struct BlockDeviceIdentity: Equatable, Sendable {
    public var path: String
    public var uuid: String?
    public var label: String?
    public var type: String?
    public var partitionUUID: String?
    public var partitionLabel: String?

    /// Probes `path` without mounting it; nil when the device cannot be opened or holds
    /// nothing libblkid recognises. The corresponding C functions are
    /// `blkid_new_probe_from_filename` and `blkid_do_safeprobe`.
    public init?(probing path: String) {
        guard let probe = blkid_new_probe_from_filename(path) else { return nil }
        defer { blkid_free_probe(probe) }
        blkid_probe_enable_superblocks(probe, 1)
        blkid_probe_set_superblocks_flags(probe, Int32(BLKID_SUBLKS_LABEL | BLKID_SUBLKS_UUID | BLKID_SUBLKS_TYPE))
        blkid_probe_enable_partitions(probe, 1)
        blkid_probe_set_partitions_flags(probe, Int32(BLKID_PARTS_ENTRY_DETAILS))
        // 0 found, 1 nothing, -1 error, -2 ambiguous (two signatures): only 0 is usable.
        guard blkid_do_safeprobe(probe) == 0 else { return nil }
        func value(_ name: String) -> String? {
            var data: UnsafePointer<CChar>?
            var length = 0
            guard blkid_probe_lookup_value(probe, name, &data, &length) == 0, let data else { return nil }
            return String(cString: data)
        }
        self.path = path
        uuid = value("UUID")
        label = value("LABEL")
        type = value("TYPE")
        partitionUUID = value("PART_ENTRY_UUID")
        partitionLabel = value("PART_ENTRY_NAME")
    }
}
