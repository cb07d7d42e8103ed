import BootConfig
import Testing

@testable import Agent

@Suite struct BootInputsTests {
    /// The boot's plan error says where the agent looked for the iBFT it was asked to use.
    @Test func planErrorNamesThePlacesSearched() {
        var inputs = BootInputs(commandLine: KernelCommandLine(parsing: "rd.iscsi.firmware=1 root=LABEL=root rw"))
        inputs.firmwareSearch.record(.acpi, .absent(note: nil))
        inputs.firmwareSearch.record(.lowMemory(device: "/dev/mem"), .unreadable("open /dev/mem: Operation not permitted"))
        inputs.firmwareSearch.record(.sysfs(path: BootInputs.sysfsPath, loadedModule: "iscsi_ibft"), .absent(note: nil))
        do {
            _ = try inputs.resolve()
            Issue.record("resolved a plan without a target")
        } catch {
            #expect(error.description.hasPrefix("rd.iscsi.firmware=1: no iBFT found: not in ACPI"), "\(error)")
            #expect(error.description.contains("not readable: low memory 0x80000-0xFFFFF (/dev/mem): open /dev/mem"))
            #expect(error.description.contains("not in /sys/firmware/ibft after loading iscsi_ibft;"))
        }
    }

    /// A table found in low memory is used, and the search says where it came from.
    @Test func tableFromLowMemoryIsUsed() throws {
        var inputs = BootInputs(commandLine: KernelCommandLine(parsing: "rd.iscsi.firmware=1 root=LABEL=root rw"))
        inputs.firmware = try IBFT(sysfs: [
            "initiator/initiator-name": "iqn.2024-01.example:initiator\n",
            "ethernet0/flags": "3\n", "ethernet0/origin": "3\n", "ethernet0/mac": "52:54:00:12:34:56\n",
            "target0/flags": "3\n", "target0/ip-addr": "10.0.2.2\n", "target0/port": "3260\n",
            "target0/lun": "01000000\n", "target0/target-name": "iqn.2024-01.example:root\n",
        ])
        inputs.firmwareSearch.record(.lowMemory(device: "/dev/mem"), .found("at 0x9e620"))
        let plan = try inputs.resolve()
        #expect(plan.targets.map(\.name.value) == ["iqn.2024-01.example:root"])
        #expect(inputs.firmwareSearch.source == "iBFT from low memory at 0x9e620 (/dev/mem)")
    }
}
