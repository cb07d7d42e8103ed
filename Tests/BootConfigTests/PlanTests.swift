import ISCSI
import Testing

@testable import BootConfig

func plan(
    _ commandLine: String, firmware: IBFT? = nil, config: String? = nil, secrets: String? = nil
) throws -> BootPlan {
    try BootPlan.resolve(
        commandLine: KernelCommandLine(parsing: commandLine), firmware: firmware,
        config: config.map { try InitramfsToolsConfig.parse($0) },
        secrets: secrets.map { try SecretsFile.parse($0) })
}

@Suite struct PlanTests {
    @Test func nativeURLExplainsTheBoot() throws {
        let result = try plan(
            "ip=dhcp iscsi=iscsi://10.0.2.2/iqn.2024-01.example:root1/1 root=LABEL=root")
        #expect(result.interfaces.map(\.method) == [.dhcp])
        #expect(result.targets.count == 1)
        #expect(result.targets[0].name.value == "iqn.2024-01.example:root1")
        #expect(result.targets[0].lun.value?.number == 1)
        #expect(result.root.device.value == .label("root"))
        #expect(
            result.text.contains("10.0.2.2:3260") && result.text.contains("LABEL=root")
                && result.text.contains("[cmdline iscsi=]"))
    }

    @Test func dracutTestSuiteStaticAddress() throws {
        let result = try plan(
            "root=LABEL=singleroot netroot=iscsi:192.168.50.1::::iqn.2009-06.dracut:target0 ip=192.168.50.101::192.168.50.1:255.255.255.0:iscsi-1:lan0:off rd.iscsi.initiator=iqn.1994-05.com.redhat:633114aacf2"
        )
        #expect(result.interfaces[0].device == "lan0")
        #expect(result.interfaces[0].address?.description == "192.168.50.101")
        #expect(result.interfaces[0].prefixLength == 24)
        #expect(result.interfaces[0].hostname == "iscsi-1")
        #expect(result.initiatorName.value == .named("iqn.1994-05.com.redhat:633114aacf2"))
        #expect(result.initiatorName.source == .commandLine("rd.iscsi.initiator="))
        #expect(result.targets[0].portals.map(\.value.description) == ["192.168.50.1:3260"])
        #expect(result.warnings.contains { $0.message.contains("LUN 0") })
    }

    @Test func dracutTestSuiteTwoNetroots() throws {
        let result = try plan(
            "root=LABEL=sysroot ip=dhcp netroot=iscsi:192.168.51.1::::iqn.2009-06.dracut:target1 netroot=iscsi:192.168.50.1::::iqn.2009-06.dracut:target2"
        )
        #expect(
            result.targets.map(\.name.value) == [
                "iqn.2009-06.dracut:target1", "iqn.2009-06.dracut:target2",
            ])
    }

    /// dracut's TEST-71 form: every netroot= is a session; the first holds the root, the
    /// second logs in alongside. `plan` says so in text and JSON.
    @Test func everyNetrootIsASessionAndTheFirstHoldsTheRoot() throws {
        let result = try plan(
            "root=LABEL=sysroot ip=dhcp netroot=iscsi:192.168.51.1::::iqn.2009-06.dracut:target1 netroot=iscsi:192.168.50.1::::iqn.2009-06.dracut:target2"
        )
        #expect(result.sessions == [SessionPlan(target: 0, holdsRoot: true), SessionPlan(target: 1, holdsRoot: false)])
        #expect(result.text.contains("  session       holds the root: the boot waits for it"))
        #expect(
            result.text.contains(
                "  session       logged in alongside, joins when its target answers; the boot does not wait for it")
        )
        let json = result.json.filter { $0 != " " && $0 != "\n" }
        #expect(
            json.contains(
                #""sessions":[{"target":"iqn.2009-06.dracut:target1","portals":["192.168.51.1:3260"],"holdsRoot":true},{"target":"iqn.2009-06.dracut:target2","portals":["192.168.50.1:3260"],"holdsRoot":false}]"#
            ))
    }

    /// One target named once: one session, which holds the root (the boot as before).
    @Test func oneTargetIsOneSession() throws {
        let result = try plan("ip=dhcp iscsi=iscsi://10.0.2.2/iqn.2024-01.example:root1/1")
        #expect(result.sessions == [SessionPlan(target: 0, holdsRoot: true)])
    }

    /// netroot=dhcp: the target is known only once DHCP answered; no session is planned yet.
    @Test func dhcpRootPathPlansNoSessionYet() throws {
        #expect(try plan("netroot=dhcp ip=dhcp").sessions.isEmpty)
    }

    /// Debian's open-iscsi local-top script runs iscsistart once per address of a
    /// space-separated ISCSI_TARGET_IP (same name, port and group): a session per address.
    /// The addresses are the paths of one target, in the order written: hook mode opens a
    /// session on each, as that script does; /init one session that walks them.
    @Test func initramfsToolsSpaceSeparatedAddressesArePathsOfOneTarget() throws {
        let result = try plan(
            "ip=dhcp",
            config: "ISCSI_TARGET_NAME=iqn.2024-01.example:root\nISCSI_TARGET_IP=\"10.0.0.1 10.0.0.2\"\nISCSI_TARGET_PORT=3261\n")
        #expect(result.targets.count == 1)
        #expect(result.targets[0].portals.map(\.value.description) == ["10.0.0.1:3261", "10.0.0.2:3261"])
        // The root's map (iscsi.multipath=on by default): /init too opens a session per path.
        #expect(result.multipathRoot)
        #expect(
            result.sessions == [SessionPlan(target: 0, portal: 0, holdsRoot: true), SessionPlan(target: 0, portal: 1, holdsRoot: true)])
        #expect(
            result.hookSessions == [SessionPlan(target: 0, portal: 0, holdsRoot: true), SessionPlan(target: 0, portal: 1, holdsRoot: true)])
        #expect(
            result.text.contains(
                "  paths         /init: a session per portal, the root on a dm-multipath map over them (iscsi.multipath=off: one session, "
                    + "the portals tried in order); hook mode: a session per portal, the framework's multipath maps them (the first that answers holds the root)"
            ))
        let json = result.json.filter { $0 != " " && $0 != "\n" }
        #expect(
            json.contains(
                #""hookSessions":[{"target":"iqn.2024-01.example:root","portals":["10.0.0.1:3261"],"holdsRoot":true},{"target":"iqn.2024-01.example:root","portals":["10.0.0.2:3261"],"holdsRoot":true}]"#
            ))
    }

    /// iscsi.multipath=off: /init opens one session that walks the portals (failover), and the
    /// plan says so; the command line it renders keeps the setting.
    @Test func multipathOffIsOneSessionOverThePortals() throws {
        let result = try plan(
            "ip=dhcp iscsi=iscsi://10.0.0.1/iqn.2024-01.example:root/1 iscsi=iscsi://10.0.0.2/iqn.2024-01.example:root/1 iscsi.multipath=off"
        )
        #expect(!result.multipathRoot)
        #expect(result.sessions == [SessionPlan(target: 0, holdsRoot: true)])
        #expect(result.hookSessions.count == 2)
        #expect(result.text.contains("  paths         /init: one session, the portals tried in order; hook mode: a session per portal"))
        #expect(result.text.contains("  multipath       off    [cmdline iscsi.multipath=]"))
        #expect(result.commandLine.contains(" iscsi.multipath=off"))
        #expect(result.json.filter { $0 != " " && $0 != "\n" }.contains(#""multipathRoot":false"#))
    }

    /// With the map, each path's session gets a replacement timeout of 0 s (I/O of a broken
    /// path goes back to the map and on to another path), unless iscsi.replacement_timeout=
    /// says otherwise; one portal makes no map.
    @Test func pathsOfTheRootMapHaveAShortReplacementTimeout() throws {
        let twoPaths = "ip=dhcp iscsi=iscsi://10.0.0.1/iqn.2024-01.example:root/1 iscsi=iscsi://10.0.0.2/iqn.2024-01.example:root/1"
        let result = try plan(twoPaths)
        #expect(result.multipathRoot)
        #expect(result.pathReplacementTimeout.value == 0)
        #expect(
            result.text.contains(
                "  multipath       on: the root on a dm-multipath map over 2 paths, each with a replacement timeout of 0 s"))
        #expect(result.json.filter { $0 != " " && $0 != "\n" }.contains(#""multipathRoot":true"#))
        #expect(try plan(twoPaths + " iscsi.replacement_timeout=5").pathReplacementTimeout.value == 5)
        #expect(result.pathNoop == (interval: 1, timeout: 2))
        #expect(result.text.contains("each with a replacement timeout of 0 s and NOP-Out every 1 s (timeout 2 s)"))
        #expect(try plan(twoPaths + " iscsi.noop=5,5").pathNoop == (interval: 5, timeout: 5))
        let onePortal = try plan("ip=dhcp iscsi=iscsi://10.0.0.1/iqn.2024-01.example:root/1")
        #expect(!onePortal.multipathRoot)
        #expect(onePortal.text.contains("  multipath       on (only one portal to the root's target: no map)"))
    }

    @Test func anUnknownMultipathValueNamesTheParameterAndTheChoices() {
        #expect(
            throws: BootConfigError("iscsi.multipath=", token: "auto", problem: "is not a choice", expected: "on, off")
        ) { try plan("ip=dhcp iscsi=iscsi://10.0.0.1/iqn.2024-01.example:root/1 iscsi.multipath=auto") }
    }

    /// Every path is a session, a pinned process each: at most 16 in all, and the error names
    /// the first one too many, the parameter that gave it and the limit. Paths count target by
    /// target, as the plan lists them: the 17th is t0's fourth portal.
    @Test func moreThanSixteenPathsAreRefused() throws {
        func netroots(_ count: Int) -> String {
            (1...count).map { "netroot=iscsi:10.0.\($0 % 2).\($0)::::iqn.2024-01.example:t\($0 % 5)" }.joined(separator: " ")
        }
        #expect(try plan("ip=dhcp " + netroots(16)).targets.reduce(0) { $0 + $1.portals.count } == 16)
        #expect(
            throws: BootConfigError(
                "netroot=", token: "iqn.2024-01.example:t0 at 10.0.1.15:3260",
                problem: "is path 17 of the boot (every portal of every target is a session)",
                expected: "at most 16 in all: each session is a pinned process of about 2 MB")
        ) { try plan("ip=dhcp " + netroots(17)) }
    }

    /// dracut logs in to every netroot=, also two of one target (its multipath form: one
    /// netroot= per path): in hook mode, a session per path, the data target's too.
    @Test func hookModeOpensASessionPerNetroot() throws {
        let result = try plan(
            "root=LABEL=sysroot ip=dhcp netroot=iscsi:192.168.51.1::::iqn.2009-06.dracut:target1 "
                + "netroot=iscsi:192.168.50.1::::iqn.2009-06.dracut:target1 netroot=iscsi:192.168.50.1::::iqn.2009-06.dracut:data")
        #expect(result.targets.map { $0.portals.count } == [2, 1])
        #expect(
            result.hookSessions == [
                SessionPlan(target: 0, portal: 0, holdsRoot: true), SessionPlan(target: 0, portal: 1, holdsRoot: true),
                SessionPlan(target: 1, portal: 0, holdsRoot: false),
            ])
        #expect(result.targets[0].path(1).portals.map(\.value.description) == ["192.168.50.1:3260"])
        #expect(!result.text.contains("  paths         /init: one session, the portals tried in order; hook mode: a session per portal\n"))
    }

    /// Every iBFT target flagged valid is logged in, as iscsistart -b does; the boot-selected
    /// one comes first (it holds the root) even when the table lists it second.
    @Test func everyValidFirmwareTargetIsASessionBootSelectedFirst() throws {
        var table = try IBFTTests.dracutTable()
        var other = table.targets[0]
        other.index = 1
        other.flags = IBFT.Flags(raw: 1)
        other.name = "iqn.2009-06.dracut:data"
        var invalid = other
        invalid.flags = IBFT.Flags(raw: 0)
        invalid.name = "iqn.2009-06.dracut:invalid"
        table.targets = [other, table.targets[0], invalid]
        let result = try plan("rd.iscsi.firmware=1", firmware: table)
        #expect(result.targets.map(\.name.value) == ["iqn.2009-06.dracut:target0", "iqn.2009-06.dracut:data"])
        #expect(result.sessions.map(\.holdsRoot) == [true, false])
    }

    @Test func dracutTestSuiteDHCPRootPath() throws {
        let result = try plan("root=/dev/root netroot=dhcp ip=lan0:dhcp")
        #expect(result.targets.isEmpty)
        #expect(result.targetFromDHCP == .commandLine("netroot="))
        #expect(result.interfaces[0].device == "lan0")
        #expect(result.root.device.value == .targetLUN)
    }

    @Test func dracutTestSuiteFirmware() throws {
        let result = try plan(
            "rd.iscsi.ibft=1 rd.iscsi.firmware=1", firmware: try IBFTTests.dracutTable())
        #expect(result.targets.map(\.name.value) == ["iqn.2009-06.dracut:target0"])
        #expect(result.interfaces[0].mac?.value.description == "52:54:00:12:34:00")
        #expect(result.initiatorName.source == .firmware("initiator initiator-name"))
    }

    @Test func severalPortalsOfOneTargetArePaths() throws {
        let result = try plan(
            "iscsi=iscsi://10.0.0.1/iqn.2024-01.example:r/1 iscsi=iscsi://[2001:db8::1]:3261/iqn.2024-01.example:r/1 iscsi=iscsi://10.0.0.9/iqn.2024-01.example:other"
        )
        #expect(result.targets.count == 2)
        #expect(
            result.targets[0].portals.map(\.value.description) == ["10.0.0.1:3260", "[2001:db8::1]:3261"])
        #expect(result.targets[1].lun.value == nil)
    }

    @Test(arguments: [
        // iscsi= wins over the iBFT...
        ("iscsi=iscsi://10.0.0.1/iqn.2024-01.example:mine", ["iqn.2024-01.example:mine"]),
        // ...unless the firmware's targets are asked for: then both, firmware first.
        (
            "iscsi=iscsi://10.0.0.1/iqn.2024-01.example:mine rd.iscsi.firmware=1",
            ["iqn.2009-06.dracut:target0", "iqn.2024-01.example:mine"]
        ),
        // nothing explicit: the iBFT's boot target.
        ("ip=dhcp", ["iqn.2009-06.dracut:target0"]),
        ("iscsi_auto", ["iqn.2009-06.dracut:target0"]),
    ])
    func targetPrecedence(commandLine: String, names: [String]) throws {
        let result = try plan(commandLine, firmware: try IBFTTests.dracutTable())
        #expect(result.targets.map(\.name.value) == names)
    }

    @Test(arguments: [
        (
            "iscsi.initiator=iqn.2024-01.a:native rd.iscsi.initiator=iqn.2024-01.a:dracut iscsi_initiator=iqn.2024-01.a:legacy",
            "iqn.2024-01.a:native"
        ),
        (
            "rd.iscsi.initiator=iqn.2024-01.a:dracut iscsi_initiator=iqn.2024-01.a:legacy",
            "iqn.2024-01.a:dracut"
        ),
        ("iscsi_initiator=iqn.2024-01.a:legacy", "iqn.2024-01.a:legacy"),
        ("ip=eth0:dhcp:1500:52:54:00:ab:cd:ef", "iqn.2024-01.org.iscsi-root:mac-525400abcdef"),
    ])
    func initiatorPrecedence(extra: String, expected: String) throws {
        let result = try plan("iscsi=iscsi://10.0.0.1/iqn.2024-01.example:t " + extra)
        #expect(result.initiatorName.value == .named(expected))
    }

    @Test func initramfsToolsCommandLineOverridesFile() throws {
        let config = """
            # open-iscsi
            ISCSI_INITIATOR="iqn.2024-01.a:fromfile"
            ISCSI_TARGET_NAME=iqn.2024-01.a:target
            ISCSI_TARGET_IP='10.0.0.1 10.0.0.2'
            export ISCSI_TARGET_PORT=3261
            ISCSI_USERNAME=alice
            ISCSI_PASSWORD="pa ss\\"word"
            ISCSI_BOGUS=1
            """
        let result = try plan(
            "iscsi_target_port=3262 iscsi_initiator=iqn.2024-01.a:fromcmdline", config: config)
        #expect(result.targets.count == 1)
        #expect(
            result.targets[0].portals.map(\.value.description) == ["10.0.0.1:3262", "10.0.0.2:3262"])
        #expect(result.initiatorName.value == .named("iqn.2024-01.a:fromcmdline"))
        #expect(result.targets[0].credentials?.value.credentials.secret == CHAPSecret("pa ss\"word"))
        #expect(result.targets[0].credentials?.source == .configFile("ISCSI_USERNAME"))
        #expect(result.warnings.contains { $0.message.contains("ISCSI_BOGUS") })
    }

    @Test func dracutDiscreteTargetWithCredentials() throws {
        let result = try plan(
            "rd.iscsi.target.name=iqn.2024-01.a:t rd.iscsi.target.ip=10.0.0.1 rd.iscsi.target.port=3261 rd.iscsi.target.group=2 rd.iscsi.username=u rd.iscsi.password=topsecret rd.iscsi.in.username=tu rd.iscsi.in.password=othersecret"
        )
        #expect(result.targets[0].portals[0].value.description == "10.0.0.1:3261")
        #expect(result.targets[0].portalGroupTag?.value == 2)
        #expect(result.targets[0].credentials?.value.mutual?.userName == "tu")
        for output in [result.text, result.json, result.commandLine] {
            #expect(!output.contains("topsecret") && !output.contains("othersecret"))
        }
        #expect(result.json.contains("\"secret\": \"(set)\""))
    }

    @Test func secretsFileSuppliesCHAP() throws {
        let secrets = "# user secret\nalice  open sesame \ntarget-user\tt0p\n"
        let result = try plan(
            "iscsi=iscsi://10.0.0.1/iqn.2024-01.a:t iscsi.chap=alice iscsi.mutual=target-user",
            secrets: secrets)
        #expect(result.targets[0].credentials?.value.credentials.secret == CHAPSecret("open sesame"))
        #expect(result.targets[0].credentials?.value.mutual?.secret == CHAPSecret("t0p"))
        let viaURL = try plan("iscsi=iscsi://alice@10.0.0.1/iqn.2024-01.a:t", secrets: secrets)
        #expect(viaURL.targets[0].credentials?.value.credentials.userName == "alice")
    }

    @Test(
        arguments: [
            (
                "iscsi.chap=bob", "alice x",
                "iscsi.chap=: user \"bob\" has no secret in /etc/iscsi-root/secrets (expected a line \"bob <secret>\" in /etc/iscsi-root/secrets (mode 0600))"
            ),
            (
                "iscsi.chap=bob", nil,
                "iscsi.chap=: user \"bob\" needs a secret, but /etc/iscsi-root/secrets is missing (expected a line \"bob <secret>\" in /etc/iscsi-root/secrets (mode 0600))"
            ),
            (
                "iscsi.mutual=bob", "bob x",
                "iscsi.mutual=: \"bob\" is given without iscsi.chap= (expected iscsi.chap=<user> too (mutual CHAP authenticates both sides))"
            ),
        ] as [(String, String?, String)])
    func secretErrors(extra: String, secrets: String?, message: String) {
        do {
            _ = try plan("iscsi=iscsi://10.0.0.1/iqn.2024-01.a:t " + extra, secrets: secrets)
            Issue.record("accepted")
        } catch {
            #expect("\(error)" == message)
        }
    }

    @Test func settingsAndTheirSources() throws {
        let result = try plan(
            "iscsi=iscsi://10.0.0.1/iqn.2024-01.a:t iscsi_root.replacement_timeout=600 iscsi.noop=10,20 iscsi.login_timeout=30 iscsi.retries=3 iscsi.on_failure=poweroff iscsi.log=debug rd.iscsi.param=node.conn[0].iscsi.HeaderDigest=CRC32C rd.iscsi.param=DataDigest=None rd.iscsi.param=node.startup=automatic rootfstype=ext4 rootflags=noatime rw init=/sbin/init rd.retry=60"
        )
        #expect(
            result.session.replacementTimeout
                == Sourced(600, from: .commandLine("iscsi_root.replacement_timeout=")))
        #expect(result.session.noopInterval.value == 10 && result.session.noopTimeout.value == 20)
        #expect(result.session.loginTimeout.value == 30 && result.session.loginRetries.value == 3)
        #expect(result.session.negotiationOverrides["HeaderDigest"]?.value == "CRC32C")
        #expect(result.session.negotiationOverrides["DataDigest"]?.value == "None")
        #expect(result.onFailure.value == .poweroff && result.logLevel.value == .debug)
        #expect(
            result.root.filesystemType?.value == "ext4" && !result.root.readOnly.value
                && result.root.waitSeconds.value == 60)
        #expect(result.warnings.contains { $0.message.contains("node.startup") })
    }

    /// `iscsi.boot_timeout=`: seconds the boot keeps trying to log in; `iscsi.retries=` unset
    /// leaves only that bound, set it bounds the rounds as well.
    @Test func bootTimeoutAndRetries() throws {
        let defaults = try plan("iscsi=iscsi://10.0.0.1/iqn.2024-01.a:t")
        #expect(defaults.session.bootTimeout == Sourced(600, from: .defaultValue))
        #expect(defaults.session.loginRetries == Sourced(nil, from: .defaultValue))
        #expect(defaults.text.contains("boot timeout    600 s of login attempts"))
        #expect(defaults.text.contains("until the boot timeout"))
        #expect(defaults.commandLine.contains("iscsi.boot_timeout=600") && !defaults.commandLine.contains("iscsi.retries="))
        let set = try plan(
            "iscsi=iscsi://10.0.0.1/iqn.2024-01.a:t iscsi.boot_timeout=90 rd.iscsi.param=node.session.initial_login_retry_max=4")
        #expect(set.session.bootTimeout == Sourced(90, from: .commandLine("iscsi.boot_timeout=")))
        #expect(set.session.loginRetries.value == 4)
        #expect(set.commandLine.contains("iscsi.boot_timeout=90") && set.commandLine.contains("iscsi.retries=4"))
        #expect(set.json.contains("\"bootTimeout\""))
        #expect(try plan("iscsi=iscsi://10.0.0.1/iqn.2024-01.a:t iscsi_root.boot_timeout=86400").session.bootTimeout.value == 86400)
    }

    /// `iscsi.shutdown_timeout=`: the bound of the final stage, in the plan and its command
    /// line, and read alone from a command line by the shutdown role.
    @Test func shutdownTimeout() throws {
        let defaults = try plan("iscsi=iscsi://10.0.0.1/iqn.2024-01.a:t")
        #expect(defaults.session.shutdownTimeout == Sourced(30, from: .defaultValue))
        #expect(defaults.text.contains("within 30 s (unmount, flush, logout)"))
        #expect(defaults.commandLine.contains("iscsi.shutdown_timeout=30"))
        let set = try plan("iscsi=iscsi://10.0.0.1/iqn.2024-01.a:t iscsi.shutdown_timeout=10")
        #expect(set.session.shutdownTimeout == Sourced(10, from: .commandLine("iscsi.shutdown_timeout=")))
        #expect(set.commandLine.contains("iscsi.shutdown_timeout=10"))
        #expect(set.json.contains("\"shutdownTimeout\""))
        #expect(
            try SessionSettings.shutdownTimeout(in: KernelCommandLine(parsing: "quiet root=/dev/sda")) == Sourced(30, from: .defaultValue))
        #expect(
            try SessionSettings.shutdownTimeout(
                in: KernelCommandLine(parsing: "iscsi.shutdown_timeout=12 iscsi_root.shutdown_timeout=3600"))
                == Sourced(3600, from: .commandLine("iscsi_root.shutdown_timeout=")))
    }

    @Test(arguments: ["", "4", "-5", "10s", "3601", "99999999999"])
    func badShutdownTimeout(value: String) {
        let expected = "iscsi.shutdown_timeout=: \"\(value)\" is not a number in range (expected 5-3600 seconds, such as 30)"
        do {
            _ = try plan("iscsi=iscsi://10.0.0.1/iqn.2024-01.a:t iscsi.shutdown_timeout=" + value)
            Issue.record("accepted \(value)")
        } catch {
            #expect("\(error)" == expected)
        }
        do {
            _ = try SessionSettings.shutdownTimeout(in: KernelCommandLine(parsing: "iscsi.shutdown_timeout=" + value))
            Issue.record("accepted \(value)")
        } catch {
            #expect("\(error)" == expected)
        }
    }

    @Test(arguments: ["", "0", "-5", "10m", "86401", "99999999999"])
    func badBootTimeout(value: String) {
        do {
            _ = try plan("iscsi=iscsi://10.0.0.1/iqn.2024-01.a:t iscsi.boot_timeout=" + value)
            Issue.record("accepted \(value)")
        } catch {
            #expect("\(error)" == "iscsi.boot_timeout=: \"\(value)\" is not a number in range (expected 1-86400 seconds, such as 600)")
        }
    }

    @Test(arguments: [
        ("iscsi.retires=3", "did you mean iscsi.retries=?"),
        ("iscsi_root.on_fail=halt", "did you mean iscsi.on_failure=?"),
        ("rd.iscsi.firmwre=1", "did you mean rd.iscsi.firmware=?"),
        ("netroot=iscsi:ibft", "rd.iscsi.firmware=1"),
        ("ip=10.0.0.2::192.168.0.1:24::eth0:none", "outside the subnet"),
        ("iscsiroot=iscsi:10.0.0.3::::iqn.2024-01.a:u", "deprecated"),
        ("ip=eth0:link6 iscsi=iscsi://[fe80::2%eth1]/iqn.2024-01.a:t", "names interface eth1, which the plan does not configure"),
    ])
    func warnings(extra: String, fragment: String) throws {
        let result = try plan(
            "iscsi=iscsi://10.0.0.1/iqn.2024-01.a:t " + extra, firmware: try IBFTTests.dracutTable())
        #expect(result.warnings.contains { $0.description.contains(fragment) }, "\(result.warnings)")
    }

    /// DHCPv6 is spoken now: the plan names the method and warns about nothing; netroot=dhcp6
    /// without ip= asks DHCPv6 as dracut does, netroot=dhcp still DHCPv4.
    @Test(arguments: [
        ("ip=dhcp6 netroot=dhcp6", AddressMethod.dhcp6),
        ("ip=eth0:dhcp6 netroot=dhcp6", .dhcp6),
        ("netroot=dhcp6", .dhcp6),
        ("root=dhcp6", .dhcp6),
        ("ip=either6 netroot=dhcp6", .either6),
        ("netroot=dhcp", .dhcp),
    ])
    func dhcp6(commandLine: String, method: AddressMethod) throws {
        let result = try plan(commandLine + " root=LABEL=root")
        #expect(result.interfaces.map { $0.method } == [method])
        #expect(result.targetFromDHCP != nil)
        #expect(result.warnings.isEmpty, "\(result.warnings)")
    }

    @Test(arguments: [
        ("netroot=nfs:1.2.3.4:/x", "netroot=: \"nfs:1.2.3.4:/x\" is not an iSCSI root"),
        ("rd.neednet=maybe", "rd.neednet=: \"maybe\" is not a yes/no value"),
        ("iscsi.log=loud", "iscsi.log=: \"loud\" is not a choice (expected quiet, info, debug)"),
        ("iscsi.noop=5", "iscsi.noop=: \"5\" is not <interval>,<timeout>"),
        (
            "rd.iscsi.param=HeaderDigest=MD5",
            "rd.iscsi.param=HeaderDigest: \"MD5\" is not a value of HeaderDigest"
        ),
        ("root=sda1", "root=: \"sda1\" is not a root device"),
        ("vlan=eth0:eth0", "vlan=: name \"eth0\" does not end in a VLAN id"),
        ("vlan=eth0.4095:eth0", "vlan=: name \"eth0.4095\" has VLAN id 4095, outside 1-4094"),
        ("vlan=eth0.0:eth0", "vlan=: name \"eth0.0\" has VLAN id 0, outside 1-4094"),
        ("vlan=vlan5000:eth0", "vlan=: name \"vlan5000\" has VLAN id 5000, outside 1-4094"),
        (
            "iscsi=iscsi://fd00::1/iqn.2024-01.a:t",
            "iscsi=: host \"fd00::1\" looks like an IPv6 address without brackets (expected [IPv6 address]"
        ),
        (
            "iscsi=iscsi://fd00::1:3260/iqn.2024-01.a:t",
            "iscsi=: host \"fd00::1:3260\" looks like an IPv6 address without brackets"
        ),
        ("rd.route=10.0.0.0/33:10.0.0.1", "rd.route=: prefix \"33\" is not a prefix length"),
        ("BOOTIF=01-zz", "BOOTIF=: \"01-zz\" is not a MAC address"),
        ("iscsi.initiator=bogus", "iscsi.initiator=: \"bogus\" is not an iSCSI name"),
        ("rd.iscsi.username=u", "rd.iscsi.username=: \"u\" has no password"),
    ])
    func badInput(extra: String, prefix: String) {
        do {
            _ = try plan("iscsi=iscsi://10.0.0.1/iqn.2024-01.a:t " + extra)
            Issue.record("accepted \(extra)")
        } catch {
            #expect("\(error)".hasPrefix(prefix), "\(error)")
        }
    }

    @Test func noTargetIsAnError() {
        #expect(throws: BootConfigError.self) { try plan("console=ttyS0 loglevel=7 quiet") }
    }

    @Test func networkParameters() throws {
        let result = try plan(
            "iscsi=iscsi://10.0.0.1/iqn.2024-01.a:t ip=lan0:dhcp ifname=lan0:52:54:00:12:34:56 nameserver=10.0.0.53 rd.route=192.168.0.0/16:10.0.0.1:lan0 vlan=lan0.5:lan0 rd.neednet=1"
        )
        #expect(result.interfaces[0].mac?.value.description == "52:54:00:12:34:56")
        #expect(result.nameservers.map(\.value.description) == ["10.0.0.53"])
        #expect(result.routes[0].value.prefixLength == 16)
        #expect(result.vlans[0].value.id == 5)
        let bootif = try plan("iscsi=iscsi://10.0.0.1/iqn.2024-01.a:t BOOTIF=01-52-54-00-12-34-57")
        #expect(bootif.interfaces[0].mac?.value.description == "52:54:00:12:34:57")
        #expect(bootif.initiatorName.value == .named("iqn.2024-01.org.iscsi-root:mac-525400123457"))
    }

    /// Rendering a plan as a command line and resolving that again gives the same plan
    /// (up to where the values came from: the rendered line is the only source then).
    @Test(arguments: [
        "ip=dhcp iscsi=iscsi://10.0.2.2/iqn.2024-01.example:root1/1 root=LABEL=root",
        "root=LABEL=singleroot netroot=iscsi:192.168.50.1::::iqn.2009-06.dracut:target0 ip=192.168.50.101::192.168.50.1:255.255.255.0:iscsi-1:lan0:off rd.iscsi.initiator=iqn.1994-05.com.redhat:633114aacf2",
        "root=LABEL=sysroot ip=dhcp netroot=iscsi:192.168.51.1::::iqn.2009-06.dracut:target1 netroot=iscsi:192.168.50.1::::iqn.2009-06.dracut:target2",
        "root=/dev/root netroot=dhcp ip=lan0:dhcp",
        "ip=[2001:db8::5]::[2001:db8::1]:64:h:eth1:none iscsi=iscsi://[2001:db8::2]:3261/iqn.2024-01.a:t iscsi=iscsi://10.0.0.1/iqn.2024-01.a:t rd.route=10.1.0.0/16:10.0.0.1 nameserver=10.0.0.53 iscsi.noop=0,0 rw rd.iscsi.param=HeaderDigest=CRC32C",
        "ip=eth0:dhcp:1500:52:54:00:12:34:56 netroot=iscsi:10.0.0.1:::0001-0002-0000-0000:iqn.2024-01.a:t iscsi.on_failure=halt",
    ])
    func renderAndReparse(commandLine: String) throws {
        let first = try plan(commandLine)
        let second = try plan(first.commandLine)
        #expect(second.commandLine == first.commandLine)
        #expect(second.targets.map(\.name.value) == first.targets.map(\.name.value))
        #expect(
            second.targets.map { $0.portals.map(\.value) }
                == first.targets.map { $0.portals.map(\.value) })
        #expect(second.targets.map(\.lun.value) == first.targets.map(\.lun.value))
        #expect(second.interfaces.map(\.ipValue) == first.interfaces.map(\.ipValue))
        #expect(second.initiatorName.value == first.initiatorName.value)
        #expect(second.root.device.value == first.root.device.value)
        #expect(
            second.session.negotiationOverrides.mapValues(\.value)
                == first.session.negotiationOverrides.mapValues(\.value))
    }
}
