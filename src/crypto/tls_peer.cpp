#include "crypto/tls_peer.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace alipaymsg::tls {
namespace {

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string IpText(const ASN1_OCTET_STRING* ip) {
  char text[INET6_ADDRSTRLEN] = {};
  const int length = ASN1_STRING_length(ip);
  const unsigned char* data = ASN1_STRING_get0_data(ip);
  if (length == 4) inet_ntop(AF_INET, data, text, sizeof text);
  else if (length == 16) inet_ntop(AF_INET6, data, text, sizeof text);
  return text;
}

// The DNS names and IP addresses `cert` is for ("" when there is none to show).
std::string NamesOf(X509* cert) {
  std::string names;
  auto add = [&names](const std::string& name) {
    if (!name.empty() && names.size() < 300) names += (names.empty() ? "" : ", ") + name;
  };
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; sans != nullptr && i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans, i);
    if (name->type == GEN_DNS) {
      add(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.dNSName)),
                      static_cast<size_t>(ASN1_STRING_length(name->d.dNSName))));
    } else if (name->type == GEN_IPADD) {
      add(IpText(name->d.iPAddress));
    }
  }
  GENERAL_NAMES_free(sans);
  if (names.empty()) {  // no subjectAltName: the common name is all there is
    char cn[256] = {};
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0) add(cn);
  }
  return names;
}

// The names of a certificate refused for its name, kept with its SSL (OpenSSL does not keep the
// peer certificate of a failed handshake).
int NamesIndex() {
  static const int index = SSL_get_ex_new_index(
      0, nullptr, nullptr, nullptr, [](void*, void* names, CRYPTO_EX_DATA*, int, long, void*) {
        delete static_cast<std::string*>(names);
      });
  return index;
}

int RememberRefusedNames(int preverify_ok, X509_STORE_CTX* ctx) {
  const int error = X509_STORE_CTX_get_error(ctx);
  if (preverify_ok == 0 && (error == X509_V_ERR_HOSTNAME_MISMATCH || error == X509_V_ERR_IP_ADDRESS_MISMATCH)) {
    auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
    X509* cert = X509_STORE_CTX_get_current_cert(ctx);
    if (ssl != nullptr && cert != nullptr) {
      delete static_cast<std::string*>(SSL_get_ex_data(ssl, NamesIndex()));
      SSL_set_ex_data(ssl, NamesIndex(), new std::string(NamesOf(cert)));
    }
  }
  return preverify_ok;
}

}  // namespace

bool ExpectPeerName(SSL* ssl, const std::string& host) {
  SSL_set_verify(ssl, SSL_get_verify_mode(ssl), RememberRefusedNames);
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (IsIpLiteral(host)) return X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return SSL_set_tlsext_host_name(ssl, host.c_str()) == 1 && SSL_set1_host(ssl, host.c_str()) == 1;
}

std::string DescribeHandshakeFailure(SSL* ssl, const std::string& host, const std::string& transport_error) {
  const long verify = ssl != nullptr ? SSL_get_verify_result(ssl) : X509_V_OK;
  if (verify == X509_V_OK) return transport_error;
  if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
    const auto* refused = static_cast<const std::string*>(SSL_get_ex_data(ssl, NamesIndex()));
    const std::string names = refused != nullptr ? *refused : "";
    return "certificate does not match host " + host + (names.empty() ? "" : " (it is for " + names + ")");
  }
  return std::string("certificate: ") + X509_verify_cert_error_string(verify);
}

Result<SSL_CTX*> NewClientContext(const std::string& extra_ca_file, bool verify) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return Internal("cannot create a TLS client context");
  SSL_CTX_set_options(ctx, SSL_OP_ALL);
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // No trust store on the machine is not an error by itself: extra_ca_file may be all there is.
  SSL_CTX_set_default_verify_paths(ctx);
  ERR_clear_error();
  if (!extra_ca_file.empty() && SSL_CTX_load_verify_locations(ctx, extra_ca_file.c_str(), nullptr) != 1) {
    const unsigned long code = ERR_peek_last_error();
    char reason[256] = "no certificate in it";
    if (code != 0) ERR_error_string_n(code, reason, sizeof reason);
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return InvalidArgument("CA file '" + extra_ca_file + "' cannot be loaded: " + reason);
  }
  SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  return ctx;
}

}  // namespace alipaymsg::tls
