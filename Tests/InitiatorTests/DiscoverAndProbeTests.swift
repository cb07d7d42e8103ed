import Foundation
import ISCSI
import Initiator
import LinuxSystem
import Testing

/// `iscsi-root discover` and `probe` against a real tgtd: the binary as a person runs it,
/// its exit status and what it prints.
@Suite struct DiscoverAndProbeTests {
    static let initiatorSecret = "initiator-secret-1"
    static let targetSecret = "target-secret-12"

    @Test func discoverListsEveryTarget() throws {
        let fixture = try TargetFixture(targets: [
            .init(iqn: "iqn.2024-01.test.discover:one"), .init(iqn: "iqn.2024-01.test.discover:two"),
        ])
        let run = try IscsiRoot.run(["discover", fixture.portal.description])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("iqn.2024-01.test.discover:one\n  \(fixture.portal) (portal group 1)"))
        #expect(run.output.contains("iqn.2024-01.test.discover:two"))

        let json = try IscsiRoot.run(["discover", fixture.portal.description, "--json"])
        let decoded = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        let targets = try #require(decoded?["targets"] as? [[String: Any]])
        #expect(
            targets.compactMap { $0["name"] as? String }.sorted() == ["iqn.2024-01.test.discover:one", "iqn.2024-01.test.discover:two"])
    }

    @Test func probeDescribesTwoLUNs() throws {
        let fixture = try TargetFixture(iqn: "iqn.2024-01.test.probe:two-luns", diskCount: 2)
        let run = try IscsiRoot.run(["probe", fixture.portal.description, "iqn.2024-01.test.probe:two-luns", "--json"])
        #expect(run.status == 0, "\(run.errors)")
        let decoded = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any])
        let luns = try #require(decoded["luns"] as? [[String: Any]])
        #expect(luns.map { $0["lun"] as? Int } == [0, 1, 2])
        #expect(luns.map { $0["type"] as? String } == ["controller", "disk", "disk"])
        #expect(luns[1]["blocks"] as? String == String(64 * 2048))
        #expect(luns[1]["blockLength"] as? Int == 512)
        #expect(luns[1]["vendor"] as? String == "IET")

        let text = try IscsiRoot.run(["probe", fixture.portal.description, "iqn.2024-01.test.probe:two-luns", "--lun", "2"])
        #expect(text.status == 0)
        #expect(text.output.contains("2    disk"))
        #expect(text.output.contains("64 MiB (131072 x 512 B)"))
        #expect(!text.output.contains("controller"))
    }

    @Test func chapAndMutualChapLogIn() throws {
        let fixture = try TargetFixture(
            iqn: "iqn.2024-01.test.probe:mutual", chap: .init(user: "alice", password: Self.initiatorSecret),
            mutualChap: .init(user: "tgt", password: Self.targetSecret))
        let secrets = try SecretFiles()
        let run = try IscsiRoot.run(
            [
                "probe", fixture.portal.description, "iqn.2024-01.test.probe:mutual", "--chap-user", "alice",
                "--chap-secret-file", secrets.file(Self.initiatorSecret), "--mutual-user", "tgt",
            ], environment: ["ISCSI_ROOT_MUTUAL_SECRET": Self.targetSecret])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("VIRTUAL-DISK"))
        #expect(!run.output.contains(Self.initiatorSecret) && !run.errors.contains(Self.initiatorSecret))
    }

    @Test func wrongSecretFailsWithTheAuthenticationMessage() throws {
        let fixture = try TargetFixture(iqn: "iqn.2024-01.test.probe:chap", chap: .init(user: "alice", password: Self.initiatorSecret))
        let secrets = try SecretFiles()
        let wrong = "not-the-secret-99"
        let run = try IscsiRoot.run([
            "probe", fixture.portal.description, "iqn.2024-01.test.probe:chap", "--chap-user", "alice", "--chap-secret-file",
            secrets.file(wrong),
        ])
        #expect(run.status == 1)
        #expect(
            run.errors.contains("authentication failed: the target iqn.2024-01.test.probe:chap rejected the CHAP response for user alice"))
        #expect(!run.errors.contains(wrong))

        let none = try IscsiRoot.run(["probe", fixture.portal.description, "iqn.2024-01.test.probe:chap"])
        #expect(none.status == 1)
        #expect(none.errors.contains("requires CHAP but no CHAP credentials are configured"), "\(none.errors)")
    }

    @Test func wrongMutualSecretIsCaught() throws {
        let fixture = try TargetFixture(
            iqn: "iqn.2024-01.test.probe:mutual-wrong", chap: .init(user: "alice", password: Self.initiatorSecret),
            mutualChap: .init(user: "tgt", password: Self.targetSecret))
        let run = try IscsiRoot.run(
            ["probe", fixture.portal.description, "iqn.2024-01.test.probe:mutual-wrong", "--chap-user", "alice", "--mutual-user", "tgt"],
            environment: ["ISCSI_ROOT_CHAP_SECRET": Self.initiatorSecret, "ISCSI_ROOT_MUTUAL_SECRET": "forged-secret-123"])
        #expect(run.status == 1)
        #expect(run.errors.contains("mutual CHAP"))
    }

    @Test func unknownTargetIsNotFound() throws {
        let fixture = try TargetFixture(iqn: "iqn.2024-01.test.probe:exists")
        let run = try IscsiRoot.run(["probe", fixture.portal.description, "iqn.2024-01.test.probe:missing"])
        #expect(run.status == 1)
        #expect(run.errors.contains("target iqn.2024-01.test.probe:missing not found at \(fixture.portal)"))
    }

    @Test func noListenerIsAConnectionErrorWithinTheTimeout() throws {
        let fixture = try TargetFixture(iqn: "iqn.2024-01.test.probe:gone")
        let portal = fixture.portal
        fixture.kill()
        let started = Date()
        let run = try IscsiRoot.run(["discover", portal.description, "--timeout", "2000"])
        #expect(run.status == 1)
        #expect(run.errors.contains("refused"))
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test func frozenTargetTimesOutMidLogin() throws {
        let fixture = try TargetFixture(iqn: "iqn.2024-01.test.probe:frozen")
        try fixture.freeze()
        defer { fixture.thaw() }
        let started = Date()
        let run = try IscsiRoot.run(["probe", fixture.portal.description, "iqn.2024-01.test.probe:frozen", "--timeout", "1500"])
        #expect(run.status == 1)
        #expect(run.errors.contains("timed out"), "\(run.errors)")
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test func badUsageExitsTwoAndNamesTheArgument() throws {
        let port = try IscsiRoot.run(["probe", "127.0.0.1:99999", "iqn.2024-01.test:x"])
        #expect(port.status == 2)
        #expect(port.errors.contains("\"127.0.0.1:99999\""))
        let missing = try IscsiRoot.run(["probe", "127.0.0.1"])
        #expect(missing.status == 2)
        #expect(missing.errors.contains("missing TARGET-IQN"))
        let secret = try IscsiRoot.run(["discover", "127.0.0.1", "--chap-user", "alice"], environment: ["ISCSI_ROOT_CHAP_SECRET": ""])
        #expect(secret.status == 2)
        #expect(secret.errors.contains("ISCSI_ROOT_CHAP_SECRET"))
        let help = try IscsiRoot.run(["probe", "--help"])
        #expect(help.status == 0 && help.output.contains("usage: iscsi-root probe"))
    }

    @Test func sessionAPIReportsNegotiatedValues() throws {
        let fixture = try TargetFixture(iqn: "iqn.2024-01.test.probe:api")
        var configuration = LoginConfiguration(
            initiatorName: "iqn.2024-01.test:initiator", targetName: "iqn.2024-01.test.probe:api", isid: [0x80, 0, 0, 0, 0, 1],
            portalDescription: fixture.portal.description)
        configuration.parameters.headerDigests = [.crc32c, .none]
        var session = try Session.login(at: fixture.portal, configuration: configuration, timeoutMilliseconds: 5000)
        #expect(session.parameters.maxXmitDataSegmentLength >= 512)
        #expect(session.parameters.targetPortalGroupTag == 1)
        let luns = try session.reportLUNs()
        #expect(luns.map(\.number) == [0, 1])
        try session.logout()
    }
}

/// Runs the built `iscsi-root` the way a person does.
enum IscsiRoot {
    struct Run {
        var status: Int32
        var output: String
        var errors: String
    }

    /// `iscsi-root` next to the test bundle (SwiftPM builds both into one folder).
    static var executable: URL {
        get throws {
            let folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            for candidate in [folder, folder.deletingLastPathComponent()] {
                let binary = candidate.appendingPathComponent("iscsi-root")
                if FileManager.default.isExecutableFile(atPath: binary.path) { return binary }
            }
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: folder.appendingPathComponent("iscsi-root").path])
        }
    }

    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Run {
        let process = Process()
        process.executableURL = try executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
            errors: String(decoding: errorData, as: UTF8.self))
    }
}

/// Secret files for `--chap-secret-file`, mode 0600, removed with the value.
final class SecretFiles {
    private let folder: URL

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("iscsi-root-secrets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    func file(_ secret: String) throws -> String {
        let url = folder.appendingPathComponent(UUID().uuidString)
        FileManager.default.createFile(atPath: url.path, contents: Data(secret.utf8), attributes: [.posixPermissions: 0o600])
        return url.path
    }

    deinit { try? FileManager.default.removeItem(at: folder) }
}
