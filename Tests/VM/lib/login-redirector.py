#!/usr/bin/env python3
"""A portal that only redirects: every login it receives is sent elsewhere.

For each connection on 127.0.0.1:LISTEN_PORT it reads one Login Request, answers with a
Login Response of status class 1 (RFC 7143 §11.13.5: 0x0101 "target moved temporarily",
or 0x0102 "permanently" with --permanent) carrying TargetAddress=TO,1, and closes the
connection, as a target must after a non-zero status class. It never proxies a byte: an
initiator that reaches the disk has followed the redirect.

One line per redirect on standard output ("login-redirector: redirect N: ..."), so the
harness can count them. The redirector exits after LIFETIME_SECONDS whatever happens (the
harness also kills it with its network namespace).

usage: login-redirector.py [--permanent] LISTEN_PORT TO LIFETIME_SECONDS
  e.g. login-redirector.py 3260 10.0.2.2:3261 600
"""
import argparse
import socket
import struct
import time

from iscsi_wire import BHS, read_pdu, split_pdu

OPCODE_LOGIN_REQUEST = 0x03
OPCODE_LOGIN_RESPONSE = 0x23
STATUS_CLASS_REDIRECTION = 0x01
DETAIL_MOVED_TEMPORARILY, DETAIL_MOVED_PERMANENTLY = 0x01, 0x02
# A login's text is small (MaxRecvDataSegmentLength is 8192 until negotiated): anything
# bigger is not a Login Request worth reading.
MAX_DATA = 65536
# One slow or silent initiator may hold the (single-threaded) redirector this long.
READ_TIMEOUT_SECONDS = 5


def log(message):
    print(f"login-redirector: {message}", flush=True)


def read_login_request(sock):
    """The BHS and the text of one Login Request (no digests exist before login ends)."""
    pdu = read_pdu(sock, max_data=MAX_DATA)
    if pdu is None:
        raise EOFError("connection closed before a whole Login Request")
    header, _, text = split_pdu(pdu)
    opcode = header[0] & 0x3F
    if opcode != OPCODE_LOGIN_REQUEST:
        raise ValueError(f"first PDU has opcode 0x{opcode:02x}, not a Login Request")
    return header, text


def redirect_response(request, to, detail):
    """The Login Response BHS (§11.13) and padded data segment for one redirect."""
    data = b"TargetAddress=" + to.encode() + b",1\0"
    cmd_sn, exp_stat_sn = struct.unpack(">II", request[24:32])
    response = bytearray(BHS)
    response[0] = OPCODE_LOGIN_RESPONSE
    # T and C clear; CSG echoes the request's stage, NSG is meaningless without T.
    response[1] = request[1] & 0x0C
    response[2] = response[3] = 0  # VersionMax, VersionActive: 0, the only version
    response[5:8] = len(data).to_bytes(3, "big")
    response[8:14] = request[8:14]  # ISID
    response[14:16] = request[14:16]  # TSIH: the initiator's, as no session is made
    response[16:20] = request[16:20]  # Initiator Task Tag
    # StatSN starts the connection's numbering: take what the initiator expects. A login
    # consumes no CmdSN, so ExpCmdSN is the request's CmdSN, and a window of one command
    # (MaxCmdSN = ExpCmdSN) is valid.
    struct.pack_into(">III", response, 24, exp_stat_sn, cmd_sn, cmd_sn)
    response[36] = STATUS_CLASS_REDIRECTION
    response[37] = detail
    return bytes(response) + data + b"\0" * (-len(data) % 4)


def text_value(text, key):
    for pair in text.split(b"\0"):
        name, _, value = pair.partition(b"=")
        if name == key.encode():
            return value.decode(errors="replace")
    return "-"


def serve(sock, peer, to, detail, count):
    """Redirects one connection; returns whether a redirect was sent."""
    sock.settimeout(READ_TIMEOUT_SECONDS)
    try:
        request, text = read_login_request(sock)
        sock.sendall(redirect_response(request, to, detail))
        # FIN after the response (RFC 7143 §11.13.5: the connection ends with the redirect).
        sock.shutdown(socket.SHUT_WR)
    except (OSError, EOFError, ValueError) as error:
        log(f"{peer[0]}:{peer[1]}: no redirect: {error}")
        return False
    finally:
        sock.close()
    itt, cmd_sn = struct.unpack(">I4xI", request[16:28])
    kind = "temporary" if detail == DETAIL_MOVED_TEMPORARILY else "permanent"
    log(
        f"redirect {count}: {peer[0]}:{peer[1]} ISID {request[8:14].hex()} TSIH {int.from_bytes(request[14:16], 'big')} "
        f"ITT 0x{itt:08x} CmdSN {cmd_sn} InitiatorName={text_value(text, 'InitiatorName')} "
        f"TargetName={text_value(text, 'TargetName')} -> {to},1 ({kind}, status 0x01{detail:02x})"
    )
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--permanent", action="store_true", help="status 0x0102 instead of 0x0101")
    parser.add_argument("listen_port", type=int)
    parser.add_argument("to", help="HOST:PORT for TargetAddress (the portal group tag 1 is appended)")
    parser.add_argument("lifetime", type=float, help="seconds until the redirector exits")
    arguments = parser.parse_args()
    detail = DETAIL_MOVED_PERMANENTLY if arguments.permanent else DETAIL_MOVED_TEMPORARILY
    deadline = time.monotonic() + arguments.lifetime
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", arguments.listen_port))
    listener.listen(8)
    # Wake up every second to notice the end of the lifetime.
    listener.settimeout(1)
    log(f"127.0.0.1:{arguments.listen_port} redirects every login to {arguments.to},1")
    redirects = 0
    while time.monotonic() < deadline:
        try:
            sock, peer = listener.accept()
        except socket.timeout:
            continue
        if serve(sock, peer, arguments.to, detail, redirects + 1):
            redirects += 1
    log(f"lifetime of {arguments.lifetime:.0f} s over after {redirects} redirect(s)")


if __name__ == "__main__":
    main()
