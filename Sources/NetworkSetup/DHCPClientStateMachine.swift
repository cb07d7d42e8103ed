import NetworkAddresses
import LinuxSystem

/// The DHCPv4 client's decisions (RFC 2131 §3.1 and §4.4, INIT → SELECTING → REQUESTING →
/// BOUND), as a value: events in ("a packet arrived", "the timer fired"), actions out ("send
/// this", "wait N ms", "bound", "failed"). The caller owns the socket and the clock and
/// passes the time in; randomness comes from a seed, so tests are exact.
public struct DHCPClientStateMachine: Sendable {
    public enum Action: Equatable, Sendable {
        /// Broadcast this message from 0.0.0.0:68 to 255.255.255.255:67.
        case send(DHCPMessage)
        /// Call `timerFired` after this long unless a packet moves the machine on first; a
        /// packet that is not for us does not restart the wait.
        case wait(milliseconds: Int)
        case bound(DHCPLease)
        case failed(DHCPFailure)
    }

    private enum State: Sendable {
        case initial
        case selecting(Exchange)
        case requesting(Exchange, offer: DHCPLease)
        case bound(DHCPLease)
        case failed(DHCPFailure)
    }

    /// One run of DISCOVER (and REQUEST) under one transaction id.
    private struct Exchange: Sendable {
        var transactionID: UInt32
        /// Transmissions of the current message so far, the first included.
        var transmissions: Int
    }

    public let configuration: DHCPClientConfiguration
    private var state = State.initial
    private var random: SplitMix64
    private var acquisitionStart = MonotonicInstant(nanoseconds: 0)
    private var restarts = 0

    public init(configuration: DHCPClientConfiguration, seed: UInt64) {
        self.configuration = configuration
        random = SplitMix64(seed: seed)
    }

    /// What the client is doing, for a timeout message: "3 DISCOVERs sent, no offer yet".
    public var progress: String {
        switch state {
        case .initial: "not started"
        case .selecting(let exchange): "\(exchange.transmissions) DISCOVER(s) sent, no offer yet"
        case .requesting(let exchange, let offer):
            "offered \(offer.address) by \(offer.serverIdentifier), \(exchange.transmissions) REQUEST(s) unanswered"
        case .bound(let lease): "bound to \(lease.address)"
        case .failed(let failure): failure.description
        }
    }

    /// Begins acquisition (RFC 2131 §4.4.1, INIT): the first DISCOVER.
    public mutating func start(now: MonotonicInstant) -> [Action] {
        guard case .initial = state else { return [] }
        acquisitionStart = now
        return beginDiscovery(now: now)
    }

    /// A DHCP message from the network. Messages for other clients or transactions, and
    /// replies that are not the one expected in this state, change nothing and return [].
    public mutating func receive(_ message: DHCPMessage, now: MonotonicInstant) -> [Action] {
        switch state {
        case .selecting(let exchange):
            // The first acceptable offer wins: in early boot a quick answer beats waiting to
            // compare offers (RFC 2131 §4.4.1 lets the client choose how long to collect).
            guard isReply(message, to: exchange), message.options.messageType == .offer,
                let offer = DHCPLease(message)
            else { return [] }
            let requesting = Exchange(transactionID: exchange.transactionID, transmissions: 1)
            state = .requesting(requesting, offer: offer)
            return [.send(request(for: offer, exchange: requesting, now: now)), .wait(milliseconds: retransmissionDelay(requesting))]
        case .requesting(let exchange, let offer):
            guard isReply(message, to: exchange),
                message.options.address(DHCPOptionCode.serverIdentifier).map({ $0 == offer.serverIdentifier }) ?? true
            else { return [] }
            switch message.options.messageType {
            case .acknowledgement?:
                guard let lease = DHCPLease(message) else { return [] }
                state = .bound(lease)
                return [.bound(lease)]
            case .negativeAcknowledgement?:
                // RFC 2131 §3.1 step 5: on DHCPNAK the client restarts the configuration.
                let text = message.options.text(DHCPOptionCode.message)
                return restart(because: .refused(server: offer.serverIdentifier, message: text), now: now)
            default:
                return []
            }
        case .initial, .bound, .failed:
            return []
        }
    }

