import ISCSI
import Testing

@testable import BootConfig

@Suite struct RootPathTests {
    @Test(arguments: [
        (
            "iscsi:192.168.50.1::::iqn.2009-06.dracut:target0", "192.168.50.1:3260", "0",
            "iqn.2009-06.dracut:target0"
        ),
        (
            "iscsi:192.168.50.1:6:3261:1:iqn.2009-06.dracut:target0", "192.168.50.1:3261", "1",
            "iqn.2009-06.dracut:target0"
        ),
        (
            "iscsi:[2001:db8::1]::::iqn.2009-06.dracut:t", "[2001:db8::1]:3260", "0",
            "iqn.2009-06.dracut:t"
        ),
        ("iscsi:u:p@10.0.0.1::3260::iqn.2009-06.a:b:c", "10.0.0.1:3260", "0", "iqn.2009-06.a:b:c"),
        ("iscsi:@10.0.0.1::::iqn.2009-06.a:b", "10.0.0.1:3260", "0", "iqn.2009-06.a:b"),
        (
            "iscsi:10.0.0.1:::0001-0000-0000-0000:iqn.2009-06.a:b", "10.0.0.1:3260", "1",
            "iqn.2009-06.a:b"
        ),
        ("iscsi:10.0.0.1:::iface0:eth1:3:iqn.2009-06.a:b", "10.0.0.1:3260", "3", "iqn.2009-06.a:b"),
        ("10.0.0.1::::iqn.2009-06.a:b", "10.0.0.1:3260", "0", "iqn.2009-06.a:b"),
        (
            "iscsi:storage.example.com::::eui.02004567A425678D", "storage.example.com:3260", "0",
            "eui.02004567A425678D"
        ),
    ])
    func parses(text: String, portal: String, lun: String, name: String) throws {
        let spec = try RootPath.parse(text, parameter: "netroot=")
        #expect(spec.portal.description == portal)
        #expect(spec.lun?.description == lun)
        #expect(spec.name == name)
    }

    @Test func credentials() throws {
        let spec = try RootPath.parse(
            "iscsi:alice:s3cret:tgt:t0psecret@10.0.0.1::::iqn.2009-06.a:b", parameter: "netroot=")
        #expect(spec.credentials?.credentials.userName == "alice")
        #expect(spec.credentials?.credentials.secret == CHAPSecret("s3cret"))
        #expect(spec.credentials?.mutual?.userName == "tgt")
        #expect(!"\(spec)".contains("s3cret"))
        #expect(!"\(String(reflecting: spec))".contains("t0psecret"))
    }

    @Test(arguments: [
        ("iscsi:10.0.0.1::::target0", "target name"),
        ("iscsi:10.0.0.1:17:::iqn.2009-06.a:b", "protocol \"17\" is not TCP"),
        ("iscsi:10.0.0.1::0:::iqn.2009-06.a:b", "3 or 5 fields"),
        ("iscsi:fd00::1::::iqn.2009-06.a:b", "server \"fd00::1\" looks like an IPv6 address without brackets"),
        ("iscsi:fd00::1::iqn.2009-06.a:b", "[fd00::1]"),
        ("iscsi:10.0.0.1::70000::iqn.2009-06.a:b", "port \"70000\""),
        ("iscsi:a:hunter2:c@10.0.0.1::::iqn.2009-06.a:b", "authinfo"),
    ])
    func rejects(text: String, fragment: String) {
        do {
            _ = try RootPath.parse(text, parameter: "netroot=")
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.description.contains(fragment), "\(error)")
            #expect(!error.description.contains("hunter2"))
        }
    }
}

@Suite struct ISCSIURLTests {
    @Test(
        arguments: [
            ("iscsi://10.0.2.2/iqn.2024-01.example:root1/1", "10.0.2.2:3260", "1", nil),
            ("iscsi://10.0.2.2:3261/iqn.2024-01.example:root1", "10.0.2.2:3261", nil, nil),
            ("iscsi://[2001:db8::2]:3262/iqn.2024-01.example:root1/0", "[2001:db8::2]:3262", "0", nil),
            (
                "iscsi://alice@target.example/iqn.2024-01.example:root1/2", "target.example:3260", "2",
                "alice"
            ),
            ("iscsi:10.0.2.2::::iqn.2024-01.example:root1", "10.0.2.2:3260", "0", nil),
            ("10.0.2.2::::iqn.2024-01.example:root1", "10.0.2.2:3260", "0", nil),
        ] as [(String, String, String?, String?)])
    func parses(text: String, portal: String, lun: String?, user: String?) throws {
        var warnings: [PlanWarning] = []
        let parsed = try ISCSIURL.parse(text, warnings: &warnings)
        #expect(parsed.spec.portal.description == portal)
        #expect(parsed.spec.lun?.description == lun)
        #expect(parsed.chapUserWithoutSecret == user)
        #expect(warnings.isEmpty)
    }

    @Test func passwordInURLWarns() throws {
        var warnings: [PlanWarning] = []
        let parsed = try ISCSIURL.parse(
            "iscsi://alice%hunter2@10.0.2.2/iqn.2024-01.example:root1", warnings: &warnings)
        #expect(parsed.spec.credentials?.credentials.secret == CHAPSecret("hunter2"))
        #expect(
            warnings.count == 1 && warnings[0].message.contains("/proc/cmdline")
                && warnings[0].message.contains(SecretsFile.path))
    }

    @Test(arguments: [
        (
            "iscsi://10.0.2.2:99999/iqn.2024-01.example:root1",
            "iscsi=: port \"99999\" is not a TCP port (expected port 1-65535)"
        ),
        (
            "iscsi://10.0.2.2/iqn.2024-13.example:root1",
            "iscsi=: target name \"iqn.2024-13.example:root1\" is not an iSCSI name: iqn. must be followed by a date YYYY-MM (month 01-12) (expected \(ISCSIName.expectedForms))"
        ),
        (
            "iscsi://10.0.2.2/root1",
            "iscsi=: target name \"root1\" is not an iSCSI name: must start with iqn., eui. or naa. (expected \(ISCSIName.expectedForms))"
        ),
        (
            "iscsi://10.0.2.2",
            "iscsi=: \"iscsi://10.0.2.2\" has no /<target name> (expected \(ISCSIURL.expectedForm))"
        ),
        (
            "iscsi://10.0.2.2/iqn.2024-01.example:root1/x",
            "iscsi=: LUN \"x\" is not a LUN (expected a decimal LUN 0-16383 or RFC 4173 hex groups such as 0001-0000-0000-0000)"
        ),
    ])
    func rejects(text: String, message: String) {
        var warnings: [PlanWarning] = []
        do {
            _ = try ISCSIURL.parse(text, warnings: &warnings)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.description == message)
        }
    }
}
