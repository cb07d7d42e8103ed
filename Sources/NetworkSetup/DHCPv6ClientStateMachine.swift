import NetworkAddresses
import LinuxSystem

/// The DHCPv6 client's decisions for one IA_NA (RFC 8415 §18.2: Solicit → Advertise → Request
/// → Reply, or Solicit → Reply with Rapid Commit), as a value like `DHCPClientStateMachine`:
/// events in, actions out, the clock passed in, randomness from a seed.
///
/// The first acceptable Advertise wins, as the DHCPv4 client takes the first offer: §18.2.1
/// lets a client wait out the first retransmission time to compare preferences (§18.2.9), but
/// in early boot the quick answer is worth more than the server's ranking, and a segment with
/// several DHCPv6 servers handing out root paths is a misconfiguration this cannot fix.
public struct DHCPv6ClientStateMachine: Sendable {
    public enum Action: Equatable, Sendable {
        /// Send this from the link-local address, port 546, to ff02::1:2 port 547.
        case send(DHCPv6Message)
        /// Call `timerFired` after this long unless a packet moves the machine on first.
        case wait(milliseconds: Int)
        case bound(DHCPv6Lease)
        case failed(DHCPv6Failure)
    }

    private enum State: Sendable {
        case initial
        case soliciting(Exchange)
        case requesting(Exchange, advertised: DHCPv6Lease)
        case bound(DHCPv6Lease)
        case failed(DHCPv6Failure)
    }

    /// One message and its retransmissions under one transaction id (§15).
    private struct Exchange: Sendable {
        var transactionID: UInt32
        var transmissions: Int
        /// The last retransmission timeout, the base of the next (§15).
        var timeoutMilliseconds: Int
        /// When the first message of the exchange went out, for Elapsed Time (§21.9).
        var start: MonotonicInstant
    }

    public let configuration: DHCPv6ClientConfiguration
    private var state = State.initial
    private var random: SplitMix64
    private var restarts = 0

    public init(configuration: DHCPv6ClientConfiguration, seed: UInt64) {
        self.configuration = configuration
        random = SplitMix64(seed: seed)
    }

    /// What the client is doing, for a timeout message.
    public var progress: String {
        switch state {
        case .initial: "not started"
        case .soliciting(let exchange): "\(exchange.transmissions) Solicit(s) sent, no Advertise yet"
        case .requesting(let exchange, let advertised):
            "advertised \(advertised.address), \(exchange.transmissions) Request(s) unanswered"
        case .bound(let lease): "bound to \(lease.address)"
        case .failed(let failure): failure.description
        }
    }

