#!/usr/bin/env python3
"""A target under load, in front of tgtd: busy logins, then a request to log out.

On 127.0.0.1:LISTEN_PORT (where the guest's 10.0.2.2:3260 arrives) it answers the first
login with status 0x0301 "service unavailable" and the second with 0x0302 "out of
resources" (RFC 7143 §11.13.5), closing each connection after its answer as a target must.
Every later connection is passed to tgtd on 127.0.0.1:UPSTREAM_PORT PDU by PDU (no digests:
the agent does not negotiate them here). After SIGUSR1 it sends the initiator of the
current connection an Asynchronous Message, AsyncEvent 1 "logout requested" (§11.9.1,
Parameter3 = LOGOUT_WITHIN seconds), between two of tgtd's PDUs; it answers the Logout
Request that follows itself, with Time2Wait = TIME2WAIT in the Logout Response (§11.15),
and closes both sides. The next connection is passed to tgtd again (the login reinstates
the session there).

One line per event on standard output, each with the seconds since the proxy started
("busy-target: 12.345 ..."), so the harness can check the order and the waits. The proxy
exits after LIFETIME_SECONDS whatever happens (the harness also kills it with its network
namespace).

usage: busy-target.py LISTEN_PORT UPSTREAM_PORT TIME2WAIT LOGOUT_WITHIN LIFETIME_SECONDS
  e.g. busy-target.py 3260 3261 3 10 600
"""
import argparse
import select
import signal
import socket
import struct
import time

from iscsi_wire import BHS, read_pdu

OPCODE_LOGIN_REQUEST = 0x03
OPCODE_LOGOUT_REQUEST = 0x06
OPCODE_LOGIN_RESPONSE = 0x23
OPCODE_LOGOUT_RESPONSE = 0x26
OPCODE_ASYNC_MESSAGE = 0x32
# Target PDUs whose bytes 24-36 hold StatSN, ExpCmdSN and MaxCmdSN (§11.3 onwards).
OPCODES_WITH_SEQUENCE = {0x20, 0x21, 0x22, 0x24, 0x25, 0x26, 0x31}
BUSY_STATUSES = [(0x03, 0x01, "service unavailable"), (0x03, 0x02, "out of resources")]
READ_TIMEOUT_SECONDS = 5
START = time.monotonic()


def log(message):
    print(f"busy-target: {time.monotonic() - START:.3f} {message}", flush=True)


def busy_response(request, status_class, detail):
    """A Login Response refusing the login with STATUS (no data segment)."""
    cmd_sn, exp_stat_sn = struct.unpack(">II", request[24:32])
    response = bytearray(BHS)
    response[0] = OPCODE_LOGIN_RESPONSE
    response[1] = request[1] & 0x0C  # CSG echoed, T clear
    response[8:14] = request[8:14]  # ISID
    response[14:16] = request[14:16]  # TSIH
    response[16:20] = request[16:20]  # Initiator Task Tag
    struct.pack_into(">III", response, 24, exp_stat_sn, cmd_sn, cmd_sn)
    response[36] = status_class
    response[37] = detail
    return bytes(response)


def answer_busy(sock, number):
    status_class, detail, name = BUSY_STATUSES[number]
    sock.settimeout(READ_TIMEOUT_SECONDS)
    try:
        request = read_pdu(sock)
        if request is None or request[0] & 0x3F != OPCODE_LOGIN_REQUEST:
            log(f"connection {number + 1}: no Login Request")
            return False
        sock.sendall(busy_response(request, status_class, detail))
        sock.shutdown(socket.SHUT_WR)
    except OSError as error:
        log(f"connection {number + 1}: {error}")
        return False
    finally:
        sock.close()
    log(f"connection {number + 1}: login answered 0x{status_class:02x}{detail:02x} ({name})")
    return True