    /// The wait of the last `.wait` action has passed without an answer.
    public mutating func timerFired(now: MonotonicInstant) -> [Action] {
        switch state {
        case .selecting(var exchange):
            guard exchange.transmissions < configuration.discoverAttempts else {
                return fail(.noOffer(discovers: exchange.transmissions))
            }
            exchange.transmissions += 1
            state = .selecting(exchange)
            return [.send(discover(exchange, now: now)), .wait(milliseconds: retransmissionDelay(exchange))]
        case .requesting(var exchange, let offer):
            guard exchange.transmissions < configuration.requestAttempts else {
                return restart(
                    because: .noAcknowledgement(server: offer.serverIdentifier, requests: exchange.transmissions),
                    now: now)
            }
            exchange.transmissions += 1
            state = .requesting(exchange, offer: offer)
            return [.send(request(for: offer, exchange: exchange, now: now)), .wait(milliseconds: retransmissionDelay(exchange))]
        case .initial, .bound, .failed:
            return []
        }
    }

    // MARK: - Details

    private mutating func beginDiscovery(now: MonotonicInstant) -> [Action] {
        let exchange = Exchange(transactionID: UInt32(truncatingIfNeeded: random.next()), transmissions: 1)
        state = .selecting(exchange)
        return [.send(discover(exchange, now: now)), .wait(milliseconds: retransmissionDelay(exchange))]
    }

    private mutating func restart(because reason: DHCPFailure, now: MonotonicInstant) -> [Action] {
        guard restarts < configuration.restarts else { return fail(reason) }
        restarts += 1
        return beginDiscovery(now: now)
    }

    private mutating func fail(_ failure: DHCPFailure) -> [Action] {
        state = .failed(failure)
        return [.failed(failure)]
    }

    /// RFC 2131 §4.1: retransmission after 4 s, then 8 s, doubling up to 64 s, each randomized
    /// by ±1 s so that machines booted together do not retransmit together. We start at
    /// `firstRetransmissionMilliseconds` (1 s by default): in early boot the first DISCOVER
    /// is often lost because the link has only just come up (a switch port still learning, a
    /// bridge in STP listening, a hypervisor's queue not yet polled), and every second the
    /// client sleeps on a lost packet is a second of boot. The jitter is ±1 s but at most
    /// half the delay, so the quick first retry stays quick.
    private mutating func retransmissionDelay(_ exchange: Exchange) -> Int {
        let doublings = min(exchange.transmissions - 1, 16)
        let delay = min(configuration.firstRetransmissionMilliseconds << doublings, configuration.maximumRetransmissionMilliseconds)
        let jitter = min(1_000, delay / 2)
        guard jitter > 0 else { return max(1, delay) }
        return max(1, delay - jitter + Int(random.next() % UInt64(2 * jitter + 1)))
    }

    private func isReply(_ message: DHCPMessage, to exchange: Exchange) -> Bool {
        message.operation == .reply && message.transactionID == exchange.transactionID
            && message.clientHardwareAddress == configuration.hardwareAddress.bytes
    }

    private func discover(_ exchange: Exchange, now: MonotonicInstant) -> DHCPMessage {
        var options = commonOptions(.discover)
        options[DHCPOptionCode.parameterRequestList] = Self.parameterRequestList
        return message(exchange, options: options, now: now)
    }

    /// RFC 2131 §4.3.2 / table 5: a REQUEST in SELECTING names the offered address (50) and the
    /// chosen server (54), with `ciaddr` zero.
    private func request(for offer: DHCPLease, exchange: Exchange, now: MonotonicInstant) -> DHCPMessage {
        var options = commonOptions(.request)
        options[DHCPOptionCode.requestedIPAddress] = offer.address.bytes
        options[DHCPOptionCode.serverIdentifier] = offer.serverIdentifier.bytes
        options[DHCPOptionCode.parameterRequestList] = Self.parameterRequestList
        return message(exchange, options: options, now: now)
    }

    private func commonOptions(_ type: DHCPMessageType) -> DHCPOptions {
        var options = DHCPOptions()
        options[DHCPOptionCode.messageType] = [type.rawValue]
        // RFC 2132 §9.14: type 1 (Ethernet) followed by the MAC.
        options[DHCPOptionCode.clientIdentifier] = [DHCPMessage.ethernetHardwareType] + configuration.hardwareAddress.bytes
        options[DHCPOptionCode.vendorClassIdentifier] = Array(configuration.vendorClass.utf8)
        if let hostName = configuration.hostName {
            options[DHCPOptionCode.hostName] = Array(hostName.utf8)
        }
        return options
    }

