import Testing

@testable import BootConfig

/// What the plan says about where the iBFT was looked for: the source of the table used,
/// and, when the firmware was asked for and nothing was found, every place looked at.
@Suite struct IBFTSearchTests {
    /// Nothing anywhere, as on a machine booted by iPXE before the agent looked in low memory.
    static func emptySearch() -> IBFTSearch {
        var search = IBFTSearch()
        search.record(.acpi, .absent(note: nil))
        search.record(.lowMemory(device: "/dev/mem"), .absent(note: nil))
        search.record(.sysfs(path: "/sys/firmware/ibft", loadedModule: "iscsi_ibft"), .absent(note: nil))
        return search
    }

    @Test func noTableNamesEveryPlaceLookedAt() {
        #expect(throws: BootConfigError.self) {
            _ = try BootPlan.resolve(
                commandLine: KernelCommandLine(parsing: "console=ttyS0 rd.iscsi.firmware=1 root=LABEL=root rw"),
                firmwareSearch: Self.emptySearch())
        }
        do {
            _ = try BootPlan.resolve(
                commandLine: KernelCommandLine(parsing: "console=ttyS0 rd.iscsi.firmware=1 root=LABEL=root rw"),
                firmwareSearch: Self.emptySearch())
        } catch {
            #expect(
                error.description
                    == "rd.iscsi.firmware=1: no iBFT found: not in ACPI (/sys/firmware/acpi/tables/iBFT, IBFT, BIFT), not in low memory 0x80000-0xFFFFF (/dev/mem), not in /sys/firmware/ibft after loading iscsi_ibft; check that the firmware (iPXE sanhook/sanboot, the NIC's iSCSI boot ROM) is set to publish an iBFT"
            )
        }
    }

    /// Each way of asking for the firmware is named as written.
    @Test(arguments: [
        "rd.iscsi.firmware=1", "iscsi_firmware", "iscsi_auto", "netroot=iscsi", "ip=ibft", "rd.iscsi.ibft=1",
    ])
    func requestIsQuotedAsWritten(request: String) throws {
        let commandLine = KernelCommandLine(parsing: "\(request) root=LABEL=root")
        #expect(try BootParameters(commandLine).firmwareRequest(config: nil) != nil)
        do {
            _ = try BootPlan.resolve(commandLine: commandLine, firmwareSearch: Self.emptySearch())
            Issue.record("a plan without any target resolved")
        } catch {
            // ip=ibft and rd.iscsi.ibft=1 ask for the NICs only: no target was asked for.
            if request.contains("ibft") {
                #expect(
                    error.description.hasPrefix(
                        "kernel command line: \"\(request) root=LABEL=root\" names no iSCSI target, and no iBFT was found (not in ACPI"
                    ), "\(error)")
            } else {
                #expect(error.description.hasPrefix("\(request): no iBFT found: not in ACPI"), "\(error)")
            }
        }
    }

    @Test func configFileAutomaticAsksForTheFirmware() throws {
        let config = try InitramfsToolsConfig.parse("ISCSI_AUTO=true\n")
        #expect(try BootParameters(KernelCommandLine(parsing: "root=LABEL=root")).firmwareRequest(config: config) != nil)
        #expect(try BootParameters(KernelCommandLine(parsing: "root=LABEL=root")).firmwareRequest(config: nil) == nil)
    }

    /// Reasons a place could not be read, and signatures passed over, are part of the message.
    @Test func unreadablePlacesAndPassedOverSignatures() {
        var search = IBFTSearch()
        search.record(.acpi, .absent(note: nil))
        search.record(.lowMemory(device: "/dev/mem"), .unreadable("open /dev/mem: Operation not permitted"))
        search.record(
            .sysfs(path: "/sys/firmware/ibft", loadedModule: "iscsi_ibft"),
            .absent(note: "module iscsi_ibft: No such device"))
        #expect(
            search.placesLooked
                == "not in ACPI (/sys/firmware/acpi/tables/iBFT, IBFT, BIFT), not readable: low memory 0x80000-0xFFFFF (/dev/mem): open /dev/mem: Operation not permitted, not in /sys/firmware/ibft after loading iscsi_ibft (passed over: module iscsi_ibft: No such device)"
        )
        #expect(search.source == nil)
        var uefi = IBFTSearch()
        uefi.record(.lowMemory(device: "/dev/mem"), .skipped("a UEFI boot publishes the iBFT in ACPI only"))
        #expect(
            uefi.placesLooked
                == "not searched: low memory 0x80000-0xFFFFF (/dev/mem): a UEFI boot publishes the iBFT in ACPI only")
        var scanned = IBFTSearch()
        scanned.record(.lowMemory(device: "/dev/mem"), .absent(note: "0x90000: the 381 bytes sum to 1, not 0 (checksum)"))
        #expect(scanned.placesLooked.contains("(passed over: 0x90000: the 381 bytes sum to 1, not 0 (checksum))"))
    }

    @Test func sourceNamesWhereTheTableCameFrom() {
        var search = IBFTSearch()
        search.record(.acpi, .absent(note: nil))
        search.record(.lowMemory(device: "/dev/mem"), .found("at 0x9e620"))
        #expect(search.source == "iBFT from low memory at 0x9e620 (/dev/mem)")
        var acpi = IBFTSearch()
        acpi.record(.acpi, .found("/sys/firmware/acpi/tables/iBFT"))
        #expect(acpi.source == "iBFT from the ACPI table /sys/firmware/acpi/tables/iBFT")
        var sysfs = IBFTSearch()
        sysfs.record(.sysfs(path: "/sys/firmware/ibft", loadedModule: "iscsi_ibft"), .found("loaded iscsi_ibft"))
        #expect(sysfs.source == "iBFT from /sys/firmware/ibft (loaded iscsi_ibft)")
    }

    /// A table without a usable target: the error says so, and where the table came from.
    @Test func tableWithoutUsableTarget() throws {
        var table = try IBFTTests.dracutTable()
        table.targets = table.targets.map {
            var target = $0; target.flags.raw = 1; return target
        }
        var search = IBFTSearch()
        search.record(.lowMemory(device: "/dev/mem"), .found("at 0x9e620"))
        do {
            _ = try BootPlan.resolve(
                commandLine: KernelCommandLine(parsing: "rd.iscsi.firmware=1"), firmware: table, firmwareSearch: search)
            Issue.record("resolved a plan without a target")
        } catch {
            #expect(
                error.description.hasPrefix(
                    "rd.iscsi.firmware=1: the iBFT from low memory at 0x9e620 (/dev/mem) has no valid, boot-selected target"),
                "\(error)")
        }
    }

    /// Without any target the error quotes what it judged, never an empty string, and never a secret.
    @Test(arguments: [
        ("root=LABEL=root rw console=ttyS0", "kernel command line: \"root=LABEL=root\" names no iSCSI target"),
        (
            "console=ttyS0 panic=-1",
            "kernel command line: \"console=ttyS0 panic=-1\" has no iSCSI parameter and names no iSCSI target"
        ),
        ("", "kernel command line: \"\" has no iSCSI parameter and names no iSCSI target"),
        (
            "ip=dhcp rd.iscsi.username=u rd.iscsi.password=hunter2hunter2",
            "kernel command line: \"ip=dhcp rd.iscsi.username=u rd.iscsi.password=(set)\" names no iSCSI target"
        ),
    ])
    func noTargetQuotesTheJudgedParameters(commandLine: String, prefix: String) {
        do {
            _ = try BootPlan.resolve(commandLine: KernelCommandLine(parsing: commandLine))
            Issue.record("resolved a plan without a target")
        } catch {
            #expect(error.description.hasPrefix(prefix), "\(error)")
            #expect(!error.description.contains("hunter2"))
        }
    }
}
