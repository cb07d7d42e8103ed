import NetworkAddresses
import CShims
import LinuxSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Runs `DHCPv6ClientStateMachine` on one interface: the thin I/O part. Unlike DHCPv4 it needs
/// no packet socket: the interface's link-local address is the source (RFC 8415 §13.1), so an
/// ordinary UDP socket bound to it serves once duplicate address detection has passed.
public enum DHCPv6Client {
    static let clientPort: UInt16 = 546
    static let serverPort: UInt16 = 547
    /// All_DHCP_Relay_Agents_and_Servers (§7.1).
    static let serversAddress = IPv6Address("ff02::1:2")!

    /// Acquires a lease on `link` from `linkLocal` (usable, not tentative), by `deadline` at the latest.
    public static func acquireLease(
        on link: NetworkLink, from linkLocal: IPv6Address, configuration: DHCPv6ClientConfiguration, deadline: MonotonicInstant
    ) throws(NetworkError) -> DHCPv6Lease {
        let socket: UDPv6Socket
        do {
            socket = try UDPv6Socket(bindingTo: linkLocal, port: clientPort, interface: link)
        } catch {
            throw .system(step: "open a UDP socket on [\(linkLocal)%\(link.name)]:\(clientPort) for DHCPv6", error)
        }
        let start = MonotonicInstant.now()
        var machine = DHCPv6ClientStateMachine(configuration: configuration, seed: DHCPClient.randomSeed(configuration.hardwareAddress))
        var timer = deadline
        var actions = machine.start(now: start)
        var lastSender: IPv6Address?
        while true {
            for action in actions {
                switch action {
                case .send(let message):
                    do {
                        try socket.send(message.encoded(), to: serversAddress, port: serverPort)
                    } catch {
                        throw .system(step: "send DHCPv6 \(message.type) on \(link.name)", error)
                    }
                case .wait(let milliseconds):
                    timer = min(MonotonicInstant.now().advanced(byMilliseconds: milliseconds), deadline)
                case .bound(var lease):
                    lease.serverAddress = lastSender
                    return lease
                case .failed(let failure):
                    throw .dhcpv6Failed(interface: link.name, failure)
                }
            }
            let received: (bytes: [UInt8], sender: IPv6Address?)?
            do {
                received = try socket.receive(deadline: timer)
            } catch {
                throw .system(step: "receive DHCPv6 replies on \(link.name)", error)
            }
            let now = MonotonicInstant.now()
            actions = []
            if let received, let message = try? DHCPv6Message(decoding: received.bytes) {
                lastSender = received.sender
                actions = machine.receive(message, now: now)
            }
            // Checked after every packet too, so that a busy segment cannot starve the timer.
            if actions.isEmpty && now >= timer {
                guard now < deadline else {
                    let failure = DHCPv6Failure.deadlinePassed(milliseconds: start.milliseconds(until: now), progress: machine.progress)
                    throw .dhcpv6Failed(interface: link.name, failure)
                }
                actions = machine.timerFired(now: now)
            }
        }
    }
}

/// A UDP socket bound to one link-local address and port on one interface (SO_BINDTODEVICE,
/// so that replies on another NIC with the same link-local address never reach it).
struct UDPv6Socket: ~Copyable {
    private let descriptor: FileDescriptor
    private let interfaceIndex: Int32

    /// The corresponding C functions are `socket(AF_INET6, SOCK_DGRAM)`, `setsockopt` and `bind`.
    init(bindingTo address: IPv6Address, port: UInt16, interface link: NetworkLink) throws(SystemError) {
        let descriptor = FileDescriptor(
            adopting: try retryingOnInterrupt("socket(AF_INET6, SOCK_DGRAM)") {
                socket(AF_INET6, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
            })
        var name = Array(link.name.utf8) + [0]
        guard setsockopt(descriptor.rawValue, SOL_SOCKET, SO_BINDTODEVICE, &name, socklen_t(name.count)) == 0 else {
            throw SystemError("setsockopt(SO_BINDTODEVICE, \(link.name))")
        }
        var index = link.index
        guard setsockopt(descriptor.rawValue, Int32(IPPROTO_IPV6), IPV6_MULTICAST_IF, &index, socklen_t(MemoryLayout<Int32>.size)) == 0
        else { throw SystemError("setsockopt(IPV6_MULTICAST_IF, \(link.name))") }
        var socketAddress = Self.socketAddress(address, port: port, interfaceIndex: link.index)
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor.rawValue, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
            }
        }
        guard bound == 0 else { throw SystemError("bind([\(address)%\(link.name)]:\(port))") }
        self.descriptor = descriptor
        interfaceIndex = link.index
    }

    /// The corresponding C function is `sendto`.
    func send(_ bytes: [UInt8], to address: IPv6Address, port: UInt16) throws(SystemError) {
        var destination = Self.socketAddress(address, port: port, interfaceIndex: interfaceIndex)
        _ = try retryingOnInterrupt("sendto([\(address)]:\(port))") {
            bytes.withUnsafeBytes { buffer in
                withUnsafePointer(to: &destination) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(descriptor.rawValue, buffer.baseAddress, buffer.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                    }
                }
            }
        }
    }

    /// One datagram and its sender, or nil when `deadline` passes first. The corresponding C
    /// functions are `poll` and `recvfrom`.
    func receive(deadline: MonotonicInstant) throws(SystemError) -> (bytes: [UInt8], sender: IPv6Address?)? {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            guard try waitForReadable([descriptor.rawValue], deadline: deadline, call: "poll(DHCPv6)")[0] else { return nil }
            var sender = sockaddr_in6()
            var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            let count = buffer.withUnsafeMutableBytes { bytes in
                withUnsafeMutablePointer(to: &sender) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(descriptor.rawValue, bytes.baseAddress, bytes.count, 0, $0, &length)
                    }
                }
            }
            if count >= 0 {
                let senderBytes = withUnsafeBytes(of: &sender.sin6_addr) { Array($0) }
                return (Array(buffer[..<count]), IPv6Address(bytes: senderBytes))
            }
            if errno == EAGAIN || errno == EINTR { continue }
            throw SystemError("recvfrom(DHCPv6)")
        }
    }

    private static func socketAddress(_ address: IPv6Address, port: UInt16, interfaceIndex: Int32) -> sockaddr_in6 {
        var socketAddress = sockaddr_in6()
        socketAddress.sin6_family = sa_family_t(AF_INET6)
        socketAddress.sin6_port = port.bigEndian
        withUnsafeMutableBytes(of: &socketAddress.sin6_addr) { $0.copyBytes(from: address.bytes) }
        socketAddress.sin6_scope_id = UInt32(bitPattern: interfaceIndex)
        return socketAddress
    }
}
