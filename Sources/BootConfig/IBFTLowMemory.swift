/// The iBFT as legacy BIOS firmware (iPXE, a NIC's iSCSI boot ROM) leaves it: not an ACPI
/// table but a table in low memory that the OS finds by scanning, as the kernel's
/// `find_ibft_region()` does at boot (drivers/firmware/iscsi_ibft_find.c).
extension IBFT {
    /// The physical addresses scanned: 512 KiB to 1 MiB.
    public static let lowMemoryRange = 0x80000..<0x100000
    /// Video memory, never scanned (no firmware table lives there).
    public static let videoMemoryRange = 0xA0000..<0xC0000
    /// The only signature the kernel looks for in low memory (ACPI's `IBFT` is a table name).
    static let lowMemorySignature = Array("iBFT".utf8)

    /// A table found in low memory: where, and its bytes (as long as its header says).
    public struct LowMemoryTable: Sendable, Equatable {
        public var address: Int
        public var bytes: [UInt8]
    }

    /// What a scan of low memory found: the first table that passes the rules, and every
    /// signature it passed over with the rule that rejected it (for the boot log).
    public struct LowMemoryScan: Sendable, Equatable {
        public var table: LowMemoryTable?
        /// "0x9e620: checksum ...", in address order.
        public var rejected: [String] = []
    }

    /// Scans `memory`, which holds physical memory from `baseAddress` on (0 for a dump of the
    /// first MiB, 0x80000 for `/dev/mem` read from there), on 16-byte boundaries from 0x80000
    /// to 0xFFFFF, skipping 0xA0000-0xBFFFF. A signature counts only when the table's length
    /// covers at least the header and control structure, the table ends at or below 1 MiB,
    /// does not run into video memory, lies inside `memory`, and its bytes sum to 0; any
    /// other signature is passed over and the scan goes on. Structures are checked later by
    /// `IBFT(bytes:)`.
    public static func scanLowMemory(_ memory: [UInt8], baseAddress: Int) -> LowMemoryScan {
        var scan = LowMemoryScan()
        let memoryEnd = baseAddress + memory.count
        var address = max(lowMemoryRange.lowerBound, (baseAddress + 15) & ~15)
        // Bounded: at most 32768 steps of 16 bytes.
        while address + lowMemorySignature.count <= min(lowMemoryRange.upperBound, memoryEnd) {
            defer { address += 16 }
            if videoMemoryRange.contains(address) { continue }
            let offset = address - baseAddress
            guard memory[offset..<(offset + 4)].elementsEqual(lowMemorySignature) else { continue }
            let place = "0x" + String(address, radix: 16)
            guard address + 8 <= memoryEnd else {
                scan.rejected.append("\(place): the memory read ends before the table's length field")
                continue
            }
            let length = Int(
                UInt32(memory[offset + 4]) | UInt32(memory[offset + 5]) << 8 | UInt32(memory[offset + 6]) << 16
                    | UInt32(memory[offset + 7]) << 24)
            let end = address + length
            if length < headerLength + controlLength {
                scan.rejected.append(
                    "\(place): length \(length) is shorter than the header and control structure (66 bytes)")
            } else if end > lowMemoryRange.upperBound {
                scan.rejected.append("\(place): length \(length) runs past 1 MiB")
            } else if address < videoMemoryRange.lowerBound, end > videoMemoryRange.lowerBound {
                scan.rejected.append("\(place): length \(length) runs into video memory at 0xa0000")
            } else if end > memoryEnd {
                scan.rejected.append(
                    "\(place): length \(length) runs past the end of the memory read (0x\(String(memoryEnd, radix: 16)))")
            } else {
                let bytes = Array(memory[offset..<(offset + length)])
                let sum = bytes.reduce(UInt8(0), &+)
                guard sum == 0 else {
                    scan.rejected.append("\(place): the \(length) bytes sum to \(sum), not 0 (checksum)")
                    continue
                }
                scan.table = LowMemoryTable(address: address, bytes: bytes)
                return scan
            }
        }
        return scan
    }
}
