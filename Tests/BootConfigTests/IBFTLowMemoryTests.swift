import ISCSI
import Testing

@testable import BootConfig

/// The low-memory scan on memory images: where a table may sit, and each rule that makes the
/// scan pass a signature over and go on.
@Suite struct IBFTLowMemoryTests {
    /// 0x80000-0xFFFFF of zeros, as `/dev/mem` from 0x80000 gives it.
    static func emptyMemory() -> [UInt8] { [UInt8](repeating: 0, count: 0x80000) }

    static func place(_ bytes: [UInt8], at address: Int, in memory: inout [UInt8], base: Int = 0x80000) {
        memory.replaceSubrange((address - base)..<(address - base + bytes.count), with: bytes)
    }

    /// A copy of `table` whose header says `length`, checksum fixed over `length` bytes.
    static func withLength(_ table: [UInt8], _ length: Int) -> [UInt8] {
        var bytes = table
        bytes[4] = UInt8(length & 0xFF)
        bytes[5] = UInt8(length >> 8 & 0xFF)
        bytes[6] = 0
        bytes[7] = 0
        bytes[9] = 0
        bytes[9] = 0 &- bytes.prefix(length).reduce(0, &+)
        return bytes
    }

    @Test func iPXETableParses() throws {
        let bytes = try IBFTTests.resourceBytes("ipxe-sanhook.table")
        var memory = Self.emptyMemory()
        // Where Debian's iPXE ROM put it under QEMU/SeaBIOS (0x9e620: an odd 16-byte step).
        Self.place(bytes, at: 0x9e620, in: &memory)
        let scan = IBFT.scanLowMemory(memory, baseAddress: 0x80000)
        #expect(scan.table?.address == 0x9e620 && scan.table?.bytes == bytes)
        let table = try IBFT(bytes: try #require(scan.table).bytes)
        #expect(table.oemID == "FENSYS" && table.oemTableID == "iPXE")
        #expect(table.initiator?.name == "iqn.2024-01.org.iscsi-root.test:ipxe-initiator")
        #expect(table.nics.count == 1 && table.nics[0].mac.description == "52:54:00:12:34:56")
        #expect(table.nics[0].origin == .dhcp && table.nics[0].address?.description == "10.0.2.15")
        #expect(table.nics[0].pciAddress.description == "00:03.0")
        #expect(table.targets.count == 1 && table.targets[0].name == "iqn.2024-01.org.iscsi-root.test:root")
        #expect(table.targets[0].address?.description == "10.0.2.2" && table.targets[0].port == 3260)
        #expect(table.targets[0].lun.samBytes == [0, 1, 0, 0, 0, 0, 0, 0])
        #expect(table.targets[0].flags.isValid && table.targets[0].flags.isBootSelected)
        let plan = try BootPlan.resolve(commandLine: KernelCommandLine(parsing: "rd.iscsi.firmware=1"), firmware: table)
        #expect(plan.targets.map(\.name.value) == ["iqn.2024-01.org.iscsi-root.test:root"])
        #expect(plan.interfaces.first?.method == .dhcp)
        #expect(plan.interfaces.first?.mac?.value.description == "52:54:00:12:34:56")
    }

    /// Every 16-byte step counts, odd ones too; a signature between steps does not.
    @Test(arguments: [0x80000, 0x80010, 0x9e630, 0xC0000, 0xFFFF0 - 0x200])
    func tableOnAnySixteenByteStep(address: Int) throws {
        let table = try IBFTTests.dracutTableBytes()
        var memory = Self.emptyMemory()
        if address - 8 >= 0x80000 { Self.place(Array("iBFT".utf8), at: address - 8, in: &memory) }
        Self.place(table, at: address, in: &memory)
        let scan = IBFT.scanLowMemory(memory, baseAddress: 0x80000)
        #expect(scan.table?.address == address)
        #expect(scan.rejected.isEmpty, "\(scan.rejected)")
    }

    /// The same with a dump of the whole first MiB (base address 0).
    @Test func wholeMegabyteDump() throws {
        let table = try IBFTTests.dracutTableBytes()
        var memory = [UInt8](repeating: 0, count: 0x100000)
        Self.place(Array("iBFT".utf8), at: 0x7FFF0, in: &memory, base: 0)  // below the scan
        Self.place(table, at: 0x9e620, in: &memory, base: 0)
        #expect(IBFT.scanLowMemory(memory, baseAddress: 0).table?.address == 0x9e620)
    }

    /// A table that would run into video memory or past 1 MiB is passed over, as is one
    /// whose bytes do not sum to 0 or whose length is too short or longer than the memory
    /// read; the scan goes on and finds the good table after it.
    @Test(arguments: [
        ("video", 0x9FF00, "runs into video memory"),
        ("megabyte", 0xFFF00, "runs past 1 MiB"),
        ("checksum", 0x90000, "sum to"),
        ("short", 0x90000, "shorter than the header"),
    ])
    func passesOverBadTables(kind: String, address: Int, reason: String) throws {
        let table = try IBFTTests.dracutTableBytes()
        var bad = table
        switch kind {
        case "checksum": bad[9] &+= 1
        case "short": bad = Self.withLength(table, 60)
        default: break
        }
        var memory = Self.emptyMemory()
        Self.place(Array(bad.prefix(min(bad.count, 0x100000 - address))), at: address, in: &memory)
        // The good one comes after (none after one at the very end: the scan ends empty).
        let good = address < 0xE0000 ? 0xE0000 : nil
        if let good { Self.place(table, at: good, in: &memory) }
        let scan = IBFT.scanLowMemory(memory, baseAddress: 0x80000)
        #expect(scan.table?.address == good)
        #expect(scan.rejected.count == 1)
        #expect(scan.rejected.first?.hasPrefix("0x\(String(address, radix: 16)): ") == true)
        #expect(scan.rejected.first?.contains(reason) == true, "\(scan.rejected)")
    }

    /// Memory that ends inside a table (a short read of /dev/mem, a truncated dump): the
    /// table is passed over, never read past the end.
    @Test(arguments: [4, 6, 100])
    func truncatedMemory(kept: Int) throws {
        let table = try IBFTTests.dracutTableBytes()
        var memory = [UInt8](repeating: 0, count: 0x1000)
        Self.place(Array(table.prefix(kept)), at: 0x80000 + 0x1000 - kept, in: &memory)
        let address = 0x80000 + 0x1000 - kept
        let scan = IBFT.scanLowMemory(memory, baseAddress: 0x80000)
        #expect(scan.table == nil)
        if address % 16 == 0 {
            #expect(scan.rejected.count == 1)
            #expect(scan.rejected.first?.contains(kept < 8 ? "ends before the table's length" : "past the end of the memory read") == true)
        }
    }

    /// Only the kernel's low-memory signature counts; ACPI's names do not.
    @Test func onlyTheLowMemorySignature() throws {
        var memory = Self.emptyMemory()
        Self.place(try IBFTTests.buildTable(alignment: 16, signature: "IBFT"), at: 0x90000, in: &memory)
        #expect(IBFT.scanLowMemory(memory, baseAddress: 0x80000) == IBFT.LowMemoryScan())
    }

    /// Any bytes at any base scan without a crash.
    @Test func anyMemoryScansWithoutCrashing() {
        var memory = [UInt8](repeating: 0, count: 0x200)
        for index in stride(from: 0, to: memory.count, by: 16) {
            memory.replaceSubrange(index..<(index + 4), with: Array("iBFT".utf8))
            memory[index + 4] = UInt8(index & 0xFF)
            memory[index + 7] = UInt8(index & 0x0F)
        }
        for base in [0, 0x7FFFF, 0x80000, 0x80001, 0x9FF00, 0xFFE00, 0xFFFFF, 0x100000] {
            let scan = IBFT.scanLowMemory(memory, baseAddress: base)
            #expect(scan.table == nil)
        }
    }
}
