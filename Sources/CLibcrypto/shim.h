#ifndef ISCSI_ROOT_CLIBCRYPTO_SHIM_H
#define ISCSI_ROOT_CLIBCRYPTO_SHIM_H
#include <openssl/evp.h>
#include <openssl/crypto.h>
#endif