class Relay:
    """One initiator connection passed to tgtd, with a logout request on demand."""

    def __init__(self, initiator, upstream_port, number):
        self.initiator = initiator
        self.target = socket.create_connection(("127.0.0.1", upstream_port), timeout=READ_TIMEOUT_SECONDS)
        self.number = number
        self.sequence = (0, 0, 0)  # the last StatSN, ExpCmdSN, MaxCmdSN tgtd sent
        self.full_feature = False
        self.logout_requested = False

    def async_logout(self, logout_within):
        stat_sn, exp_cmd_sn, max_cmd_sn = self.sequence
        message = bytearray(BHS)
        message[0] = OPCODE_ASYNC_MESSAGE
        message[1] = 0x80
        message[16:20] = b"\xff\xff\xff\xff"
        struct.pack_into(">III", message, 24, stat_sn + 1, exp_cmd_sn, max_cmd_sn)
        message[36] = 1  # AsyncEvent 1: logout requested
        struct.pack_into(">HHH", message, 38, 0, 0, logout_within)
        return bytes(message)

    def logout_response(self, request, time2wait):
        _, exp_cmd_sn, max_cmd_sn = self.sequence
        cmd_sn, exp_stat_sn = struct.unpack(">II", request[24:32])
        response = bytearray(BHS)
        response[0] = OPCODE_LOGOUT_RESPONSE
        response[1] = 0x80
        response[16:20] = request[16:20]
        # An immediate Logout consumes no CmdSN: the window stays where tgtd left it.
        struct.pack_into(">III", response, 24, exp_stat_sn, max(exp_cmd_sn, cmd_sn), max(max_cmd_sn, cmd_sn))
        struct.pack_into(">HH", response, 40, time2wait, 0)
        return bytes(response)

    def run(self, arguments, wanted, deadline):
        """Relays until either side closes; returns whether the logout was answered."""
        for sock in (self.initiator, self.target):
            sock.settimeout(READ_TIMEOUT_SECONDS)
        try:
            while time.monotonic() < deadline:
                if wanted() and self.full_feature and not self.logout_requested:
                    self.initiator.sendall(self.async_logout(arguments.logout_within))
                    self.logout_requested = True
                    log(f"connection {self.number}: sent AsyncEvent 1 (log out within {arguments.logout_within} s)")
                ready, _, _ = select.select([self.initiator, self.target], [], [], 0.2)
                if self.target in ready:
                    pdu = read_pdu(self.target)
                    if pdu is None:
                        log(f"connection {self.number}: tgtd closed it")
                        return False
                    opcode = pdu[0] & 0x3F
                    if opcode in OPCODES_WITH_SEQUENCE:
                        self.sequence = struct.unpack(">III", pdu[24:36])
                    if opcode == OPCODE_LOGIN_RESPONSE and pdu[1] & 0x83 == 0x83:
                        self.full_feature = True
                    self.initiator.sendall(pdu)
                if self.initiator in ready:
                    pdu = read_pdu(self.initiator)
                    if pdu is None:
                        log(f"connection {self.number}: the initiator closed it")
                        return False
                    if pdu[0] & 0x3F == OPCODE_LOGOUT_REQUEST and self.logout_requested:
                        reason = pdu[1] & 0x7F
                        self.initiator.sendall(self.logout_response(pdu, arguments.time2wait))
                        log(f"connection {self.number}: Logout Request (reason {reason}) answered, Time2Wait {arguments.time2wait}")
                        return True
                    self.target.sendall(pdu)
        except OSError as error:
            log(f"connection {self.number}: {error}")
            return False
        finally:
            for sock in (self.initiator, self.target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("listen_port", type=int)
    parser.add_argument("upstream_port", type=int)
    parser.add_argument("time2wait", type=int)
    parser.add_argument("logout_within", type=int)
    parser.add_argument("lifetime", type=float)
    arguments = parser.parse_args()
    deadline = time.monotonic() + arguments.lifetime
    requested = []
    signal.signal(signal.SIGUSR1, lambda *_: requested.append(time.monotonic()))
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", arguments.listen_port))
    listener.listen(8)
    listener.settimeout(1)
    log(f"127.0.0.1:{arguments.listen_port}: 2 busy answers, then tgtd on {arguments.upstream_port}")
    connections = 0
    logout_done = False
    while time.monotonic() < deadline:
        try:
            sock, _ = listener.accept()
        except (socket.timeout, InterruptedError):
            continue
        connections += 1
        log(f"connection {connections}: accepted")
        if connections <= len(BUSY_STATUSES):
            answer_busy(sock, connections - 1)
            continue
        try:
            relay = Relay(sock, arguments.upstream_port, connections)
        except OSError as error:
            log(f"connection {connections}: tgtd unreachable: {error}")
            sock.close()
            continue
        # One relay at a time: the agent has one connection, and a new one starts only
        # after the old one ended.
        if relay.run(arguments, lambda: bool(requested) and not logout_done, deadline):
            logout_done = True
    log(f"lifetime of {arguments.lifetime:.0f} s over after {connections} connection(s)")


if __name__ == "__main__":
    main()
