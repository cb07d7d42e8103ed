import LinuxSystem
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Real sockets on 127.0.0.1: each test makes its own listener on a port the kernel picks,
/// so the tests can run in parallel.
@Suite struct TCPConnectionTests {
    @Test func connectsAndExchangesBytes() throws {
        let listener = try LoopbackListener()
        let connection = try TCPConnection.connect(to: listener.address, deadline: .seconds(5))
        let server = try listener.accept()
        #expect(connection.peerAddress?.description == listener.address.description)
        #expect(connection.localAddress?.host == "127.0.0.1")

        try connection.send([1, 2, 3, 4, 5], deadline: .seconds(5))
        #expect(server.read(count: 5) == [1, 2, 3, 4, 5])
        server.write([9, 8, 7])
        #expect(try connection.receive(exactly: 3, deadline: .seconds(5)) == [9, 8, 7])
    }

    @Test func bindingToAnInterfaceIndexConnectsThroughItAndAnUnknownIndexIsRefused() throws {
        let listener = try LoopbackListener()
        // lo is interface 1 in every network namespace.
        let connection = try TCPConnection.connect(to: listener.address, deadline: .seconds(5), interfaceIndex: 1)
        _ = try listener.accept()
        #expect(connection.localAddress?.host == "127.0.0.1")
        #expect {
            _ = try TCPConnection.connect(to: listener.address, deadline: .seconds(5), interfaceIndex: 99_999)
        } throws: { error in
            // Linux takes the index as given and refuses the connect.
            "\(error)" == "connect: No such device"
        }
    }

    @Test func sendsMoreThanTheSocketBufferHolds() throws {
        let listener = try LoopbackListener()
        let connection = try TCPConnection.connect(to: listener.address, deadline: .seconds(5))
        let server = try listener.accept()
        // Several megabytes cannot fit in the kernel's buffers, so send must wait for the reader.
        let bytes = (0..<(8 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let reader = ReaderThread(server, count: bytes.count)
        try connection.send(bytes, deadline: .seconds(20))
        #expect(reader.join() == bytes)
    }

    @Test func connectToAPortWithoutListenerIsRefused() throws {
        // A bound socket that does not listen holds the port, so nothing else can take it,
        // and the kernel answers a connection attempt with a reset.
        let bound = try LoopbackListener(listening: false)
        #expect {
            _ = try TCPConnection.connect(to: bound.address, deadline: .seconds(5))
        } throws: { error in
            guard case .refused(let address) = error as? ConnectionError else { return false }
            return address.port == bound.address.port
        }
        let message = String(describing: ConnectionError.refused(bound.address))
        #expect(message == "connection refused (is the target running and listening there?)")
    }

    @Test func connectTimesOutWhenTheListenersQueueIsFull() throws {
        // With backlog 0 Linux queues one connection that is not accepted yet and drops the
        // handshake of every further one, so the next connect waits until its deadline.
        let listener = try LoopbackListener(backlog: 0)
        let queued = try TCPConnection.connect(to: listener.address, deadline: .seconds(5))
        #expect(queued.peerAddress != nil)
        #expect {
            _ = try TCPConnection.connect(to: listener.address, deadline: .milliseconds(300))
        } throws: { error in
            guard case .timedOut(let operation) = error as? ConnectionError else { return false }
            return operation == "connect"
        }
    }

    @Test func receiveTimesOutWhenNothingArrives() throws {
        let listener = try LoopbackListener()
        let connection = try TCPConnection.connect(to: listener.address, deadline: .seconds(5))
        let server = try listener.accept()
        server.write([1])
        #expect {
            _ = try connection.receive(exactly: 4, deadline: .milliseconds(100))
        } throws: { error in
            guard case .timedOut(let operation) = error as? ConnectionError else { return false }
            return operation == "receiving 3 of 4 bytes from \(listener.address)"
        }
    }

    @Test func peerClosingBeforeEverythingArrivedIsClosedByPeer() throws {
        let listener = try LoopbackListener()
        let connection = try TCPConnection.connect(to: listener.address, deadline: .seconds(5))
        var server: AcceptedSocket? = try listener.accept()
        server?.write([1, 2])
        server = nil
        #expect {
            _ = try connection.receive(exactly: 4, deadline: .seconds(5))
        } throws: { error in
            guard case .closedByPeer = error as? ConnectionError else { return false }
            return true
        }
    }

    @Test func peerResetIsReportedAsConnectionReset() throws {
        let listener = try LoopbackListener()
        let connection = try TCPConnection.connect(to: listener.address, deadline: .seconds(5))
        try listener.accept().closeWithReset()
        #expect {
            _ = try connection.receive(exactly: 4, deadline: .seconds(5))
        } throws: { error in
            guard case .system(let systemError) = error as? ConnectionError else { return false }
            return systemError.code == ECONNRESET
        }
    }

    @Test func closeWithResetResetsThePeer() throws {
        let listener = try LoopbackListener()
        let connection = try TCPConnection.connect(to: listener.address, deadline: .seconds(5))
        let server = try listener.accept()
        connection.closeWithReset()
        #expect(server.readError() == ECONNRESET)
    }

    @Test func sendingToAClosedPeerThrowsInsteadOfRaisingSIGPIPE() throws {
        let listener = try LoopbackListener()
        let connection = try TCPConnection.connect(to: listener.address, deadline: .seconds(5))
        try listener.accept().closeWithReset()
        // The first send may still be accepted into the buffer before the reset is seen; one
        // of a few must fail, and none may kill the process with SIGPIPE.
        var failure: ConnectionError?
        for _ in 0..<10 where failure == nil {
            do {
                try connection.send([0], deadline: .seconds(5))
                usleep(10_000)
            } catch {
                failure = error
            }
        }
        #expect(failure != nil)
    }

    @Test func fileDescriptorIsTheConnectedSocket() throws {
        let listener = try LoopbackListener()
        let connection = try TCPConnection.connect(to: listener.address, deadline: .seconds(5))
        let type = connection.withFileDescriptor { descriptor in
            var type: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(descriptor, SOL_SOCKET, SO_TYPE, &type, &length)
            return type
        }
        #expect(type == Int32(SOCK_STREAM.rawValue))
    }
}

extension MonotonicInstant {
    static func seconds(_ seconds: Int) -> MonotonicInstant { .now().advanced(byMilliseconds: seconds * 1000) }
    static func milliseconds(_ milliseconds: Int) -> MonotonicInstant { .now().advanced(byMilliseconds: milliseconds) }
}
