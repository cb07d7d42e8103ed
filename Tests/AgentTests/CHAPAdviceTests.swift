import BootConfig
import ISCSI
import Testing

@testable import Agent

/// The advice in the error of a target that requires CHAP the plan does not give it: it names
/// what the grammar that named the target offers, and `iscsi.chap=` where that applies.
@Suite struct CHAPAdviceTests {
    static func target(from source: ValueSource) -> TargetPlan {
        TargetPlan(
            name: Sourced("iqn.2024-01.example:root1", from: source), portals: [Sourced(Portal(host: "10.0.2.2"), from: source)],
            lun: Sourced(nil, from: .defaultValue))
    }

    @Test(arguments: [
        (
            ValueSource.commandLine("iscsi="),
            "iscsi.chap=<user> with the line \"<user> <secret>\" in /etc/iscsi-root/secrets (or iscsi://<user>@"
        ),
        (
            .commandLine("netroot="),
            "iscsi.chap=<user> with the line \"<user> <secret>\" in /etc/iscsi-root/secrets (or <user>:<password>@ in the root path of netroot="
        ),
        (.commandLine("rd.iscsi.target.name="), "rd.iscsi.username= and rd.iscsi.password=, or iscsi.chap=<user>"),
        (.commandLine("iscsi_target_name="), "iscsi_username= and iscsi_password=, or iscsi.chap=<user>"),
        (.configFile("ISCSI_TARGET_NAME"), "ISCSI_USERNAME and ISCSI_PASSWORD in /etc/iscsi/iscsi.initramfs, or iscsi.chap=<user>"),
        (.firmware("target0 target-name"), "the CHAP name and secret of the firmware's iSCSI setup (the iBFT)"),
        (.generated("DHCP option 17"), "<user>:<password>@ in the DHCP server's root path"),
    ])
    func namesTheGrammarsCHAPFields(source: ValueSource, advice: String) {
        #expect(
            BootSequence.chapAdvice(for: Self.target(from: source)).hasPrefix(advice),
            "\(BootSequence.chapAdvice(for: Self.target(from: source)))")
    }

    /// The iBFT's and DHCP's targets do not take `iscsi.chap=`: their advice does not offer it.
    @Test func noCommandLineCHAPWhereItDoesNotApply() {
        for source in [ValueSource.firmware("target0 target-name"), .generated("DHCP option 17")] {
            #expect(!BootSequence.chapAdvice(for: Self.target(from: source)).contains("iscsi.chap="))
        }
    }

    /// The boot's session plans pass through the security stage and carry the advice of the
    /// grammar that named their target, which the error of a target wanting CHAP then shows.
    @Test func sessionPlansCarryIt() throws {
        let plan = try BootPlan.resolve(
            commandLine: KernelCommandLine(parsing: "ip=dhcp netroot=iscsi:10.0.2.2::::iqn.2024-01.example:root1 root=LABEL=root"))
        let target = try #require(plan.targets.first)
        let plans = try BootSequence.sessionPlans(target, plan: plan, initiatorName: "iqn.2024-01.example:client")
        let login = try #require(plans.first?.login)
        #expect(login.securityStage == .always)
        #expect(login.credentialsAdvice == BootSequence.chapAdvice(for: target))
        let error = LoginError.authenticationRequired(target: target.name.value, closedOnNone: true, advice: login.credentialsAdvice)
        #expect("\(error)".contains("requires CHAP") && "\(error)".contains("configure iscsi.chap=<user>"))
        #expect("\(error)".contains("in the root path of netroot="))
    }
}
