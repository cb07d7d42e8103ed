import ISCSI
import Agent
import Initiator
import Reports

/// `iscsi-root probe PORTAL TARGET`: log in and describe the target's LUNs.
public enum ProbeCommand: Command {
    public static let name = "probe"
    public static let summary = "log in to a target and list its LUNs (vendor, product, serial, size)"
    public static let help = """
        usage: iscsi-root probe PORTAL TARGET-IQN [--lun N] [OPTIONS] [--json]

        Logs in to TARGET-IQN at PORTAL (address[:port], default port 3260), lists its logical
        units with REPORT LUNS, INQUIRY, the serial number and identification pages and READ
        CAPACITY (16), prints what was negotiated, and logs out. Nothing is written.

        options:
          --lun N                   only this LUN (0-16383)
        \(LoginOptions.help)
          --json                    print JSON instead of a table

        exit status: 0 done, 1 the login or a command failed, 2 bad usage
        """

    public static func run(_ arguments: [String]) -> ExitStatus {
        let options: LoginOptions
        let portal: Portal
        let target: String
        let lun: LogicalUnit?
        let json: Bool
        do {
            let parsed = try Arguments(arguments, flags: ["--json"], options: LoginOptions.options.union(["--lun"]))
            let positionals = try parsed.requirePositionals(["PORTAL", "TARGET-IQN"])
            portal = try Portal.argument(positionals[0])
            target = positionals[1]
            lun = try parsed.integer("--lun", in: 0...16383).map { LogicalUnit($0) }
            options = try LoginOptions(parsed)
            json = parsed.flag("--json")
        } catch {
            printError("iscsi-root probe: \(error) (see iscsi-root probe --help)")
            return .usage
        }
        do {
            var session = try Session.login(
                at: portal, configuration: options.configuration(targetName: target, portal: portal),
                timeoutMilliseconds: options.timeoutMilliseconds)
            let reports = try session.probe(only: lun)
            let parameters = session.parameters
            let sessionPortal = session.portal
            try session.logout()
            print(
                json
                    ? renderJSON(reports, target: target, portal: sessionPortal, parameters: parameters)
                    : renderText(reports, target: target, portal: sessionPortal, parameters: parameters))
            return .success
        } catch {
            printError("iscsi-root probe: \(error)")
            return .failure
        }
    }

    static func renderText(_ reports: [LUNReport], target: String, portal: Portal, parameters: NegotiatedParameters) -> String {
        let group = parameters.targetPortalGroupTag.map { ", portal group \($0)" } ?? ""
        var rows = [["LUN", "TYPE", "VENDOR", "PRODUCT", "REV", "SERIAL", "SIZE"]]
        for report in reports {
            let size = report.capacity.map { "\(humanReadableSize($0.bytes)) (\($0.blockCount) x \($0.blockLength) B)" } ?? "-"
            rows.append([
                report.lun.description, report.inquiry.deviceTypeName, report.inquiry.vendor, report.inquiry.product,
                report.inquiry.revision, report.serialNumber ?? "-", size,
            ])
        }
        return "target \(target) at \(portal)\(group)\n" + table(rows) + "\nnegotiated: " + negotiatedSummary(parameters)
    }

    static func negotiatedSummary(_ parameters: NegotiatedParameters) -> String {
        [
            "HeaderDigest=\(parameters.headerDigest.rawValue)", "DataDigest=\(parameters.dataDigest.rawValue)",
            "MaxRecvDataSegmentLength=\(parameters.maxRecvDataSegmentLength)",
            "MaxXmitDataSegmentLength=\(parameters.maxXmitDataSegmentLength)",
            "MaxBurstLength=\(parameters.maxBurstLength)", "FirstBurstLength=\(parameters.firstBurstLength)",
            "InitialR2T=\(YesNo.format(parameters.initialR2T))", "ImmediateData=\(YesNo.format(parameters.immediateData))",
        ].joined(separator: " ")
    }

    static func renderJSON(_ reports: [LUNReport], target: String, portal: Portal, parameters: NegotiatedParameters) -> String {
        JSON.object([
            ("target", .string(target)),
            ("portal", .string(portal.description)),
            ("portalGroupTag", parameters.targetPortalGroupTag.map { .number(Int($0)) } ?? .null),
            (
                "luns",
                .array(
                    reports.map { report in
                        .object([
                            ("lun", report.lun.number.map { .number($0) } ?? .string(report.lun.description)),
                            ("type", .string(report.inquiry.deviceTypeName)),
                            ("vendor", .string(report.inquiry.vendor)),
                            ("product", .string(report.inquiry.product)),
                            ("revision", .string(report.inquiry.revision)),
                            ("serial", report.serialNumber.map { .string($0) } ?? .null),
                            ("identifiers", .array(report.designators.map { .string($0.description) })),
                            ("blocks", report.capacity.map { .string(String($0.blockCount)) } ?? .null),
                            ("blockLength", report.capacity.map { .number(Int($0.blockLength)) } ?? .null),
                        ])
                    })
            ),
            (
                "negotiated",
                parameters.json
            ),
        ]).rendered()
    }
}

/// Left-aligned columns separated by two spaces; the last column is not padded.
func table(_ rows: [[String]]) -> String {
    guard let columns = rows.map({ $0.count }).max() else { return "" }
    let widths = (0..<columns).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
    return rows.map { row in
        row.enumerated().map { column, cell in column == row.count - 1 ? cell : cell.padded(to: widths[column] + 1) }.joined(separator: " ")
    }.joined(separator: "\n")
}