    private func message(_ exchange: Exchange, options: DHCPOptions, now: MonotonicInstant) -> DHCPMessage {
        DHCPMessage(
            operation: .request, transactionID: exchange.transactionID,
            secondsElapsed: UInt16(clamping: acquisitionStart.milliseconds(until: now) / 1000),
            clientHardwareAddress: configuration.hardwareAddress.bytes, options: options)
    }

    /// What we ask for (option 55): 121 before 3 as RFC 3442 advises, and 17 for the root path.
    static let parameterRequestList: [UInt8] = [
        DHCPOptionCode.subnetMask, DHCPOptionCode.classlessStaticRoute, DHCPOptionCode.router,
        DHCPOptionCode.domainNameServer, DHCPOptionCode.hostName, DHCPOptionCode.domainName,
        DHCPOptionCode.rootPath, DHCPOptionCode.interfaceMTU, DHCPOptionCode.ipAddressLeaseTime,
        DHCPOptionCode.serverIdentifier,
    ]
}

/// How the DHCP client behaves; the defaults suit early boot.
public struct DHCPClientConfiguration: Equatable, Sendable {
    public var hardwareAddress: MACAddress
    /// Sent as option 12 when set, so the server can register the name.
    public var hostName: String?
    /// Option 60, so a server can tell this client from the installed system's.
    public var vendorClass: String
    public var firstRetransmissionMilliseconds: Int
    /// RFC 2131 §4.1 caps at 64 s; a boot that has waited that long wants to move on sooner.
    public var maximumRetransmissionMilliseconds: Int
    /// DISCOVERs sent before giving up: 8 is about 1+2+4+8+16+32+32+32 s ≈ 2 minutes.
    public var discoverAttempts: Int
    /// REQUESTs sent before starting over with DISCOVER.
    public var requestAttempts: Int
    /// How often to start over (after a NAK or an unanswered REQUEST) before giving up.
    public var restarts: Int

    public init(
        hardwareAddress: MACAddress, hostName: String? = nil, vendorClass: String = "iscsi-root",
        firstRetransmissionMilliseconds: Int = 1_000, maximumRetransmissionMilliseconds: Int = 32_000,
        discoverAttempts: Int = 8, requestAttempts: Int = 4, restarts: Int = 3
    ) {
        self.hardwareAddress = hardwareAddress
        self.hostName = hostName
        self.vendorClass = vendorClass
        self.firstRetransmissionMilliseconds = firstRetransmissionMilliseconds
        self.maximumRetransmissionMilliseconds = maximumRetransmissionMilliseconds
        self.discoverAttempts = discoverAttempts
        self.requestAttempts = requestAttempts
        self.restarts = restarts
    }
}

/// Why DHCP gave up.
public enum DHCPFailure: Error, Equatable, Sendable, CustomStringConvertible {
    case noOffer(discovers: Int)
    case noAcknowledgement(server: IPv4Address, requests: Int)
    /// The server answered DHCPNAK, with its option 56 text if any.
    case refused(server: IPv4Address, message: String?)
    /// The caller's deadline passed first; `progress` says how far the client got.
    case deadlinePassed(milliseconds: Int, progress: String)

    public var description: String {
        switch self {
        case .noOffer(let discovers):
            "no offer after \(discovers) DISCOVERs; check that a DHCP server serves this segment (VLAN, cable, "
                + "relay) and that it answers this MAC address"
        case .noAcknowledgement(let server, let requests):
            "server \(server) did not acknowledge \(requests) REQUESTs"
        case .refused(let server, let message):
            "server \(server) refused the address (DHCPNAK\(message.map { ": \($0)" } ?? ""))"
        case .deadlinePassed(let milliseconds, let progress):
            "no lease within \(milliseconds) ms (\(progress))"
        }
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny generator that turns one seed into a
/// reproducible stream — enough for transaction ids and jitter, which need to differ between
/// machines, not to be secret.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
