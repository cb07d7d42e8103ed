import Testing

@testable import ISCSI

@testable import KernelSession

/// The kernel's NETLINK_ISCSI ABI as byte vectors: `struct iscsi_uevent` (56 bytes, host order
/// = little-endian on x86-64) in each request the session sends and each event it reads, the
/// netlink framing around it, the `enum iscsi_param` numbers and the SET_PARAM lists.
@Suite struct ISCSIUEventTests {
    /// CREATE_SESSION = 11; c_session {initial_cmdsn u32, cmds_max u16, queue_depth u16}.
    @Test func createSessionRequest() {
        var event = ISCSIUEvent(kind: .createSession, transportHandle: 0x1122_3344_5566_7788)
        event[ISCSIUEvent.CreateSessionRequest.initialCmdSN] = 1
        event[ISCSIUEvent.CreateSessionRequest.commandsMaximum] = 128
        event[ISCSIUEvent.CreateSessionRequest.queueDepth] = 32
        let expected: [UInt8] =
            [11, 0, 0, 0, 0, 0, 0, 0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]
            + [1, 0, 0, 0, 128, 0, 32, 0] + [UInt8](repeating: 0, count: 16)  // request union
            + [UInt8](repeating: 0, count: 16)  // reply union
        #expect(event.bytes == expected)
        #expect(event.bytes.count == ISCSIUEvent.length)
    }

