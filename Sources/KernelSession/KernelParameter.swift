import ISCSI

/// `enum iscsi_param` of `include/scsi/iscsi_if.h`: the values SET_PARAM takes. The numbers
/// are the kernel's ABI and must never be renumbered.
public enum KernelParameter: UInt32, CaseIterable, Sendable {
    case maxRecvDataSegmentLength = 0
    case maxXmitDataSegmentLength = 1
    case headerDigest = 2
    case dataDigest = 3
    case initialR2T = 4
    case maxR2T = 5
    case immediateData = 6
    case firstBurst = 7
    case maxBurst = 8
    case dataPDUInOrder = 9
    case dataSequenceInOrder = 10
    case errorRecoveryLevel = 11
    case ifMarker = 12
    case ofMarker = 13
    case expStatSN = 14
    case targetName = 15
    case targetPortalGroupTag = 16
    case persistentAddress = 17
    case persistentPort = 18
    case sessionRecoveryTimeout = 19
    case connectionPort = 20
    case connectionAddress = 21
    case userName = 22
    case userNameIn = 23
    case password = 24
    case passwordIn = 25
    case fastAbort = 26
    case abortTimeout = 27
    case logicalUnitResetTimeout = 28
    case hostResetTimeout = 29
    case pingTimeout = 30
    case receiveTimeout = 31
    case interfaceName = 32
    case isid = 33
    case initiatorName = 34
    case targetResetTimeout = 35
    case targetAlias = 36
    case bootRoot = 39
    case bootNIC = 40
    case bootTarget = 41
    case discoverySession = 43

    /// Parameters whose value is a secret: never logged.
    public var isSecret: Bool { self == .password || self == .passwordIn }
}

/// Timers the kernel runs for a root session (open-iscsi's node.session.timeo.* and
/// node.conn[0].timeo.* keys), in seconds.
public struct SessionTimers: Equatable, Sendable {
    /// How long I/O waits for a lost connection before failing (SESS_RECOVERY_TMO); a
    /// negative value waits forever. open-iscsi's README §8.2 recommends a large value for
    /// root disks.
    public var replacementTimeout: Int
    /// NOP-Out interval and timeout (RECV_TMO / PING_TMO): a target that stops answering
    /// is noticed after interval + timeout seconds; 0 turns pings off.
    public var noopInterval: Int
    public var noopTimeout: Int
    public var abortTimeout: Int
    public var logicalUnitResetTimeout: Int
    public var targetResetTimeout: Int

    public init(
        replacementTimeout: Int = 86_400, noopInterval: Int = 5, noopTimeout: Int = 5, abortTimeout: Int = 15,
        logicalUnitResetTimeout: Int = 30, targetResetTimeout: Int = 30
    ) {
        self.replacementTimeout = replacementTimeout
        self.noopInterval = noopInterval
        self.noopTimeout = noopTimeout
        self.abortTimeout = abortTimeout
        self.logicalUnitResetTimeout = logicalUnitResetTimeout
        self.targetResetTimeout = targetResetTimeout
    }
}

extension NegotiatedParameters {
    /// The negotiated values the kernel's data path needs after login, in the order
    /// open-iscsi sets them (`iscsi_session_set_neg_params`).
    func kernelParameters(expStatSN: SequenceNumber, targetPortalGroupTag: UInt16?) -> [(KernelParameter, String)] {
        var parameters: [(KernelParameter, String)] = [
            (.maxRecvDataSegmentLength, String(maxRecvDataSegmentLength)),
            (.maxXmitDataSegmentLength, String(maxXmitDataSegmentLength)),
            (.headerDigest, headerDigest == .crc32c ? "1" : "0"),
            (.dataDigest, dataDigest == .crc32c ? "1" : "0"),
            (.initialR2T, initialR2T ? "1" : "0"),
            (.immediateData, immediateData ? "1" : "0"),
            (.firstBurst, String(firstBurstLength)),
            (.maxBurst, String(maxBurstLength)),
            (.dataPDUInOrder, dataPDUInOrder ? "1" : "0"),
            (.dataSequenceInOrder, dataSequenceInOrder ? "1" : "0"),
            (.errorRecoveryLevel, String(errorRecoveryLevel)),
            (.ifMarker, "0"),
            (.ofMarker, "0"),
            (.expStatSN, String(expStatSN.rawValue)),
        ]
        if let targetPortalGroupTag { parameters.append((.targetPortalGroupTag, String(targetPortalGroupTag))) }
        return parameters
    }
}
