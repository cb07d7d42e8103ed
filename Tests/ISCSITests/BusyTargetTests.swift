import Testing

@testable import ISCSI

/// A target under load: which login statuses ask to be tried again, and what an
/// Asynchronous Message asks of the connection (RFC 7143 §11.13.5, §11.9.1).
@Suite struct BusyTargetTests {
    @Test(arguments: [
        (UInt8(3), UInt8(1), true), (3, 2, true), (3, 0, false), (2, 1, false), (2, 3, false), (1, 1, false), (0, 0, false),
        (3, 3, false),
    ])
    func onlyServiceUnavailableAndOutOfResourcesAskToRetry(statusClass: UInt8, detail: UInt8, retry: Bool) {
        #expect(LoginStatus(statusClass: statusClass, detail: detail).asksToRetryLater == retry)
    }

    /// Through the state machine, from a Login Response that carries the status, to the
    /// error the boot and the supervisor look at.
    @Test(arguments: [(UInt8(3), UInt8(1), true), (3, 2, true), (3, 0, false), (2, 1, false), (2, 5, false)])
    func aBusyAnswerIsTellableFromTheLoginError(statusClass: UInt8, detail: UInt8, busy: Bool) throws {
        let status = LoginStatus(statusClass: statusClass, detail: detail)
        var machine = LoginStateMachine(configuration: LoginStateMachineTests.configuration())
        let first = machine.start()
        do {
            _ = try machine.receive(LoginStateMachineTests.response(to: first, keys: [], transit: false, status: status))
            Issue.record("a failed login was accepted")
        } catch {
            #expect(error.busyStatus == (busy ? status : nil), "\(error)")
        }
    }

    /// Asynchronous Message headers as a target sends them: opcode 0x32 at byte 0, AsyncEvent
    /// at byte 36, Parameter1–3 big-endian at 38, 40 and 42.
    @Test func asyncEventsThatEndTheConnectionSayWhatTheTargetAsks() throws {
        func message(event: UInt8, parameter2: UInt16, parameter3: UInt16) throws -> AsyncMessage {
            var bytes = [UInt8](repeating: 0, count: 48)
            bytes[0] = 0x32
            bytes[1] = 0x80
            bytes[16...19] = [0xFF, 0xFF, 0xFF, 0xFF]
            bytes[36] = event
            bytes[40] = UInt8(parameter2 >> 8)
            bytes[41] = UInt8(parameter2 & 0xFF)
            bytes[42] = UInt8(parameter3 >> 8)
            bytes[43] = UInt8(parameter3 & 0xFF)
            return try AsyncMessage(PDU(header: try #require(BasicHeaderSegment(bytes))))
        }
        #expect(try message(event: 1, parameter2: 0, parameter3: 10).targetRequest == .logout(withinSeconds: 10, time2WaitSeconds: 0))
        #expect(try message(event: 1, parameter2: 3, parameter3: 5).targetRequest == .logout(withinSeconds: 5, time2WaitSeconds: 3))
        #expect(try message(event: 2, parameter2: 3, parameter3: 20).targetRequest == .dropConnection(time2WaitSeconds: 3))
        #expect(try message(event: 3, parameter2: 0x0E10, parameter3: 0).targetRequest == .dropConnection(time2WaitSeconds: 3600))
        #expect(try message(event: 0, parameter2: 3, parameter3: 3).targetRequest == nil)
        #expect(try message(event: 4, parameter2: 3, parameter3: 3).targetRequest == nil)
        #expect(try message(event: 255, parameter2: 3, parameter3: 3).targetRequest == nil)
    }
}

/// Which login failures the boot stops waiting on: CHAP refused either way.
@Suite struct AuthenticationFailureTests {
    @Test func chapFailuresAreTheOnlyOnes() {
        #expect(LoginError.authenticationFailed(user: "u", target: "t").isAuthenticationFailure)
        #expect(LoginError.authenticationRequired(target: "t", closedOnNone: true, advice: nil).isAuthenticationFailure)
        #expect(LoginError.authentication(.reflectedChallenge).isAuthenticationFailure)
        #expect(!LoginError.authorizationFailed(initiator: "i", target: "t").isAuthenticationFailure)
        #expect(!LoginError.targetNotFound(target: "t", portal: "p").isAuthenticationFailure)
        #expect(!LoginError.targetBusy(LoginStatus(statusClass: 3, detail: 1), target: "t").isAuthenticationFailure)
    }

    /// A Login Response with status 0x0201 after our CHAP response becomes that error.
    @Test func aRefusedCHAPResponseIsOne() throws {
        var machine = LoginStateMachine(configuration: LoginStateMachineTests.configuration())
        let first = machine.start()
        do {
            _ = try machine.receive(
                LoginStateMachineTests.response(to: first, keys: [], transit: false, status: LoginStatus(statusClass: 2, detail: 1)))
            Issue.record("a refused login was accepted")
        } catch {
            #expect(error.isAuthenticationFailure, "\(error)")
        }
    }
}