    /// BIND_CONN = 15; b_conn {sid, cid, transport_eph u64, is_leading u32}.
    @Test func bindConnectionRequest() {
        var event = ISCSIUEvent(kind: .bindConnection, transportHandle: 7)
        event[ISCSIUEvent.ConnectionRequest.sessionID] = 3
        event[ISCSIUEvent.ConnectionRequest.connectionID] = 0
        event[ISCSIUEvent.BindConnectionRequest.transportEndpoint] = 9
        event[ISCSIUEvent.BindConnectionRequest.isLeading] = 1
        let expected: [UInt8] =
            [15, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0]
            + [3, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
            + [UInt8](repeating: 0, count: 16)
        #expect(event.bytes == expected)
    }

    /// SET_PARAM = 16; set_param {sid, cid, param, len}: the value follows the structure.
    @Test func setParameterRequest() {
        var event = ISCSIUEvent(kind: .setParameter, transportHandle: 7)
        event[ISCSIUEvent.ConnectionRequest.sessionID] = 3
        event[ISCSIUEvent.ConnectionRequest.connectionID] = 1
        event[ISCSIUEvent.SetParameterRequest.parameter] = KernelParameter.initiatorName.rawValue
        event[ISCSIUEvent.SetParameterRequest.length] = 12
        #expect(Array(event.bytes[0..<4]) == [16, 0, 0, 0])
        #expect(Array(event.bytes[16..<40]) == [3, 0, 0, 0, 1, 0, 0, 0, 34, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    /// STOP_CONN = 18; stop_conn {sid, cid, conn_handle u64, flag u32}; RECOVER = 3.
    @Test func stopConnectionRequest() {
        var event = ISCSIUEvent(kind: .stopConnection, transportHandle: 7)
        event[ISCSIUEvent.ConnectionRequest.sessionID] = 3
        event[ISCSIUEvent.ConnectionRequest.connectionID] = 1
        event[ISCSIUEvent.StopConnectionRequest.flag] = KernelSession.StopFlag.recover.rawValue
        #expect(Array(event.bytes[0..<4]) == [18, 0, 0, 0])
        #expect(Array(event.bytes[16..<40]) == [3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0])
        #expect(KernelSession.StopFlag.terminate.rawValue == 1 && KernelSession.StopFlag.suspend.rawValue == 2)
    }

    /// SEND_PDU = 19; send_pdu {sid, cid, hdr_size u32, data_size u32}: header and data follow.
    @Test func sendPDURequest() {
        var event = ISCSIUEvent(kind: .sendPDU, transportHandle: 7, sessionID: 3, connectionID: 1)
        event[ISCSIUEvent.SendPDURequest.headerSize] = 48
        event[ISCSIUEvent.SendPDURequest.dataSize] = 0x0102
        #expect(Array(event.bytes[0..<16]) == [19, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0])
        #expect(Array(event.bytes[16..<40]) == [3, 0, 0, 0, 1, 0, 0, 0, 48, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(Array(event.bytes[40...]) == [UInt8](repeating: 0, count: 16))
    }

    /// CREATE_CONN 13, DESTROY_CONN 14 and START_CONN 17 carry {sid, cid} only; DESTROY_SESSION
    /// 12 carries d_session {sid}.
    @Test func connectionAndSessionRequests() {
        for kind in [ISCSIUEvent.Kind.createConnection, .destroyConnection, .startConnection] {
            let event = ISCSIUEvent(kind: kind, transportHandle: 7, sessionID: 0x0A0B, connectionID: 2)
            #expect(Array(event.bytes[0..<4]) == [UInt8(kind.rawValue), 0, 0, 0], "\(kind)")
            #expect(Array(event.bytes[16..<40]) == [0x0B, 0x0A, 0, 0, 2, 0, 0, 0] + [UInt8](repeating: 0, count: 16), "\(kind)")
        }
        var destroy = ISCSIUEvent(kind: .destroySession, transportHandle: 7)
        destroy[ISCSIUEvent.DestroySessionRequest.sessionID] = 5
        #expect(Array(destroy.bytes[0..<4]) == [12, 0, 0, 0])
        #expect(Array(destroy.bytes[16..<40]) == [5] + [UInt8](repeating: 0, count: 23))
    }

    /// A CREATE_CONN answer: c_conn_ret {sid, cid}; the cid is the kernel's.
    @Test func decodesCreateConnectionReply() throws {
        let bytes: [UInt8] =
            [13, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 24)
            + [5, 0, 0, 0, 9, 0, 0, 0] + [UInt8](repeating: 0, count: 8)
        let event = try #require(ISCSIUEvent(bytes[...]))
        #expect(event[ISCSIUEvent.Reply.sessionID] == 5)
        #expect(event[ISCSIUEvent.Reply.connectionID] == 9)
        #expect(event.returnCode == 5)
    }

    /// The `enum iscsi_uevent_e` numbers (UEVENT_BASE 10, KEVENT_BASE 100).
    @Test func eventNumbers() {
        let pinned: [(ISCSIUEvent.Kind, UInt32)] = [
            (.createSession, 11), (.destroySession, 12), (.createConnection, 13), (.destroyConnection, 14),
            (.bindConnection, 15), (.setParameter, 16), (.startConnection, 17), (.stopConnection, 18), (.sendPDU, 19),
            (.receivePDU, 101), (.connectionError, 102), (.interfaceError, 103), (.sessionDestroyed, 104),
            (.sessionUnbound, 105), (.sessionCreated, 106), (.connectionLoginState, 109),
        ]
        for (kind, number) in pinned { #expect(kind.rawValue == number, "\(kind)") }
    }

    /// A CREATE_SESSION answer: c_session_ret {sid, host_no} in the reply union; iferror
    /// and a negative retcode decode with their sign.
    @Test func decodesReply() throws {
        let bytes: [UInt8] =
            [11, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 7, 0, 0, 0, 0, 0, 0, 0]
            + [UInt8](repeating: 0, count: 24)
            + [5, 0, 0, 0, 2, 0, 0, 0] + [UInt8](repeating: 0, count: 8)
        let event = try #require(ISCSIUEvent(bytes[...]))
        #expect(event.kind == .createSession)
        #expect(event.interfaceError == -1)
        #expect(event.transportHandle == 7)
        #expect(event[ISCSIUEvent.Reply.sessionID] == 5)
        #expect(event[ISCSIUEvent.Reply.hostNumber] == 2)
        #expect(event.bytes == bytes)

        var failed = event
        failed.reply = [0xEA, 0xFF, 0xFF, 0xFF] + [UInt8](repeating: 0, count: 12)  // -22, EINVAL
        #expect(failed.returnCode == -22)
    }

    @Test func refusesShortInput() {
        #expect(ISCSIUEvent([UInt8](repeating: 0, count: 55)[...]) == nil)
        #expect(ISCSIUEvent([][...]) == nil)
        #expect(ISCSIUEvent([UInt8](repeating: 0, count: 60)[2...]) != nil)
    }
}

@Suite struct NetlinkFramingTests {
    /// nlmsghdr {len u32, type u16, flags u16, seq u32, pid u32}, padded to 4 bytes.
    @Test func encodesHeaderAndPadding() {
        let message = NetlinkMessage(type: 0x14, flags: 0x0001, sequence: 2, portID: 99, payload: [1, 2, 3, 4, 5])
        #expect(message.bytes == [21, 0, 0, 0, 0x14, 0, 1, 0, 2, 0, 0, 0, 99, 0, 0, 0, 1, 2, 3, 4, 5, 0, 0, 0])
    }

    @Test func splitsTwoMessagesAndStopsAtATruncatedOne() {
        let first = NetlinkMessage(type: 1, portID: 0, payload: [0xAA, 0xBB, 0xCC])
        let second = NetlinkMessage(type: 2, flags: 3, sequence: 4, portID: 5, payload: [0xDD])
        #expect(NetlinkMessage.split(first.bytes + second.bytes) == [first, second])
        // A length running past the datagram ends the list instead of reading beyond it.
        var truncated = second.bytes
        truncated[0] = 200
        #expect(NetlinkMessage.split(first.bytes + truncated) == [first])
        #expect(NetlinkMessage.split([1, 2, 3]) == [])
    }
}

@Suite struct KernelEventTests {
    private static func uevent(_ kind: ISCSIUEvent.Kind, reply: [UInt8]) -> ISCSIUEvent {
        var event = ISCSIUEvent(kind: kind, transportHandle: 0)
        event.reply = reply + [UInt8](repeating: 0, count: 16 - reply.count)
        return event
    }

    /// RECV_PDU: recv_req {sid, cid, recv_handle}, then the 48-byte header and the data.
    @Test func receivedPDU() throws {
        var header = [UInt8](repeating: 0, count: 48)
        header[0] = 0x23  // Login Response
        header[7] = 4  // DataSegmentLength 4
        let event = Self.uevent(.receivePDU, reply: [3, 0, 0, 0, 1, 0, 0, 0])
        let decoded = KernelChannel.event(event, payload: event.bytes + header + Array("a=b\0".utf8))
        guard case .receivedPDU(let session, let connection, let pdu) = decoded else {
            Issue.record("expected a received PDU, got \(decoded)")
            return
        }
        #expect(session == 3 && connection == 1)
        #expect(pdu.opcode == .loginResponse)
        #expect(pdu.data == Array("a=b\0".utf8))
    }

    /// A RECV_PDU too short for a header is not taken for a PDU.
    @Test func truncatedPDUIsOther() {
        let event = Self.uevent(.receivePDU, reply: [3, 0, 0, 0])
        #expect(KernelChannel.event(event, payload: event.bytes + [0x23, 0, 0]) == .other(type: 101))
    }

    /// CONN_ERROR: connerror {sid, cid, error}; 1020 is ISCSI_ERR_TCP_CONN_CLOSE.
    @Test func connectionError() {
        let event = Self.uevent(.connectionError, reply: [3, 0, 0, 0, 1, 0, 0, 0, 0xFC, 0x03, 0, 0])
        #expect(KernelChannel.event(event, payload: event.bytes) == .connectionError(session: 3, connection: 1, code: 1020))
        #expect(connectionErrorName(1020) == "TCP connection closed")
        #expect(connectionErrorName(1099) == "iscsi_err 1099")
    }

    /// DESTROY_SESSION (104): d_session {host_no, sid}: the session is the second field.
    @Test func sessionDestroyed() {
        let event = Self.uevent(.sessionDestroyed, reply: [6, 0, 0, 0, 3, 0, 0, 0])
        #expect(KernelChannel.event(event, payload: event.bytes) == .sessionDestroyed(session: 3))
    }
}

@Suite struct KernelParameterTests {
    /// Every case against `enum iscsi_param` of include/scsi/iscsi_if.h (the kernel's names
    /// beside ours): the kernel reads these numbers, so none may move.
    @Test func numbersAreTheKernels() {
        let pinned: [(KernelParameter, UInt32, String)] = [
            (.maxRecvDataSegmentLength, 0, "MAX_RECV_DLENGTH"), (.maxXmitDataSegmentLength, 1, "MAX_XMIT_DLENGTH"),
            (.headerDigest, 2, "HDRDGST_EN"), (.dataDigest, 3, "DATADGST_EN"), (.initialR2T, 4, "INITIAL_R2T_EN"),
            (.maxR2T, 5, "MAX_R2T"), (.immediateData, 6, "IMM_DATA_EN"), (.firstBurst, 7, "FIRST_BURST"),
            (.maxBurst, 8, "MAX_BURST"), (.dataPDUInOrder, 9, "PDU_INORDER_EN"), (.dataSequenceInOrder, 10, "DATASEQ_INORDER_EN"),
            (.errorRecoveryLevel, 11, "ERL"), (.ifMarker, 12, "IFMARKER_EN"), (.ofMarker, 13, "OFMARKER_EN"),
            (.expStatSN, 14, "EXP_STATSN"), (.targetName, 15, "TARGET_NAME"), (.targetPortalGroupTag, 16, "TPGT"),
            (.persistentAddress, 17, "PERSISTENT_ADDRESS"), (.persistentPort, 18, "PERSISTENT_PORT"),
            (.sessionRecoveryTimeout, 19, "SESS_RECOVERY_TMO"), (.connectionPort, 20, "CONN_PORT"),
            (.connectionAddress, 21, "CONN_ADDRESS"), (.userName, 22, "USERNAME"), (.userNameIn, 23, "USERNAME_IN"),
            (.password, 24, "PASSWORD"), (.passwordIn, 25, "PASSWORD_IN"), (.fastAbort, 26, "FAST_ABORT"),
            (.abortTimeout, 27, "ABORT_TMO"), (.logicalUnitResetTimeout, 28, "LU_RESET_TMO"),
            (.hostResetTimeout, 29, "HOST_RESET_TMO"), (.pingTimeout, 30, "PING_TMO"), (.receiveTimeout, 31, "RECV_TMO"),
            (.interfaceName, 32, "IFACE_NAME"), (.isid, 33, "ISID"), (.initiatorName, 34, "INITIATOR_NAME"),
            (.targetResetTimeout, 35, "TGT_RESET_TMO"), (.targetAlias, 36, "TARGET_ALIAS"), (.bootRoot, 39, "BOOT_ROOT"),
            (.bootNIC, 40, "BOOT_NIC"), (.bootTarget, 41, "BOOT_TARGET"), (.discoverySession, 43, "DISCOVERY_SESS"),
        ]
        for (parameter, number, kernelName) in pinned {
            #expect(parameter.rawValue == number, "ISCSI_PARAM_\(kernelName) is \(number)")
        }
        // A case added without a pin here fails, so the list above stays the whole enum.
        #expect(Set(pinned.map(\.0.rawValue)) == Set(KernelParameter.allCases.map(\.rawValue)))
        #expect(KernelParameter.allCases.filter(\.isSecret) == [.password, .passwordIn])
    }
}

@Suite struct SessionParameterTests {
    static func plan(target: String?, chap: Bool) -> KernelSessionPlan {
        var login = LoginConfiguration(
            initiatorName: "iqn.2024-01.example:client", targetName: target, isid: [0x80, 0x12, 0x34, 0x56, 0x78, 0x9A],
            portalDescription: "[fd00::2]:3261")
        if chap {
            login.authentication = .chap(
                CHAPConfiguration(credentials: CHAPCredentials(userName: "boot", secret: CHAPSecret("s3cret-s3cret"))))
        }
        let timers = SessionTimers(
            replacementTimeout: 86_400, noopInterval: 5, noopTimeout: 4, abortTimeout: 15, logicalUnitResetTimeout: 30,
            targetResetTimeout: 31)
        return KernelSessionPlan(portal: Portal(host: "fd00::2", port: 3261), login: login, timers: timers, timeoutMilliseconds: 15_000)
    }

    /// Before the login, in open-iscsi's order; the CHAP user and secret never reach the
    /// kernel (sysfs would show them to every root process).
    @Test func staticParametersInOrderWithoutSecrets() {
        let parameters = KernelSession.staticParameters(Self.plan(target: "iqn.2024-01.example:root", chap: true))
        let expected: [(KernelParameter, String)] = [
            (.targetName, "iqn.2024-01.example:root"), (.initiatorName, "iqn.2024-01.example:client"),
            (.persistentAddress, "fd00::2"), (.persistentPort, "3261"), (.sessionRecoveryTimeout, "86400"),
            (.abortTimeout, "15"), (.logicalUnitResetTimeout, "30"), (.targetResetTimeout, "31"), (.pingTimeout, "4"),
            (.receiveTimeout, "5"), (.isid, "80123456789a"),
        ]
        #expect(parameters.map(\.0) == expected.map(\.0))
        #expect(parameters.map(\.1) == expected.map(\.1))
        #expect(!parameters.contains { $0.0 == .userName || $0.0.isSecret || $0.1.contains("s3cret") })
    }

    @Test func noTargetNameWithoutTarget() {
        let parameters = KernelSession.staticParameters(Self.plan(target: nil, chap: false))
        #expect(parameters.first?.0 == .initiatorName)
        #expect(!parameters.contains { $0.0 == .targetName })
    }

    /// After the login, what the data path needs, in `iscsi_session_set_neg_params` order;
    /// booleans and digests as 0/1, markers off, TPGT only when the target declared one.
    @Test func negotiatedParameters() {
        let negotiated = NegotiatedParameters(
            headerDigest: .crc32c, dataDigest: .none, maxRecvDataSegmentLength: 262_144, maxXmitDataSegmentLength: 8192,
            maxBurstLength: 1_048_576, firstBurstLength: 65_536, initialR2T: false, immediateData: true, maxOutstandingR2T: 1,
            errorRecoveryLevel: 0, defaultTime2Wait: 2, defaultTime2Retain: 0, maxConnections: 1, dataPDUInOrder: true,
            dataSequenceInOrder: true, targetPortalGroupTag: 1, targetAlias: nil)
        let list = negotiated.kernelParameters(expStatSN: SequenceNumber(77), targetPortalGroupTag: 1)
        let expected: [(KernelParameter, String)] = [
            (.maxRecvDataSegmentLength, "262144"), (.maxXmitDataSegmentLength, "8192"), (.headerDigest, "1"), (.dataDigest, "0"),
            (.initialR2T, "0"), (.immediateData, "1"), (.firstBurst, "65536"), (.maxBurst, "1048576"), (.dataPDUInOrder, "1"),
            (.dataSequenceInOrder, "1"), (.errorRecoveryLevel, "0"), (.ifMarker, "0"), (.ofMarker, "0"), (.expStatSN, "77"),
            (.targetPortalGroupTag, "1"),
        ]
        #expect(list.map(\.0) == expected.map(\.0))
        #expect(list.map(\.1) == expected.map(\.1))
        let withoutTag = negotiated.kernelParameters(expStatSN: SequenceNumber(77), targetPortalGroupTag: nil)
        #expect(withoutTag.map(\.0) == expected.dropLast().map(\.0))
    }
}
