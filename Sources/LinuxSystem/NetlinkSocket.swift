import CShims

#if canImport(Glibc)
    import Glibc
#endif

/// A netlink socket (NETLINK_ISCSI, NETLINK_ROUTE, NETLINK_KOBJECT_UEVENT), owning its fd.
///
/// Datagrams are whole netlink messages; `receive` waits with `poll` until a deadline so a
/// silent kernel can never freeze the caller.
public struct NetlinkSocket: ~Copyable {
    private let descriptor: FileDescriptor

    /// The largest datagram we accept: a RECV_PDU event carries a whole login PDU (8 KiB of
    /// text at most before negotiation) plus headers; 64 KiB leaves room for rtnetlink dumps.
    public static let receiveBufferSize = 65_536

    /// Opens and binds a socket of `protocol` (e.g. 8 for NETLINK_ISCSI) subscribed to the
    /// multicast `groups` bit mask. The corresponding C functions are `socket` and `bind`.
    public init(protocol netlinkProtocol: Int32, groups: UInt32) throws(SystemError) {
        let descriptor = FileDescriptor(
            adopting: try retryingOnInterrupt("socket(AF_NETLINK, \(netlinkProtocol))") {
                socket(AF_NETLINK, Int32(SOCK_RAW.rawValue | SOCK_CLOEXEC.rawValue), netlinkProtocol)
            })
        var address = sockaddr_nl()
        address.nl_family = sa_family_t(AF_NETLINK)
        // 0: the kernel picks a unique port id, so one process may hold several sockets.
        address.nl_pid = 0
        address.nl_groups = groups
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor.rawValue, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
            }
        }
        guard bound == 0 else { throw SystemError("bind(AF_NETLINK, \(netlinkProtocol))") }
        self.descriptor = descriptor
    }

    /// The raw descriptor, for `poll` alongside other sockets.
    public var fileDescriptor: Int32 { descriptor.rawValue }

    /// Sends one message to the kernel (port 0). The corresponding C function is `sendto`.
    public func send(_ message: [UInt8]) throws(SystemError) {
        var kernel = sockaddr_nl()
        kernel.nl_family = sa_family_t(AF_NETLINK)
        _ = try retryingOnInterrupt("sendto(netlink)") {
            message.withUnsafeBytes { bytes in
                withUnsafePointer(to: &kernel) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(descriptor.rawValue, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
                    }
                }
            }
        }
    }

    /// Receives one datagram, or nil when `deadline` passes first. The corresponding C
    /// functions are `poll` and `recv`.
    public func receive(deadline: MonotonicInstant) throws(SystemError) -> [UInt8]? {
        try descriptor.receiveDatagram(maximumSize: Self.receiveBufferSize, deadline: deadline, name: "netlink")
    }
}
