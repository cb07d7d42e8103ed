import Foundation
import ISCSI
import Testing

@testable import BootConfig

@Suite struct IBFTTests {
    static func dracutTableBytes() throws -> [UInt8] { try resourceBytes("dracut-ng-test70.table") }

    static func resourceBytes(_ name: String) throws -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Resources/\(name)")
        return [UInt8](try Data(contentsOf: url))
    }

    static func dracutTable() throws -> IBFT { try IBFT(bytes: try dracutTableBytes()) }

    @Test func decodesDracutTableFieldByField() throws {
        let table = try Self.dracutTable()
        #expect(table.oemID == "DRACUT")
        #expect(table.oemTableID == "TEST")
        #expect(table.initiator?.name == "iqn.1994-05.com.redhat:633114aacf2")
        #expect(table.initiator?.isnsServer == nil)
        #expect(table.nics.count == 1)
        let nic = table.nics[0]
        #expect(nic.flags.isValid && nic.flags.isBootSelected)
        #expect(
            nic.address?.description == "192.168.50.101" && nic.prefixLength == 24 && nic.origin == .dhcp)
        #expect(
            nic.gateway?.description == "192.168.50.1" && nic.primaryDNS?.description == "192.168.50.1")
        #expect(nic.secondaryDNS == nil && nic.dhcpServer?.description == "192.168.50.1")
        #expect(
            nic.vlan == 0 && nic.mac.description == "52:54:00:12:34:00"
                && nic.pciAddress.description == "00:03.0")
        #expect(nic.hostname == "client")
        #expect(table.targets.count == 1)
        let target = table.targets[0]
        #expect(target.address?.description == "192.168.50.1" && target.port == 3260)
        #expect(target.lun.samBytes == [0, 1, 0, 0, 0, 0, 0, 0] && target.lun.number == 1)
        #expect(target.chapType == IBFT.CHAPType.none && target.nicIndex == 0)
        #expect(target.name == "iqn.2009-06.dracut:target0")
    }

    /// Builds a table like iPXE (16-byte aligned) or dracut's ibft.pl (8-byte aligned).
    static func buildTable(alignment: Int, signature: String = "iBFT") -> [UInt8] {
        var table = [UInt8](repeating: 0, count: 48)
        func align() { while table.count % alignment != 0 { table.append(0) } }
        func u16(_ value: Int, at offset: Int) {
            table[offset] = UInt8(value & 0xFF)
            table[offset + 1] = UInt8(value >> 8)
        }
        func ip(_ bytes: [UInt8], at offset: Int) {
            let full = bytes.count == 4 ? [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF] + bytes : bytes
            table.replaceSubrange(offset..<(offset + 16), with: full)
        }
        let control = 48
        table += [1, 1, 18, 0, 0, 0] + [UInt8](repeating: 0, count: 12)
        align()
        let initiator = table.count
        table += [2, 1, 74, 0, 0, 3] + [UInt8](repeating: 0, count: 68)
        align()
        var nics: [Int] = []
        for index in 0..<2 {
            nics.append(table.count)
            table += [3, 1, 102, 0, UInt8(index), index == 0 ? 3 : 1] + [UInt8](repeating: 0, count: 96)
            align()
        }
        var targets: [Int] = []
        for index in 0..<2 {
            targets.append(table.count)
            table += [4, 1, 54, 0, UInt8(index), index == 0 ? 3 : 1] + [UInt8](repeating: 0, count: 48)
            align()
        }
        u16(initiator, at: control + 8)
        u16(nics[0], at: control + 10)
        u16(targets[0], at: control + 12)
        u16(nics[1], at: control + 14)
        u16(targets[1], at: control + 16)
        func string(_ text: String, lengthAt offset: Int) {
            u16(text.utf8.count, at: offset)
            u16(table.count, at: offset + 2)
            table += Array(text.utf8) + [0]
        }
        string("iqn.2024-01.example:initiator", lengthAt: initiator + 70)
        ip([192, 168, 1, 10], at: nics[0] + 6)
        table[nics[0] + 22] = 24
        table[nics[0] + 23] = 1
        ip([192, 168, 1, 1], at: nics[0] + 24)
        u16(42, at: nics[0] + 88)
        table.replaceSubrange((nics[0] + 90)..<(nics[0] + 96), with: [2, 0, 0, 0, 0, 1])
        let v6: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [5]
        ip(v6, at: nics[1] + 6)
        table[nics[1] + 22] = 64
        table.replaceSubrange((nics[1] + 90)..<(nics[1] + 96), with: [2, 0, 0, 0, 0, 2])
        ip([192, 168, 1, 2], at: targets[0] + 6)
        u16(3260, at: targets[0] + 22)
        table[targets[0] + 25] = 1
        table[targets[0] + 32] = 2
        string("iqn.2024-01.example:disk0", lengthAt: targets[0] + 34)
        string("alice", lengthAt: targets[0] + 38)
        string("alicesecret12", lengthAt: targets[0] + 42)
        string("target", lengthAt: targets[0] + 46)
        string("targetsecret1", lengthAt: targets[0] + 50)
        ip(v6.dropLast() + [2], at: targets[1] + 6)
        u16(3261, at: targets[1] + 22)
        table[targets[1] + 33] = 1
        string("iqn.2024-01.example:disk1", lengthAt: targets[1] + 34)
        table.replaceSubrange(0..<4, with: Array(signature.utf8))
        u16(table.count, at: 4)
        table[8] = 1
        table[9] = 0
        table[9] = 0 &- table.reduce(0, &+)
        return table
    }

    @Test(arguments: [16, 8])
    func decodesGeneratedTable(alignment: Int) throws {
        let table = try IBFT(bytes: Self.buildTable(alignment: alignment))
        #expect(table.nics.count == 2 && table.targets.count == 2)
        #expect(
            table.nics[0].vlan == 42 && table.nics[0].origin == .manual
                && table.nics[0].address?.description == "192.168.1.10")
        #expect(table.nics[1].address?.description == "2001:db8::5" && table.nics[1].prefixLength == 64)
        #expect(
            table.targets[0].chapType == .mutual && table.targets[0].chapName == "alice"
                && table.targets[0].chapSecret == CHAPSecret("alicesecret12"))
        #expect(
            table.targets[1].address?.description == "2001:db8::2" && table.targets[1].port == 3261
                && table.targets[1].nicIndex == 1)
        #expect(!"\(table)".contains("alicesecret12"))
        let plan = try BootPlan.resolve(
            commandLine: KernelCommandLine(parsing: "rd.iscsi.firmware=1 rd.iscsi.mp=1"), firmware: table)
        #expect(plan.targets.count == 2)
        #expect(plan.targets[0].credentials?.value.mutual?.userName == "target")
        #expect(plan.interfaces[0].vlan == 42)
        #expect(!plan.text.contains("secret1"))
    }

    @Test(arguments: ["IBFT", "BIFT"])
    func otherSignatures(signature: String) throws {
        #expect(
            try IBFT(bytes: Self.buildTable(alignment: 16, signature: signature)).targets.count == 2)
    }

    /// Each corruption and the word the error must contain.
    @Test(arguments: ["checksum", "revision", "length", "signature", "overlaps", "runs past the end"])
    func rejectsCorruptTables(reason: String) throws {
        var bytes = try Self.dracutTableBytes()
        func fixChecksum() {
            bytes[9] = 0
            bytes[9] = 0 &- bytes.reduce(0, &+)
        }
        switch reason {
        case "checksum": bytes[9] &+= 1
        case "revision":
            bytes[8] = 2
            fixChecksum()
        case "length": bytes.removeLast()
        case "signature": bytes[0] = UInt8(ascii: "x")
        case "overlaps":
            // The target name's offset points into the target structure itself (at 0x100).
            bytes[0x100 + 36] = 0x00
            bytes[0x100 + 37] = 0x01
            fixChecksum()
        default:
            bytes[0x100 + 36] = 0x70
            bytes[0x100 + 37] = 0x01
            fixChecksum()
        }
        do {
            _ = try IBFT(bytes: bytes)
            Issue.record("accepted a table with a bad \(reason)")
        } catch {
            #expect(error.description.contains(reason), "\(error)")
        }
    }

    @Test func anyBytesParseWithoutCrashing() throws {
        let base = try Self.dracutTableBytes()
        for index in 0..<base.count {
            for value: UInt8 in [0, 0x7F, 0xFF] {
                var bytes = base
                bytes[index] = value
                for candidate in [bytes, Array(bytes.prefix(index))] {
                    do { _ = try IBFT(bytes: candidate) } catch {
                        // Refused with a message for people: what is wrong and what was expected.
                        #expect(!error.parameter.isEmpty && !error.problem.isEmpty && !error.expected.isEmpty, "\(error)")
                    }
                }
                if index < IBFT.headerLength {
                    #expect(throws: BootConfigError.self) { try IBFT(bytes: Array(bytes.prefix(index))) }
                }
            }
        }
    }

    @Test func sysfsTree() throws {
        let files = [
            "initiator/initiator-name": "iqn.1994-05.com.redhat:633114aacf2\n",
            "ethernet0/flags": "3\n", "ethernet0/index": "0\n", "ethernet0/ip-addr": "192.168.50.101\n",
            "ethernet0/prefix-len": "24\n",
            "ethernet0/origin": "3\n", "ethernet0/gateway": "192.168.50.1\n",
            "ethernet0/mac": "52:54:00:12:34:00\n", "ethernet0/vlan": "0\n",
            "ethernet0/hostname": "client\n",
            "target0/flags": "3\n", "target0/ip-addr": "192.168.50.1\n", "target0/port": "3260\n",
            "target0/lun": "01000000\n",
            "target0/chap-type": "0\n", "target0/nic-assoc": "0\n",
            "target0/target-name": "iqn.2009-06.dracut:target0\n",
        ]
        let table = try IBFT(sysfs: files)
        let raw = try Self.dracutTable()
        #expect(table.initiator?.name == raw.initiator?.name)
        #expect(table.nics[0].mac == raw.nics[0].mac && table.nics[0].address == raw.nics[0].address)
        #expect(
            table.targets[0].lun == raw.targets[0].lun && table.targets[0].name == raw.targets[0].name)
    }

    @Test func lowMemoryScan() throws {
        let tableBytes = try Self.dracutTableBytes()
        var memory = [UInt8](repeating: 0, count: 0x80000)
        // A stray signature in VGA memory is skipped; the real table sits at 0xE0010.
        memory.replaceSubrange((0xA0000 - 0x80000)..<(0xA0000 - 0x80000 + 4), with: Array("iBFT".utf8))
        memory.replaceSubrange(
            (0xE0010 - 0x80000)..<(0xE0010 - 0x80000 + tableBytes.count), with: tableBytes)
        let scan = IBFT.scanLowMemory(memory, baseAddress: 0x80000)
        #expect(scan.table == IBFT.LowMemoryTable(address: 0xE0010, bytes: tableBytes))
        #expect(scan.rejected.isEmpty)
        #expect(IBFT.scanLowMemory([UInt8](repeating: 0, count: 100), baseAddress: 0).table == nil)
    }
}
