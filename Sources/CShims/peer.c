// struct ucred is only declared with _GNU_SOURCE, which Swift's Glibc module does not set.
#define _GNU_SOURCE
#include <sys/socket.h>
#include "CShims.h"

int iscsi_root_peer_user_id(int descriptor, uint32_t *user_id) {
    struct ucred credentials;
    socklen_t length = sizeof(credentials);
    if (getsockopt(descriptor, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    *user_id = credentials.uid;
    return 0;
}
