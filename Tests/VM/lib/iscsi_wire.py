"""The iSCSI wire format the VM test helpers share (busy-target.py, login-redirector.py,
portal-proxy.py, scripts/bench-multipath-relay.py): reading one PDU without digests
(RFC 7143 §11.2); and the accept loop of the proxies."""

import socket
import threading
import time

BHS = 48


def read_exactly(sock, count):
    """COUNT bytes, or None when the peer closes first."""
    data = bytearray()
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def read_pdu(sock, max_data=None):
    """One PDU as bytes (BHS, AHS, data segment with its padding), or None at EOF. Raises
    ValueError when the data segment is longer than MAX_DATA."""
    header = read_exactly(sock, BHS)
    if header is None:
        return None
    ahs_length = header[4] * 4
    data_length = int.from_bytes(header[5:8], "big")
    if max_data is not None and data_length > max_data:
        raise ValueError(f"DataSegmentLength {data_length} is more than {max_data}")
    rest = read_exactly(sock, ahs_length + data_length + (-data_length % 4))
    return None if rest is None else header + rest


def split_pdu(pdu):
    """(BHS, AHS, data segment without padding) of a PDU read_pdu returned."""
    ahs_end = BHS + pdu[4] * 4
    return pdu[:BHS], pdu[BHS:ahs_end], pdu[ahs_end : ahs_end + int.from_bytes(pdu[5:8], "big")]


def serve_connections(listen_port, lifetime, handle, log, backlog=8):
    """Accepts connections on 127.0.0.1:LISTEN_PORT for LIFETIME seconds, each handled by
    HANDLE(connection) in a thread of its own; LOG says when the lifetime is over."""
    deadline = time.monotonic() + lifetime
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", listen_port))
    listener.listen(backlog)
    listener.settimeout(1)
    while time.monotonic() < deadline:
        try:
            connection, _ = listener.accept()
        except socket.timeout:
            continue
        connection.settimeout(None)
        threading.Thread(target=handle, args=(connection,), daemon=True).start()
    log(f"lifetime of {lifetime:.0f} s over")
