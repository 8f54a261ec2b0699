#include "sim/keygen.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <fstream>
#include <memory>

namespace alipaymsg::sim {

namespace {

struct PKeyFree { void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); } };
struct X509Free { void operator()(X509* x) const { X509_free(x); } };
using PKey = std::unique_ptr<EVP_PKEY, PKeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;

std::string OpenSslError(std::string_view what) {
  unsigned long e = ERR_get_error();
  char buf[256] = "unknown error";
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return std::string(what) + ": " + buf;
}

template <class Writer>
std::string ToPem(Writer write) {
  BIO* bio = BIO_new(BIO_s_mem());
  write(bio);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

std::string PrivatePem(EVP_PKEY* key) {  // PKCS#8 "PRIVATE KEY"
  return ToPem([&](BIO* b) { PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); });
}
std::string PublicPem(EVP_PKEY* key) {  // SubjectPublicKeyInfo "PUBLIC KEY"
  return ToPem([&](BIO* b) { PEM_write_bio_PUBKEY(b, key); });
}
std::string CertPem(X509* cert) {
  return ToPem([&](BIO* b) { PEM_write_bio_X509(b, cert); });
}
// The base64 body of a PEM block on one line: the bare form Alipay's key tool writes.
std::string BareBase64(const std::string& pem) {
  std::string out;
  size_t pos = 0;
  while (pos < pem.size()) {
    size_t end = pem.find('\n', pos);
    if (end == std::string::npos) end = pem.size();
    std::string line = pem.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("-----", 0) != 0) out += line;
    pos = end + 1;
  }
  return out;
}

struct Name {
  std::string c = "CN", o, ou, cn;
};

Result<Cert> MakeCert(EVP_PKEY* key, const Name& subject, X509* issuer, EVP_PKEY* issuer_key, const EVP_MD* md,
                      bool ca, const std::string& san) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  BIGNUM* serial = BN_new();
  BN_rand(serial, 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY);  // positive, 128-bit like Alipay's
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -24 * 3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  auto add = [&](const char* field, const std::string& value) {
    if (!value.empty()) {
      X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
    }
  };
  add("C", subject.c);
  add("O", subject.o);
  add("OU", subject.ou);
  add("CN", subject.cn);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  auto ext = [&](int nid, const std::string& value) -> bool {
    X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (e == nullptr) return false;
    X509_add_ext(cert.get(), e, -1);
    X509_EXTENSION_free(e);
    return true;
  };
  bool ok = ext(NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE") &&
            ext(NID_key_usage, ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,keyEncipherment") &&
            ext(NID_subject_key_identifier, "hash");
  if (ok && issuer != nullptr) ok = ext(NID_authority_key_identifier, "keyid:always");
  if (ok && !san.empty()) ok = ext(NID_subject_alt_name, san) && ext(NID_ext_key_usage, "serverAuth");
  if (!ok) return CryptoError(OpenSslError("certificate extension for " + subject.cn));
  if (X509_sign(cert.get(), issuer_key, md) == 0) return CryptoError(OpenSslError("signing certificate " + subject.cn));
  return cert;
}

class Writer {
 public:
  explicit Writer(std::string dir) : dir_(std::move(dir)) {}
  Status Write(const std::string& name, const std::string& text, bool secret = false) {
    std::string path = (std::filesystem::path(dir_) / name).string();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) return IoError("cannot write " + path);
    out << text;
    out.close();
    if (!out) return IoError("cannot write " + path);
    if (secret) {
      std::error_code ec;
      std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                                   std::filesystem::perm_options::replace, ec);
    }
    written_.push_back(path);
    return Status::Ok();
  }
  std::vector<std::string>& written() { return written_; }

 private:
  std::string dir_;
  std::vector<std::string> written_;
};

Status MakeDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return IoError("cannot create " + dir + ": " + ec.message());
  return Status::Ok();
}

}  // namespace

