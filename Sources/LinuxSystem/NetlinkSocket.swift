import CShims

#if canImport(Glibc)
    import Glibc
#endif

/// A netlink socket (NETLINK_ISCSI, NETLINK_ROUTE, NETLINK_KOBJECT_UEVENT), owning its fd.
///
/// Datagrams are whole netlink messages; `receive` waits with `poll` until a deadline so a
/// silent kernel can never freeze the caller.
public struct NetlinkSocket: ~Copyable {
    private let descriptor: Int32

    /// The largest datagram we accept: a RECV_PDU event carries a whole login PDU (8 KiB of
    /// text at most before negotiation) plus headers; 64 KiB leaves room for rtnetlink dumps.
    public static let receiveBufferSize = 65_536

    /// Opens and binds a socket of `protocol` (e.g. 8 for NETLINK_ISCSI) subscribed to the
    /// multicast `groups` bit mask. The corresponding C functions are `socket` and `bind`.
    public init(protocol netlinkProtocol: Int32, groups: UInt32) throws(SystemError) {
        let descriptor = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue | SOCK_CLOEXEC.rawValue), netlinkProtocol)
        guard descriptor >= 0 else { throw SystemError("socket(AF_NETLINK, \(netlinkProtocol))") }
        var address = sockaddr_nl()
        address.nl_family = sa_family_t(AF_NETLINK)
        // 0: the kernel picks a unique port id, so one process may hold several sockets.
        address.nl_pid = 0
        address.nl_groups = groups
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
            }
        }
        guard bound == 0 else {
            let error = SystemError("bind(AF_NETLINK, \(netlinkProtocol))")
            close(descriptor)
            throw error
        }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// The raw descriptor, for `poll` alongside other sockets.
    public var fileDescriptor: Int32 { descriptor }

    /// Sends one message to the kernel (port 0). The corresponding C function is `sendto`.
    public func send(_ message: [UInt8]) throws(SystemError) {
        var kernel = sockaddr_nl()
        kernel.nl_family = sa_family_t(AF_NETLINK)
        while true {
            let sent = message.withUnsafeBytes { bytes in
                withUnsafePointer(to: &kernel) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(descriptor, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
                    }
                }
            }
            if sent >= 0 { return }
            if errno != EINTR { throw SystemError("sendto(netlink)") }
        }
    }

    /// Receives one datagram, or nil when `deadline` passes first. The corresponding C
    /// functions are `poll` and `recv`.
    public func receive(deadline: MonotonicInstant) throws(SystemError) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: Self.receiveBufferSize)
        while true {
            var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let remaining = max(0, MonotonicInstant.now().milliseconds(until: deadline))
            let ready = poll(&request, 1, Int32(clamping: remaining))
            if ready < 0 {
                if errno == EINTR { continue }
                throw SystemError("poll(netlink)")
            }
            if ready == 0 { return nil }
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw SystemError("recv(netlink)")
            }
            return Array(buffer[..<count])
        }
    }
}