    /// The IAID: the last four bytes of the MAC, stable across boots for this NIC (§12: the
    /// IAID must not change while the client runs, and should not across restarts).
    public var identityAssociationID: UInt32 {
        configuration.hardwareAddress.bytes.suffix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    public mutating func start(now: MonotonicInstant) -> [Action] {
        guard case .initial = state else { return [] }
        return beginSolicit(now: now)
    }

    /// A DHCPv6 message from the network. Ones for other transactions or clients, and ones
    /// not expected in this state, change nothing and return [].
    public mutating func receive(_ message: DHCPv6Message, now: MonotonicInstant) -> [Action] {
        switch state {
        case .soliciting(let exchange):
            guard isForUs(message, exchange) else { return [] }
            switch message.type {
            case .advertise:
                // §18.2.9: an Advertise without addresses (or with NoAddrsAvail) is ignored.
                guard let advertised = DHCPv6Lease(message, identityAssociation: identityAssociationID) else { return [] }
                var requesting = newExchange(now: now)
                requesting.timeoutMilliseconds = firstTimeout(configuration.requestTimeoutMilliseconds)
                state = .requesting(requesting, advertised: advertised)
                return [.send(request(advertised, requesting, now: now)), .wait(milliseconds: requesting.timeoutMilliseconds)]
            case .reply:
                // §18.2.1: a Reply to a Solicit counts only with Rapid Commit, when we asked for it.
                guard configuration.rapidCommit, message.options.first(DHCPv6OptionCode.rapidCommit) != nil else { return [] }
                return bind(message, now: now)
            default:
                return []
            }
        case .requesting(let exchange, let advertised):
            guard isForUs(message, exchange), message.type == .reply,
                message.options.first(DHCPv6OptionCode.serverIdentifier) == advertised.serverIdentifier
            else { return [] }
            return bind(message, now: now)
        case .initial, .bound, .failed:
            return []
        }
    }

    public mutating func timerFired(now: MonotonicInstant) -> [Action] {
        switch state {
        case .soliciting(var exchange):
            guard exchange.transmissions < configuration.solicitAttempts else {
                return fail(.noAdvertise(solicits: exchange.transmissions))
            }
            exchange.transmissions += 1
            exchange.timeoutMilliseconds = nextTimeout(
                exchange.timeoutMilliseconds, maximum: configuration.maximumSolicitTimeoutMilliseconds)
            state = .soliciting(exchange)
            return [.send(solicit(exchange, now: now)), .wait(milliseconds: exchange.timeoutMilliseconds)]
        case .requesting(var exchange, let advertised):
            guard exchange.transmissions < configuration.requestAttempts else {
                return restart(because: .noReply(address: advertised.address, requests: exchange.transmissions), now: now)
            }
            exchange.transmissions += 1
            exchange.timeoutMilliseconds = nextTimeout(
                exchange.timeoutMilliseconds, maximum: configuration.maximumRequestTimeoutMilliseconds)
            state = .requesting(exchange, advertised: advertised)
            return [.send(request(advertised, exchange, now: now)), .wait(milliseconds: exchange.timeoutMilliseconds)]
        case .initial, .bound, .failed:
            return []
        }
    }

    // MARK: - Details

    /// A Reply to our Request (or a rapid-commit Solicit): bound when it leases an address;
    /// otherwise §18.2.10.1: a status on the message or our IA (NoAddrsAvail, NotOnLink, ...)
    /// sends the client back to Solicit, which may find another server.
    private mutating func bind(_ message: DHCPv6Message, now: MonotonicInstant) -> [Action] {
        if let lease = DHCPv6Lease(message, identityAssociation: identityAssociationID) {
            state = .bound(lease)
            return [.bound(lease)]
        }
        let status =
            message.options.statusCode
            ?? message.options.identityAssociations.first { $0.identifier == identityAssociationID }?.status
            ?? DHCPv6Status(code: DHCPv6Status.noAddressesAvailable, message: "no address for our IA_NA")
        return restart(because: .refused(status), now: now)
    }

    private mutating func beginSolicit(now: MonotonicInstant) -> [Action] {
        var exchange = newExchange(now: now)
        // §18.2.1: the first Solicit's RAND is strictly positive, so that it never comes early.
        exchange.timeoutMilliseconds =
            configuration.solicitTimeoutMilliseconds + randomMilliseconds(upTo: configuration.solicitTimeoutMilliseconds / 10)
        state = .soliciting(exchange)
        return [.send(solicit(exchange, now: now)), .wait(milliseconds: exchange.timeoutMilliseconds)]
    }

    private mutating func restart(because reason: DHCPv6Failure, now: MonotonicInstant) -> [Action] {
        guard restarts < configuration.restarts else { return fail(reason) }
        restarts += 1
        return beginSolicit(now: now)
    }

    private mutating func fail(_ failure: DHCPv6Failure) -> [Action] {
        state = .failed(failure)
        return [.failed(failure)]
    }

    private mutating func newExchange(now: MonotonicInstant) -> Exchange {
        Exchange(transactionID: UInt32(truncatingIfNeeded: random.next()) & 0xFF_FFFF, transmissions: 1, timeoutMilliseconds: 0, start: now)
    }

    /// §15: RT = IRT + RAND*IRT for the first, RAND uniform in [-0.1, +0.1].
    private mutating func firstTimeout(_ initial: Int) -> Int {
        max(1, initial - initial / 10 + randomMilliseconds(upTo: 2 * (initial / 10)))
    }

    /// §15: RT = 2*RTprev + RAND*RTprev, and past MRT, MRT + RAND*MRT.
    private mutating func nextTimeout(_ previous: Int, maximum: Int) -> Int {
        let base = min(2 * previous, maximum)
        return max(1, base - base / 10 + randomMilliseconds(upTo: 2 * (base / 10)))
    }

    private mutating func randomMilliseconds(upTo limit: Int) -> Int {
        limit > 0 ? Int(random.next() % UInt64(limit + 1)) : 0
    }

    /// §16: a client discards a message with the wrong transaction id, without a Server
    /// Identifier, or whose Client Identifier is missing or not ours.
    private func isForUs(_ message: DHCPv6Message, _ exchange: Exchange) -> Bool {
        message.transactionID == exchange.transactionID
            && message.options.first(DHCPv6OptionCode.serverIdentifier) != nil
            && message.options.first(DHCPv6OptionCode.clientIdentifier) == DHCPv6DUID.linkLayer(configuration.hardwareAddress)
    }

    private func solicit(_ exchange: Exchange, now: MonotonicInstant) -> DHCPv6Message {
        var options = commonOptions(exchange, now: now)
        options.append(
            DHCPv6OptionCode.identityAssociationNonTemporary, DHCPv6IdentityAssociation(identifier: identityAssociationID).data)
        // §18.2.1: with Rapid Commit a server may answer the Solicit with the Reply, half the
        // exchange (dnsmasq does); one that does not sends an Advertise as usual.
        if configuration.rapidCommit { options.append(DHCPv6OptionCode.rapidCommit, []) }
        return DHCPv6Message(type: .solicit, transactionID: exchange.transactionID, options: options)
    }

    /// §18.2.2: the chosen server's identifier and the IA_NA with the advertised address.
    private func request(_ advertised: DHCPv6Lease, _ exchange: Exchange, now: MonotonicInstant) -> DHCPv6Message {
        var options = commonOptions(exchange, now: now)
        options.append(DHCPv6OptionCode.serverIdentifier, advertised.serverIdentifier)
        let address = DHCPv6LeasedAddress(address: advertised.address)
        options.append(
            DHCPv6OptionCode.identityAssociationNonTemporary,
            DHCPv6IdentityAssociation(identifier: identityAssociationID, addresses: [address]).data)
        return DHCPv6Message(type: .request, transactionID: exchange.transactionID, options: options)
    }

    /// Client Identifier, Option Request (§21.7: DNS, boot-file URL and parameters) and Elapsed
    /// Time (§21.9: hundredths of a second since the exchange's first message, capped at 0xFFFF).
    private func commonOptions(_ exchange: Exchange, now: MonotonicInstant) -> DHCPv6Options {
        var options = DHCPv6Options()
        options.append(DHCPv6OptionCode.clientIdentifier, DHCPv6DUID.linkLayer(configuration.hardwareAddress))
        options.append(
            DHCPv6OptionCode.optionRequest,
            [DHCPv6OptionCode.dnsServers, DHCPv6OptionCode.bootFileURL, DHCPv6OptionCode.bootFileParameters].flatMap(bigEndian16))
        let hundredths = exchange.start.milliseconds(until: now) / 10
        options.append(DHCPv6OptionCode.elapsedTime, bigEndian16(UInt16(clamping: max(0, hundredths))))
        return options
    }
}

/// How the DHCPv6 client behaves; the defaults suit early boot.
public struct DHCPv6ClientConfiguration: Equatable, Sendable {
    public var hardwareAddress: MACAddress
    /// SOL_TIMEOUT is 1 s (§7.6).
    public var solicitTimeoutMilliseconds: Int
    /// SOL_MAX_RT is 3600 s (§7.6); a boot wants to move on much sooner, as the DHCPv4 client does.
    public var maximumSolicitTimeoutMilliseconds: Int
    /// SOL has no MRC in the RFC (it solicits forever); the boot's deadline bounds it, and so does this.
    public var solicitAttempts: Int
    /// REQ_TIMEOUT 1 s, REQ_MAX_RT 30 s, REQ_MAX_RC 10 (§7.6).
    public var requestTimeoutMilliseconds: Int
    public var maximumRequestTimeoutMilliseconds: Int
    public var requestAttempts: Int
    /// How often to start over with Solicit (after a refusal or an unanswered Request).
    public var restarts: Int
    /// Ask for the two-message exchange (Rapid Commit, option 14).
    public var rapidCommit: Bool

