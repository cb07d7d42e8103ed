import Commands
import Foundation
import Testing

/// `dvt`'s options for the kernel path and the iteration count, through the command line.
@Suite struct DVTOptionsTests {
    @Test(arguments: [
        ["127.0.0.1:9", "iqn.2024-01.test:any", "--iterations", "3", "--seed"],
        ["127.0.0.1:9", "iqn.2024-01.test:any", "--seed", "7"],
        ["127.0.0.1:9", "iqn.2024-01.test:any", "--iterations", "0"],
        ["127.0.0.1:9", "iqn.2024-01.test:any", "--script", "true"],
        ["127.0.0.1:9", "iqn.2024-01.test:any", "--kernel", "--script", "check 'device"],
        ["127.0.0.1:9", "iqn.2024-01.test:any", "--kernel", "--bench", "seq-read"],
        ["--block-device", "/dev/sdb", "--keys", "HeaderDigest"],
        ["--block-device", "/dev/sdb", "--kernel"],
        ["127.0.0.1:9", "--block-device", "/dev/sdb"],
        ["--block-device", "/dev/sdb", "--write"],
        // --block-device --bench: sequential only, one command at a time, writes inside a range.
        ["--block-device", "/dev/sdb", "--bench", "rand-read"],
        ["--block-device", "/dev/sdb", "--bench", "seq-write"],
        ["--block-device", "/dev/sdb", "--bench", "seq-read", "--queue-depth", "4"],
        ["--block-device", "/dev/sdb", "--bench", "seq-read", "--script", "true"],
    ])
    func unusableCombinationsAreUsageErrors(arguments: [String]) {
        #expect(DVTCommand.run(arguments) == .usage)
    }

    /// The first N of the pairwise array, or N drawn from the full product with a seed; the
    /// report says which.
    @Test func iterationsBoundTheSweep() throws {
        let target = try ScriptedTarget(fault: .none)
        let base = [
            "dvt", target.portal.description, "iqn.2024-01.test:scripted", "--lun", "0", "--keys", "ImmediateData,InitialR2T", "--json",
        ]
        let first = try IscsiRoot.run(base + ["--iterations", "1"])
        #expect(first.status == 0, "\(first.errors)")
        let firstReport = try #require(try JSONSerialization.jsonObject(with: Data(first.output.utf8)) as? [String: Any])
        #expect(firstReport["coverage"] as? String == "the first 1 of pairwise")
        #expect((firstReport["combinations"] as? [Any])?.count == 1)

        let sampled = try IscsiRoot.run(base + ["--iterations", "3", "--seed", "11"])
        #expect(sampled.status == 0, "\(sampled.errors)")
        let sampledReport = try #require(try JSONSerialization.jsonObject(with: Data(sampled.output.utf8)) as? [String: Any])
        #expect(sampledReport["coverage"] as? String == "3 sampled from the full product, seed 11")
        let rows = try #require(sampledReport["combinations"] as? [[String: Any]])
        #expect(rows.count == 3)
        let offered = rows.map { row in
            let keys = row["keys"] as? [String: [String: Any]]
            return "\(keys?["ImmediateData"]?["offered"] ?? "?")/\(keys?["InitialR2T"]?["offered"] ?? "?")"
        }
        #expect(Set(offered).count == 3, "\(offered)")
        #expect(sampledReport["path"] as? String == "userspace")
    }
}
