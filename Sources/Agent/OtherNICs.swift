import BootConfig
import LinuxSystem
import NetworkSetup

extension BootSequence {
    /// How long a NIC after the boot interface may take (its carrier, DHCP) before the boot
    /// goes on without it: the root's first path is up by then.
    static let otherNICTimeoutMilliseconds = 10_000

    /// Configures the NICs after the boot interface (`BootPlan.otherNICs`: another path's NIC),
    /// one line each. One that cannot be configured now is a warning, not a failed boot: the
    /// root's path is up, and a session over that NIC keeps retrying in the background. A
    /// static IPv4 address does not wait for the carrier, so that a path whose cable is out at
    /// boot joins the moment it is plugged in. In hook mode a NIC the framework configured is
    /// left as it is.
    static func configureOtherNICs(_ plan: BootPlan, boot: ConfiguredInterface, hookMode: Bool, log: inout BootLog) {
        for nic in plan.otherNICs {
            let start = MonotonicInstant.now()
            guard let selector = selector(of: nic, plan: plan) else { continue }
            // The boot interface itself, named another way (ip= by name, the iBFT by MAC).
            if case .name(boot.name) = selector { continue }
            if case .macAddress(let mac) = selector, mac == boot.macAddress { continue }
            if hookMode, let existing = NetworkSetup.existingConfiguration(selector) {
                log.line("network: \(existing.name) \(existing.address) (configured already) (\(start.milliseconds(until: .now())) ms)")
                continue
            }
            do throws(BootFailure) {
                var configuration = try Self.configuration(of: nic, selector: selector, plan: plan)
                configuration.otherFamily = plan.otherFamily(of: nic).flatMap(Self.otherFamilyMethod)
                if case .manual(let addressing) = configuration.method, case .v4 = addressing.address.address,
                    configuration.otherFamily == nil, configuration.vlanID == nil
                {
                    configuration.waitsForCarrier = false
                }
                let configured = try Self.configure(configuration, targetHost: nil, timeoutMilliseconds: otherNICTimeoutMilliseconds)
                log.line(
                    "network: \(configured.name) \(configured.address)" + (configured.gateway.map { " via \($0)" } ?? "")
                        + configured.otherFamilySummary + " (\(start.milliseconds(until: .now())) ms)")
            } catch {
                log.line(
                    "network: \(selector) not configured after \(start.milliseconds(until: .now())) ms: \(error.reason); "
                        + "the sessions through it keep trying (check: \(error.check))")
            }
        }
    }
}