    public init(
        hardwareAddress: MACAddress, solicitTimeoutMilliseconds: Int = 1_000, maximumSolicitTimeoutMilliseconds: Int = 32_000,
        solicitAttempts: Int = 8, requestTimeoutMilliseconds: Int = 1_000, maximumRequestTimeoutMilliseconds: Int = 30_000,
        requestAttempts: Int = 10, restarts: Int = 3, rapidCommit: Bool = true
    ) {
        self.hardwareAddress = hardwareAddress
        self.solicitTimeoutMilliseconds = solicitTimeoutMilliseconds
        self.maximumSolicitTimeoutMilliseconds = maximumSolicitTimeoutMilliseconds
        self.solicitAttempts = solicitAttempts
        self.requestTimeoutMilliseconds = requestTimeoutMilliseconds
        self.maximumRequestTimeoutMilliseconds = maximumRequestTimeoutMilliseconds
        self.requestAttempts = requestAttempts
        self.restarts = restarts
        self.rapidCommit = rapidCommit
    }
}

/// Why DHCPv6 gave up.
public enum DHCPv6Failure: Error, Equatable, Sendable, CustomStringConvertible {
    case noAdvertise(solicits: Int)
    case noReply(address: IPv6Address, requests: Int)
    /// The server's Reply carried this status instead of an address.
    case refused(DHCPv6Status)
    case deadlinePassed(milliseconds: Int, progress: String)

    public var description: String {
        switch self {
        case .noAdvertise(let solicits):
            "no Advertise after \(solicits) Solicits; check that a DHCPv6 server (or relay) serves this segment with "
                + "an address range, and that it answers this client's DUID"
        case .noReply(let address, let requests):
            "the server that advertised \(address) did not answer \(requests) Requests"
        case .refused(let status):
            "the server refused an address (status \(status)); check its address range for this segment"
        case .deadlinePassed(let milliseconds, let progress):
            "no DHCPv6 lease within \(milliseconds) ms (\(progress))"
        }
    }
}
