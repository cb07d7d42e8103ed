import LinuxSystem
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The control socket's calls on a real abstract socket, named after this process so that
/// parallel runs never meet.
@Suite struct UnixSocketTests {
    @Test func aRequestAndItsAnswerCrossTheSocket() throws {
        let name = "iscsi-root-test-\(getpid())-request"
        let listener = try UnixSocket.listen(abstractName: name)
        let client = try UnixSocket.connect(abstractName: name)
        let server = try UnixSocket.accept(listening: listener.fileDescriptor)
        #expect(server.peerUserID == getuid())

        try client.send(Array("status\n".utf8))
        client.finishSending()
        #expect(try server.receiveAll(limit: 256, deadline: .now().advanced(byMilliseconds: 5000)) == Array("status\n".utf8))

        try server.send(Array("logged in\n".utf8))
        server.finishSending()
        #expect(try client.receiveAll(limit: 256, deadline: .now().advanced(byMilliseconds: 5000)) == Array("logged in\n".utf8))
    }

    @Test func aSilentPeerEndsTheReceiveAtTheDeadline() throws {
        let name = "iscsi-root-test-\(getpid())-silent"
        let listener = try UnixSocket.listen(abstractName: name)
        let client = try UnixSocket.connect(abstractName: name)
        let server = try UnixSocket.accept(listening: listener.fileDescriptor)
        #expect(throws: SystemError("receive @control", code: ETIMEDOUT)) {
            try server.receiveAll(limit: 256, deadline: .now().advanced(byMilliseconds: 20))
        }
        _ = client.peerUserID
    }

    @Test func connectingToNobodyNamesTheSocket() {
        #expect(throws: SystemError("connect @iscsi-root-test-\(getpid())-nobody", code: ECONNREFUSED)) {
            try UnixSocket.connect(abstractName: "iscsi-root-test-\(getpid())-nobody")
        }
    }
}