Result<std::vector<std::string>> GenerateKeys(const std::string& dir, const KeygenOptions& options) {
  if (options.app_id.empty() || options.app_id.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgument("app id '" + options.app_id + "' must be digits (like 2021000000000001)");
  }
  ALIPAYMSG_RETURN_IF_ERROR(MakeDir(dir));
  PKey app(EVP_RSA_gen(options.rsa_bits));
  PKey alipay(EVP_RSA_gen(options.rsa_bits));
  PKey root_r1(EVP_RSA_gen(2048));
  PKey root_g3(EVP_RSA_gen(2048));
  PKey root_e1(EVP_EC_gen("P-384"));
  PKey class2(EVP_RSA_gen(2048));
  if (!app || !alipay || !root_r1 || !root_g3 || !root_e1 || !class2) return CryptoError(OpenSslError("key generation"));

  const std::string org = "Alipay Msg Sim";
  auto e1 = MakeCert(root_e1.get(), {"CN", org, "Certification Authority", "Sim Certification Authority E1"}, nullptr,
                     root_e1.get(), EVP_sha384(), true, "");
  auto r1 = MakeCert(root_r1.get(), {"CN", org, "Certification Authority", "Sim Certification Authority R1"}, nullptr,
                     root_r1.get(), EVP_sha256(), true, "");
  auto g3 = MakeCert(root_g3.get(), {"CN", org, "Certification Authority", "Sim Class 2 Root CA - G3"}, nullptr,
                     root_g3.get(), EVP_sha1(), true, "");
  if (!e1.ok()) return e1.status();
  if (!r1.ok()) return r1.status();
  if (!g3.ok()) return g3.status();
  auto inter = MakeCert(class2.get(), {"CN", org, "Certification Authority", "Sim Certification Authority Class 2 R1"},
                        r1->get(), root_r1.get(), EVP_sha256(), true, "");
  if (!inter.ok()) return inter.status();
  auto app_cert = MakeCert(app.get(), {"CN", "Sim Merchant", "Alipay Msg Sim App", options.app_id}, inter->get(),
                           class2.get(), EVP_sha256(), false, "");
  auto alipay_cert = MakeCert(alipay.get(), {"CN", org, "Alipay Msg Sim", "Sim Alipay Open Platform (RSA2)"}, inter->get(),
                              class2.get(), EVP_sha256(), false, "");
  if (!app_cert.ok()) return app_cert.status();
  if (!alipay_cert.ok()) return alipay_cert.status();

  Writer w(dir);
  std::string app_priv = PrivatePem(app.get()), app_pub = PublicPem(app.get());
  std::string ali_priv = PrivatePem(alipay.get()), ali_pub = PublicPem(alipay.get());
  ALIPAYMSG_RETURN_IF_ERROR(w.Write("app_private_key.pem", app_priv, true));
  ALIPAYMSG_RETURN_IF_ERROR(w.Write("app_private_key.txt", BareBase64(app_priv) + "\n", true));
  ALIPAYMSG_RETURN_IF_ERROR(w.Write("app_public_key.pem", app_pub));
  ALIPAYMSG_RETURN_IF_ERROR(w.Write("app_public_key.txt", BareBase64(app_pub) + "\n"));
  ALIPAYMSG_RETURN_IF_ERROR(w.Write("alipay_private_key.pem", ali_priv, true));
  ALIPAYMSG_RETURN_IF_ERROR(w.Write("alipay_public_key.pem", ali_pub));
  ALIPAYMSG_RETURN_IF_ERROR(w.Write("alipay_public_key.txt", BareBase64(ali_pub) + "\n"));
  ALIPAYMSG_RETURN_IF_ERROR(w.Write("alipayRootCert.crt", CertPem(e1->get()) + CertPem(r1->get()) + CertPem(g3->get())));
  ALIPAYMSG_RETURN_IF_ERROR(w.Write("appCertPublicKey_" + options.app_id + ".crt", CertPem(app_cert->get())));
  ALIPAYMSG_RETURN_IF_ERROR(
      w.Write("alipayCertPublicKey_RSA2.crt", CertPem(alipay_cert->get()) + CertPem(inter->get())));
  const std::string& id = options.app_id;
  ALIPAYMSG_RETURN_IF_ERROR(w.Write(
      "README.txt",
      "Throwaway credentials made by `alipay-msg-sim keygen` (never use them for anything real).\n\n"
      "Key mode:\n"
      "  app:    app_private_key.pem (or .txt, bare base64)      alipay public key: alipay_public_key.pem\n"
      "  sim:    alipay-msg-sim --alipay-private-key alipay_private_key.pem --app " + id + "=app_public_key.pem\n\n"
      "Cert mode:\n"
      "  app:    app_private_key.pem, appCertPublicKey_" + id + ".crt, alipayCertPublicKey_RSA2.crt, alipayRootCert.crt\n"
      "  sim:    alipay-msg-sim --alipay-private-key alipay_private_key.pem --alipay-cert alipayCertPublicKey_RSA2.crt \\\n"
      "            --root-cert alipayRootCert.crt --app " + id + "=appCertPublicKey_" + id + ".crt\n"));
  return std::move(w.written());
}

Result<std::vector<std::string>> GenerateTlsKeys(const std::string& dir, const std::string& names) {
  ALIPAYMSG_RETURN_IF_ERROR(MakeDir(dir));
  PKey ca_key(EVP_EC_gen("P-256"));
  PKey server_key(EVP_EC_gen("P-256"));
  if (!ca_key || !server_key) return CryptoError(OpenSslError("key generation"));
  auto ca = MakeCert(ca_key.get(), {"CN", "Alipay Msg Sim", "Test", "alipay-msg-sim throwaway TLS CA"}, nullptr, ca_key.get(),
                     EVP_sha256(), true, "");
  if (!ca.ok()) return ca.status();
  auto server = MakeCert(server_key.get(), {"CN", "Alipay Msg Sim", "Test", "localhost"}, ca->get(), ca_key.get(), EVP_sha256(),
                         false, names);
  if (!server.ok()) return server.status();
  Writer w(dir);
  ALIPAYMSG_RETURN_IF_ERROR(w.Write("ca.crt", CertPem(ca->get())));
  ALIPAYMSG_RETURN_IF_ERROR(w.Write("server.crt", CertPem(server->get())));
  ALIPAYMSG_RETURN_IF_ERROR(w.Write("server.key", PrivatePem(server_key.get()), true));
  return std::move(w.written());
}

}  // namespace alipaymsg::sim
