import NetworkAddresses
import CShims
import LinuxSystem

#if canImport(Glibc)
    import Glibc
#endif

/// A NETLINK_ROUTE connection that sends `RouteNetlinkRequest`s and waits for their answers.
///
/// One per process and network namespace at a time: `NetlinkSocket` binds the port id to
/// the process id.
public struct RouteNetlink: ~Copyable {
    private let socket: NetlinkSocket
    private var sequence: UInt32 = 0

    /// The kernel answers rtnetlink at once; this bound only keeps a broken kernel from
    /// freezing the boot.
    static let replyTimeoutMilliseconds = 5_000

    /// How often `waitForCarrier` asks: short against a boot of a few seconds, long against
    /// the cost of one RTM_GETLINK.
    static let carrierPollMilliseconds = 50

    public init() throws(NetworkError) {
        do {
            socket = try NetlinkSocket(protocol: NETLINK_ROUTE, groups: 0)
        } catch {
            throw .system(step: "open rtnetlink socket", error)
        }
    }

    /// Whether a change was made or found already in place.
    public enum Outcome: Equatable, Sendable {
        case applied
        /// The kernel said EEXIST: the address, route or link is there already — for
        /// instance because the hook ran twice — which is what was wanted.
        case alreadyPresent
    }

    /// Sends a change and waits for its acknowledgement. `step` names it in errors, e.g.
    /// "add address 10.0.2.15/24 to eth0".
    @discardableResult
    public mutating func perform(_ request: RouteNetlinkRequest, step: String) throws(NetworkError) -> Outcome {
        let sequence = try send(request, step: step)
        while true {
            for message in try receive(step: step) where message.sequence == sequence {
                switch message.acknowledgementError {
                case 0?: return .applied
                case EEXIST?: return .alreadyPresent
                case let code?: throw .refusedByKernel(step: step, code: code)
                case nil: continue
                }
            }
        }
    }

    /// Every interface (RTM_GETLINK dump).
    public mutating func links() throws(NetworkError) -> [NetworkLink] {
        let step = "list network interfaces"
        let sequence = try send(.listLinks, step: step)
        var links: [NetworkLink] = []
        while true {
            for message in try receive(step: step) where message.sequence == sequence {
                if message.type == UInt16(NLMSG_DONE) { return links }
                if let code = message.acknowledgementError, code != 0 { throw .refusedByKernel(step: step, code: code) }
                if message.type == UInt16(RTM_NEWLINK), let link = NetworkLink(payload: message.payload) {
                    links.append(link)
                }
            }
        }
    }

    /// Every address of `family` (AF_INET or AF_INET6) on every interface (RTM_GETADDR dump).
    public mutating func addresses(family: Int32) throws(NetworkError) -> [LinkAddress] {
        let step = "list network addresses"
        let sequence = try send(.listAddresses(family: UInt8(family)), step: step)
        var addresses: [LinkAddress] = []
        while true {
            for message in try receive(step: step) where message.sequence == sequence {
                if message.type == UInt16(NLMSG_DONE) { return addresses }
                if let code = message.acknowledgementError, code != 0 { throw .refusedByKernel(step: step, code: code) }
                if message.type == UInt16(RTM_NEWADDR), let address = LinkAddress(payload: message.payload) {
                    addresses.append(address)
                }
            }
        }
    }

    /// Polls every 50 ms until an IPv6 address on `link` that `matches` has finished
    /// duplicate address detection (RFC 4862 §5.4), and returns it: a connection from a
    /// tentative address is refused (EADDRNOTAVAIL) or, worse, leaves from an address another
    /// node owns. Throws when DAD finds a duplicate or `deadline` passes first. The kernel
    /// sends one probe a second by default, so this takes about a second after the link is up.
    public mutating func waitForUsableAddress(
        on link: NetworkLink, deadline: MonotonicInstant, what: String, matching matches: (LinkAddress) -> Bool
    ) throws(NetworkError) -> LinkAddress {
        let start = MonotonicInstant.now()
        while true {
            let found = try addresses(family: AF_INET6).filter { $0.interfaceIndex == link.index && matches($0) }
            if let failed = found.first(where: { $0.dadFailed }) {
                throw .duplicateAddress(address: failed.address.description, interface: link.name)
            }
            if let usable = found.first(where: { !$0.isTentative }) { return usable }
            let now = MonotonicInstant.now()
            guard now < deadline else {
                throw .addressNotUsable(
                    what: what, interface: link.name, found: found.map { $0.description },
                    waitedMilliseconds: start.milliseconds(until: now))
            }
            let pause = min(Self.carrierPollMilliseconds, now.milliseconds(until: deadline))
            usleep(UInt32(pause) * 1000)
        }
    }

    /// The interface called `name`.
    public mutating func link(named name: String) throws(NetworkError) -> NetworkLink {
        let all = try links()
        guard let link = all.first(where: { $0.name == name }) else {
            throw .noSuchInterface(name, available: all.map({ $0.description }))
        }
        return link
    }

    /// The interface with hardware address `macAddress`. A VLAN link shares its parent's
    /// address, so the lowest index — the physical device, created first — is the answer.
    public mutating func link(macAddress: MACAddress) throws(NetworkError) -> NetworkLink {
        let all = try links()
        guard let link = all.filter({ $0.macAddress == macAddress }).min(by: { $0.index < $1.index }) else {
            throw .noSuchInterface(macAddress.description, available: all.map({ $0.description }))
        }
        return link
    }

    /// Polls every 50 ms until one of `candidates` has carrier, and returns the one with the
    /// lowest index that has; throws when `deadline` passes first. A freshly raised link
    /// takes from a few ms (virtio) to seconds (autonegotiation on copper).
    public mutating func waitForCarrier(anyOf candidates: [NetworkLink], deadline: MonotonicInstant) throws(NetworkError)
        -> NetworkLink
    {
        let start = MonotonicInstant.now()
        let indices = Set(candidates.map({ $0.index }))
        while true {
            let ready = try links().filter { indices.contains($0.index) && $0.hasCarrier }
            if let link = ready.min(by: { $0.index < $1.index }) { return link }
            let now = MonotonicInstant.now()
            guard now < deadline else {
                throw .noCarrier(
                    interface: candidates.map({ $0.name }).joined(separator: ", "),
                    waitedMilliseconds: start.milliseconds(until: now))
            }
            let pause = min(Self.carrierPollMilliseconds, now.milliseconds(until: deadline))
            usleep(UInt32(pause) * 1000)
        }
    }

    private mutating func send(_ request: RouteNetlinkRequest, step: String) throws(NetworkError) -> UInt32 {
        sequence &+= 1
        do {
            try socket.send(request.encoded(sequence: sequence))
        } catch {
            throw .system(step: step, error)
        }
        return sequence
    }

    private func receive(step: String) throws(NetworkError) -> [NetlinkMessage] {
        let deadline = MonotonicInstant.now().advanced(byMilliseconds: Self.replyTimeoutMilliseconds)
        let datagram: [UInt8]?
        do {
            datagram = try socket.receive(deadline: deadline)
        } catch {
            throw .system(step: step, error)
        }
        guard let datagram else { throw .noReplyFromKernel(step: step) }
        guard let messages = NetlinkMessage.messages(in: datagram) else {
            throw .system(step: "\(step): malformed rtnetlink reply", SystemError("recv(netlink)", code: EBADMSG))
        }
        return messages
    }
}
