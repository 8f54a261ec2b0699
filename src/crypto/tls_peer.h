// Verifying a TLS server's name, and saying in words why a handshake failed. Shared by every TLS
// client of the project (the open-channel client, the webhook sink), so that the same failure reads
// the same everywhere: "certificate does not match host X", not "unspecified certificate verification error".
#pragma once

#include <openssl/ssl.h>

#include <string>

#include "alipaymsg/status.h"

namespace alipaymsg::tls {

// A client context as every TLS client of the project wants it: TLS 1.2 or newer, the system's
// trust store plus `extra_ca_file` (PEM, optional), and the peer verified unless `verify` is false.
// The caller owns the result (e.g. hands it to boost::asio::ssl::context, which takes it over).
// kInvalidArgument naming the CA file and OpenSSL's reason when it cannot be loaded.
Result<SSL_CTX*> NewClientContext(const std::string& extra_ca_file, bool verify = true);

// Has OpenSSL check, during the handshake, that the peer's certificate names `host` (a DNS name or
// an IP literal). A mismatch then fails verification as X509_V_ERR_HOSTNAME_MISMATCH (or
// IP_ADDRESS_MISMATCH), which DescribeHandshakeFailure names. Also sets SNI for a DNS name.
// false when `host` cannot be used as a name to check.
bool ExpectPeerName(SSL* ssl, const std::string& host);

// Why the handshake with `host` failed: the certificate verification result when there is one
// ("certificate does not match host 127.0.0.2 (it names localhost, 127.0.0.1)", "certificate:
// self-signed certificate in certificate chain", ...), else `transport_error` (the socket's error).
std::string DescribeHandshakeFailure(SSL* ssl, const std::string& host, const std::string& transport_error);

}  // namespace alipaymsg::tls
