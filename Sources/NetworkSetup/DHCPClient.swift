import NetworkAddresses
import CShims
import LinuxSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Runs `DHCPClientStateMachine` on one interface: the thin I/O part.
public enum DHCPClient {
    static let clientPort: UInt16 = 68
    static let serverPort: UInt16 = 67

    /// Acquires a lease on `link` or throws why not, by `deadline` at the latest.
    public static func acquireLease(
        on link: NetworkLink, configuration: DHCPClientConfiguration, deadline: MonotonicInstant
    ) throws(NetworkError) -> DHCPLease {
        let socket: PacketSocket
        do {
            socket = try PacketSocket(interfaceIndex: link.index)
        } catch {
            throw .system(step: "open a packet socket on \(link.name) for DHCP", error)
        }
        let start = MonotonicInstant.now()
        var machine = DHCPClientStateMachine(configuration: configuration, seed: randomSeed(configuration.hardwareAddress))
        var timer = deadline
        var actions = machine.start(now: start)
        while true {
            for action in actions {
                switch action {
                case .send(let message):
                    let datagram = UDPDatagram(
                        source: .any, destination: .broadcast, sourcePort: clientPort, destinationPort: serverPort,
                        payload: message.encoded())
                    do {
                        try socket.sendBroadcast(datagram.encodedIPv4Packet())
                    } catch {
                        throw .system(step: "send DHCP \(message.options.messageType.map { "\($0)" } ?? "message") on \(link.name)", error)
                    }
                case .wait(let milliseconds):
                    timer = min(MonotonicInstant.now().advanced(byMilliseconds: milliseconds), deadline)
                case .bound(let lease):
                    return lease
                case .failed(let failure):
                    throw .dhcpFailed(interface: link.name, failure)
                }
            }
            let packet: [UInt8]?
            do {
                packet = try socket.receive(deadline: timer)
            } catch {
                throw .system(step: "receive DHCP replies on \(link.name)", error)
            }
            let now = MonotonicInstant.now()
            actions = packet.flatMap(reply(in:)).map { machine.receive($0, now: now) } ?? []
            // Checked after every packet too, so that a busy segment cannot starve the timer.
            if actions.isEmpty && now >= timer {
                guard now < deadline else {
                    let failure = DHCPFailure.deadlinePassed(milliseconds: start.milliseconds(until: now), progress: machine.progress)
                    throw .dhcpFailed(interface: link.name, failure)
                }
                actions = machine.timerFired(now: now)
            }
        }
    }

    /// The DHCP message in a received IP packet addressed to the client port; nil for other
    /// traffic the packet socket sees (our own broadcasts included) and for malformed ones.
    static func reply(in packet: [UInt8]) -> DHCPMessage? {
        guard let datagram = UDPDatagram(ipv4Packet: packet), datagram.destinationPort == clientPort else { return nil }
        return try? DHCPMessage(decoding: datagram.payload)
    }

    /// A seed that differs between machines and boots (`nonBlockingRandomSeed`), the MAC
    /// address its fallback. The DHCPv6 client seeds its state machine with it too.
    static func randomSeed(_ hardwareAddress: MACAddress) -> UInt64 {
        nonBlockingRandomSeed(fallback: hardwareAddress.bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }
}

/// An AF_PACKET socket of type SOCK_DGRAM for IPv4 on one interface (packet(7)): it sends
/// IP packets to which the kernel adds the Ethernet header, and receives every IPv4 packet
/// the interface sees, before the IP layer (which would drop them: we have no address yet).
struct PacketSocket: ~Copyable {
    private let descriptor: FileDescriptor
    private let interfaceIndex: Int32

    /// ETH_P_IP of `<linux/if_ether.h>`, in network byte order as `socket` and `sockaddr_ll` take it.
    private static let ipProtocol = UInt16(ETH_P_IP).bigEndian

    /// The corresponding C functions are `socket(AF_PACKET, SOCK_DGRAM)` and `bind`.
    init(interfaceIndex: Int32) throws(SystemError) {
        let descriptor = FileDescriptor(
            adopting: try retryingOnInterrupt("socket(AF_PACKET)") {
                socket(AF_PACKET, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), Int32(Self.ipProtocol))
            })
        var address = Self.linkLayerAddress(interfaceIndex: interfaceIndex)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor.rawValue, $0, socklen_t(MemoryLayout<sockaddr_ll>.size))
            }
        }
        guard bound == 0 else { throw SystemError("bind(AF_PACKET, interface \(interfaceIndex))") }
        self.descriptor = descriptor
        self.interfaceIndex = interfaceIndex
    }

    /// Sends an IP packet to the Ethernet broadcast address. The corresponding C function is `sendto`.
    func sendBroadcast(_ packet: [UInt8]) throws(SystemError) {
        var address = Self.linkLayerAddress(interfaceIndex: interfaceIndex)
        address.sll_halen = 6
        withUnsafeMutableBytes(of: &address.sll_addr) { $0.copyBytes(from: [UInt8](repeating: 0xFF, count: 6)) }
        _ = try retryingOnInterrupt("sendto(AF_PACKET)") {
            packet.withUnsafeBytes { bytes in
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(descriptor.rawValue, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_ll>.size))
                    }
                }
            }
        }
    }

    /// Receives one IP packet, or nil when `deadline` passes first. The corresponding C
    /// functions are `poll` and `recv`.
    func receive(deadline: MonotonicInstant) throws(SystemError) -> [UInt8]? {
        try descriptor.receiveDatagram(maximumSize: 65_536, deadline: deadline, name: "AF_PACKET")
    }

    private static func linkLayerAddress(interfaceIndex: Int32) -> sockaddr_ll {
        var address = sockaddr_ll()
        address.sll_family = UInt16(AF_PACKET)
        address.sll_protocol = ipProtocol
        address.sll_ifindex = interfaceIndex
        return address
    }
}
