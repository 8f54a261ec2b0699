// Certificates: SNs, root SNs and public keys exactly as the Java SDK computes them.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>
#include <fstream>
#include <map>
#include <sstream>

#include "alipaymsg/cert.h"
#include "crypto/vectors.h"

namespace alipaymsg {
namespace {

using testing::NodeInput;
using testing::NodeVectorsOfKind;
using testing::ReadFileOrFail;
using testing::Str;
using testing::VectorPath;

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

Certificate FirstCertOf(const std::string& path) {
  auto certs = Certificate::LoadPemFile(path);
  EXPECT_TRUE(certs.ok()) << certs.status().ToString();
  if (!certs.ok()) throw std::runtime_error("cannot load " + path);
  return certs->front();
}

TEST(NodeSdkVectors, CertSnPreferringJavaSdkValues) {
  auto vectors = NodeVectorsOfKind("cert_sn");
  ASSERT_EQ(vectors.size(), 21u);
  int java_overrides = 0;
  for (const auto& v : vectors) {
    SCOPED_TRACE(Str(v.at("id")));
    Certificate cert = FirstCertOf(NodeInput(v.at("inputs").at("certFile")));
    std::string sn, issuer, serial;
    if (v.contains("expected_java_sdk")) {
      // Where the Node SDK and the Java SDK differ, Alipay's servers (Java) are the reference.
      const auto& j = v.at("expected_java_sdk");
      sn = Str(j.at("sn"));
      issuer = Str(j.at("issuerString"));
      serial = Str(j.at("serialDecimal"));
      ++java_overrides;
    } else {
      const auto& e = v.at("expected");
      sn = Str(e.at("sn"));
      issuer = Str(e.at("firstCert").at("issuerString"));
      serial = Str(e.at("firstCert").at("decimalSerial"));
    }
    EXPECT_EQ(cert.JavaIssuerName(), issuer);
    EXPECT_EQ(cert.DecimalSerial(), serial);
    EXPECT_EQ(cert.Sn(), sn);
    EXPECT_EQ(Md5Hex(issuer + serial), sn);  // the vector is self-consistent
    auto by_file = CertSnOfFile(NodeInput(v.at("inputs").at("certFile")));
    ASSERT_TRUE(by_file.ok());
    EXPECT_EQ(*by_file, sn);
  }
  EXPECT_EQ(java_overrides, 4);
}

TEST(NodeSdkVectors, RootCertSn) {
  auto vectors = NodeVectorsOfKind("root_cert_sn");
  ASSERT_EQ(vectors.size(), 2u);
  for (const auto& v : vectors) {
    SCOPED_TRACE(Str(v.at("id")));
    std::string bundle = ReadFileOrFail(NodeInput(v.at("inputs").at("certFile")));
    auto sn = RootCertSn(bundle, SignType::kRsa2);
    ASSERT_TRUE(sn.ok()) << sn.status().ToString();
    ASSERT_TRUE(sn->has_value());
    EXPECT_EQ(**sn, Str(v.at("expected").at("sn")));
    auto rsa1 = RootCertSn(bundle, SignType::kRsa);
    ASSERT_TRUE(rsa1.ok());
    EXPECT_EQ(*rsa1, *sn);

    auto certs = Certificate::ParsePemBundle(bundle, "bundle");
    ASSERT_TRUE(certs.ok()) << certs.status().ToString();
    const auto& expected_certs = v.at("expected").at("certs").as_array();
    ASSERT_EQ(certs->size(), expected_certs.size());
    std::string sm2_sns;
    for (size_t i = 0; i < certs->size(); ++i) {
      const auto& e = expected_certs[i];
      const Certificate& c = (*certs)[i];
      EXPECT_EQ(c.SignatureAlgorithmOid(), Str(e.at("signatureOID")));
      EXPECT_EQ(c.JavaIssuerName(), Str(e.at("issuerString")));
      EXPECT_EQ(c.DecimalSerial(), Str(e.at("decimalSerial")));
      EXPECT_EQ(c.Sn(), Str(e.at("md5")));
      bool included = e.at("included").as_bool();
      EXPECT_EQ(c.SignatureAlgorithmOid().rfind("1.2.840.113549.1.1", 0) == 0, included);
      if (c.SignatureAlgorithmOid() == "1.2.156.10197.1.501") sm2_sns += (sm2_sns.empty() ? "" : "_") + c.Sn();
    }
    // With SM2 only the SM3withSM2 root counts.
    auto sm2 = RootCertSn(bundle, SignType::kSm2);
    ASSERT_TRUE(sm2.ok());
    ASSERT_TRUE(sm2->has_value());
    EXPECT_EQ(**sm2, sm2_sns);
    EXPECT_EQ(**sm2, "ea8b0acc538dc3118941655d3a5f75d2");
  }
}

TEST(NodeSdkVectors, CertPublicKey) {
  auto vectors = NodeVectorsOfKind("cert_pubkey");
  ASSERT_EQ(vectors.size(), 2u);
  for (const auto& v : vectors) {
    SCOPED_TRACE(Str(v.at("id")));
    Certificate cert = FirstCertOf(NodeInput(v.at("inputs").at("certFile")));
    auto key = cert.GetPublicKey();
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    EXPECT_EQ(key->ToBase64Spki(), Str(v.at("expected").at("publicKeyBase64")));
  }
}

// computed_sns.tsv: "<file>\tkey=value\t..." lines.
std::map<std::string, std::map<std::string, std::string>> ReadTsv(const std::string& path) {
  std::map<std::string, std::map<std::string, std::string>> out;
  std::istringstream in(ReadFileOrFail(path));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::istringstream fields(line);
    std::string file, field;
    std::getline(fields, file, '\t');
    while (std::getline(fields, field, '\t')) {
      auto eq = field.find('=');
      if (eq == std::string::npos) continue;
      out[file][field.substr(0, eq)] = field.substr(eq + 1);
    }
  }
  return out;
}

TEST(JavaSdkVectors, ComputedSns) {
  auto rows = ReadTsv(VectorPath("java-sdk/keys/computed_sns.tsv"));
  ASSERT_EQ(rows.size(), 3u);
  for (const char* name : {"app.crt", "alipay.crt"}) {
    SCOPED_TRACE(name);
    auto& row = rows[name];
    ASSERT_FALSE(row.empty());
    Certificate cert = FirstCertOf(VectorPath(std::string("java-sdk/keys/") + name));
    EXPECT_EQ(cert.JavaIssuerName(), row["issuer_rfc2253"]);
    EXPECT_EQ(cert.DecimalSerial(), row["serial_dec"]);
    EXPECT_EQ(cert.SignatureAlgorithmOid(), row["sigAlgOID"]);
    EXPECT_EQ(cert.Sn(), row["cert_sn"]);
  }
  auto& root = rows["root.crt"];
  std::string bundle = ReadFileOrFail(VectorPath("java-sdk/keys/root.crt"));
  auto rsa2 = RootCertSn(bundle, SignType::kRsa2);
  ASSERT_TRUE(rsa2.ok()) << rsa2.status().ToString();
  ASSERT_TRUE(rsa2->has_value());
  EXPECT_EQ(**rsa2, root["root_cert_sn(RSA2)"]);
  auto sm2 = RootCertSn(bundle, SignType::kSm2);
  ASSERT_TRUE(sm2.ok());
  EXPECT_EQ(root["root_cert_sn(SM2)"], "null");
  EXPECT_FALSE(sm2->has_value());  // the SDK then omits alipay_root_cert_sn

  // The certificates carry the key files' public keys.
  for (const char* who : {"app", "alipay"}) {
    Certificate cert = FirstCertOf(VectorPath(std::string("java-sdk/keys/") + who + ".crt"));
    auto key = cert.GetPublicKey();
    ASSERT_TRUE(key.ok());
    std::string spki = ReadFileOrFail(VectorPath(std::string("java-sdk/keys/") + who + ".public.spki.b64"));
    while (!spki.empty() && (spki.back() == '\n' || spki.back() == '\r')) spki.pop_back();
    EXPECT_EQ(key->ToBase64Spki(), spki);
  }
}

TEST(JavaSdkVectors, DnEscaping) {
  auto rows = ReadTsv(VectorPath("java-sdk/dn_escaping/java_sdk_output.tsv"));
  auto& row = rows["leaf.crt"];
  ASSERT_FALSE(row.empty());
  Certificate leaf = FirstCertOf(VectorPath("java-sdk/dn_escaping/leaf.crt"));
  EXPECT_EQ(leaf.JavaIssuerName(), row["issuer_rfc2253"]);
  EXPECT_EQ(leaf.DecimalSerial(), row["serial_dec"]);
  EXPECT_EQ(leaf.SignatureAlgorithmOid(), row["sigAlgOID"]);
  EXPECT_EQ(leaf.Sn(), row["cert_sn"]);
  // The issuing CA is self-signed: its issuer name is the leaf's issuer name.
  Certificate ca = FirstCertOf(VectorPath("java-sdk/dn_escaping/dnca.crt"));
  EXPECT_EQ(ca.JavaIssuerName(), row["issuer_rfc2253"]);
  // And it is not what OpenSSL's RFC 2253 printer gives (kept beside the vectors for comparison).
  std::string openssl_form = ReadFileOrFail(VectorPath("java-sdk/dn_escaping/openssl_rfc2253_for_comparison.txt"));
  EXPECT_FALSE(Contains(openssl_form, row["issuer_rfc2253"]));
}

// ---- Certificates built here, for the cases no vector covers. ----

struct Built {
  std::string pem;
  std::string der;
};

// A self-signed RSA certificate with the given issuer (= subject) entries and validity.
Built BuildCert(const std::vector<std::tuple<std::string, int, std::string, int>>& entries, long serial,
                time_t not_before, time_t not_after) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(1024));
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_NAME* name = X509_NAME_new();
  // (field, ASN.1 string type, value bytes, set: 0 = new RDN, -1 = add to the previous RDN)
  for (const auto& [field, type, value, set] : entries) {
    X509_NAME_add_entry_by_txt(name, field.c_str(), type, reinterpret_cast<const unsigned char*>(value.data()),
                               static_cast<int>(value.size()), -1, set);
  }
  X509_set_subject_name(x, name);
  X509_set_issuer_name(x, name);
  X509_NAME_free(name);
  ASN1_TIME_set(X509_getm_notBefore(x), not_before);
  ASN1_TIME_set(X509_getm_notAfter(x), not_after);
  X509_set_pubkey(x, key);
  X509_sign(x, key, EVP_sha256());
  Built out;
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, x);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  out.pem.assign(data, static_cast<size_t>(len));
  BIO_free(bio);
  unsigned char* der = nullptr;
  int dlen = i2d_X509(x, &der);
  out.der.assign(reinterpret_cast<char*>(der), static_cast<size_t>(dlen));
  OPENSSL_free(der);
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

TEST(Certificates, ExpiredCertificateStillParses) {
  // Valid 2001-2002: the SDK never checks expiry, and neither does the SN.
  Built b = BuildCert({{"C", MBSTRING_ASC, "CN", 0}, {"O", MBSTRING_UTF8, "Old", 0},
                       {"CN", MBSTRING_UTF8, "Expired CA", 0}},
                      4242, 978307200, 1009843200);
  auto certs = Certificate::ParsePemBundle(b.pem, "expired.crt");
  ASSERT_TRUE(certs.ok()) << certs.status().ToString();
  const Certificate& c = certs->front();
  EXPECT_EQ(c.not_before(), 978307200);
  EXPECT_EQ(c.not_after(), 1009843200);
  EXPECT_LT(c.not_after(), static_cast<long long>(std::time(nullptr)));
  EXPECT_EQ(c.JavaIssuerName(), "CN=Expired CA,O=Old,C=CN");
  EXPECT_EQ(c.DecimalSerial(), "4242");
  EXPECT_EQ(c.Sn(), Md5Hex("CN=Expired CA,O=Old,C=CN4242"));
  EXPECT_TRUE(c.GetPublicKey().ok());
  EXPECT_TRUE(Contains(c.SubjectText(), "Expired CA"));
}

TEST(Certificates, JavaNameCornerCases) {
  Built b = BuildCert({{"C", MBSTRING_ASC, "CN", 0},
                       {"ST", MBSTRING_UTF8, " lead and trail  ", 0},
                       {"street", MBSTRING_UTF8, "a=b#c", 0},
                       {"OU", MBSTRING_UTF8, "x", 0},
                       {"CN", MBSTRING_UTF8, "y", -1},  // multi-valued with OU
                       {"title", MBSTRING_UTF8, "T", 0},
                       {"CN", MBSTRING_UTF8, "#", 0}},
                      -5, 1700000000, 1900000000);
  auto certs = Certificate::ParsePemBundle(b.pem);
  ASSERT_TRUE(certs.ok()) << certs.status().ToString();
  const Certificate& c = certs->front();
  // Members of a multi-valued RDN in DER SET order (CN's encoding sorts before OU's here: same
  // length, 55 04 03 < 55 04 0b); '#' escaped anywhere; leading/trailing spaces escaped one by one.
  EXPECT_EQ(c.JavaIssuerName(), "CN=\\#,2.5.4.12=#0c0154,CN=y+OU=x,STREET=a\\=b\\#c,ST=\\ lead and trail\\ \\ ,C=CN");
  EXPECT_EQ(c.DecimalSerial(), "-5");  // signed, as BigInteger prints it
}

TEST(Certificates, MultiValuedRdnMembersInDerSetOrderEvenWhenTheFileIsNot) {
  // BouncyCastle hands the JDK a DER re-encoding of the issuer, which sorts SET members. Build a
  // certificate, then swap the two members in the file so they are out of DER order.
  Built b = BuildCert({{"C", MBSTRING_ASC, "CN", 0}, {"OU", MBSTRING_UTF8, "x", 0}, {"CN", MBSTRING_UTF8, "y", -1}},
                      9, 1700000000, 1900000000);
  const std::string cn("\x30\x08\x06\x03\x55\x04\x03\x0c\x01\x79", 10);
  const std::string ou("\x30\x08\x06\x03\x55\x04\x0b\x0c\x01\x78", 10);
  std::string der = b.der;
  size_t pos = 0;
  int swapped = 0;
  while ((pos = der.find(cn + ou, pos)) != std::string::npos) {  // issuer and subject
    der.replace(pos, 20, ou + cn);
    ++swapped;
  }
  ASSERT_EQ(swapped, 2);
  auto certs = Certificate::ParsePemBundle(der, "unsorted.cer");
  ASSERT_TRUE(certs.ok()) << certs.status().ToString();
  EXPECT_EQ(certs->front().JavaIssuerName(), "CN=y+OU=x,C=CN");
}

TEST(Certificates, NonUtf8StringTypesDecodeAsJavaDoes) {
  // The JDK decodes every text value as UTF-8 bytes: a BMPString "AB" (00 41 00 42) becomes
  // U+0000 'A' U+0000 'B', with NUL written as \00; Latin-1 in a T61String is malformed UTF-8.
  Built b = BuildCert({{"O", V_ASN1_BMPSTRING, std::string("\0A\0B", 4), 0},
                       {"CN", V_ASN1_T61STRING, "caf\xE9", 0},
                       {"1.2.3.4", MBSTRING_UTF8, "v", 0}},
                      1, 1700000000, 1900000000);
  auto certs = Certificate::ParsePemBundle(b.pem);
  ASSERT_TRUE(certs.ok()) << certs.status().ToString();
  EXPECT_EQ(certs->front().JavaIssuerName(), "1.2.3.4=#0c0176,CN=caf\xEF\xBF\xBD,O=\\00A\\00B");
}

TEST(Certificates, BundleFormsAndErrors) {
  std::string lf = ReadFileOrFail(VectorPath("node-sdk/inputs/alipayRootCert_test.crt"));
  std::string crlf = ReadFileOrFail(VectorPath("node-sdk/inputs/alipayRootCert_test_crlf.crt"));
  ASSERT_NE(lf, crlf);
  auto a = Certificate::ParsePemBundle(lf);
  auto b = Certificate::ParsePemBundle(crlf);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->size(), 4u);
  ASSERT_EQ(b->size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ((*a)[i].Sn(), (*b)[i].Sn());

  // The alipay cert file holds leaf + intermediate; the first is the leaf.
  auto chain = Certificate::LoadPemFile(VectorPath("node-sdk/inputs/alipayCertPublicKey_RSA2_test.crt"));
  ASSERT_TRUE(chain.ok());
  EXPECT_EQ(chain->size(), 2u);

  // Binary DER is accepted too.
  Built built = BuildCert({{"CN", MBSTRING_UTF8, "der", 0}}, 7, 1700000000, 1900000000);
  auto der = Certificate::ParsePemBundle(built.der, "cert.cer");
  ASSERT_TRUE(der.ok()) << der.status().ToString();
  EXPECT_EQ(der->front().JavaIssuerName(), "CN=der");

  // Truncated: no END line.
  std::string truncated = lf.substr(0, lf.size() / 8);
  auto t = Certificate::ParsePemBundle(truncated, "root.crt");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kParseError);
  EXPECT_TRUE(Contains(t.status().message(), "root.crt: PEM block 1")) << t.status().message();
  EXPECT_TRUE(Contains(t.status().message(), "no END line")) << t.status().message();

  // Truncated inside the second certificate, but with its END line: the DER is short.
  auto second_begin = lf.find("-----BEGIN", 10);
  auto second_end = lf.find("-----END", second_begin);
  std::string cut = lf.substr(0, second_begin) + "-----BEGIN CERTIFICATE-----\n" +
                    lf.substr(lf.find('\n', second_begin) + 1, 128) + "\n" + lf.substr(second_end);
  auto c = Certificate::ParsePemBundle(cut, "cut.crt");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(Contains(c.status().message(), "PEM block 2")) << c.status().message();
  EXPECT_TRUE(Contains(c.status().message(), "not a valid X.509 certificate")) << c.status().message();

  // Garbled: base64 body damaged in the DER header.
  std::string garbled = lf;
  auto body = garbled.find('\n', garbled.find("-----BEGIN")) + 1;
  garbled.replace(body, 8, "AAAAAAAA");
  auto g = Certificate::ParsePemBundle(garbled, "garbled.crt");
  ASSERT_FALSE(g.ok());
  EXPECT_TRUE(Contains(g.status().message(), "garbled.crt: PEM block 1")) << g.status().message();
  // Invalid base64 inside the armour.
  std::string bad64 = lf;
  bad64.replace(body + 3, 1, "*");
  auto b64 = Certificate::ParsePemBundle(bad64, "bad64.crt");
  ASSERT_FALSE(b64.ok());
  EXPECT_TRUE(Contains(b64.status().message(), "not valid base64")) << b64.status().message();

  // A key where a certificate belongs.
  auto k = Certificate::ParsePemBundle(ReadFileOrFail(VectorPath("node-sdk/inputs/app_private_pkcs8.pem")), "app.crt");
  ASSERT_FALSE(k.ok());
  EXPECT_TRUE(Contains(k.status().message(), "\"PRIVATE KEY\", not a certificate")) << k.status().message();
  // Nothing at all / garbage.
  EXPECT_FALSE(Certificate::ParsePemBundle("").ok());
  auto gar = Certificate::ParsePemBundle("just some text", "x.crt");
  ASSERT_FALSE(gar.ok());
  EXPECT_TRUE(Contains(gar.status().message(), "no PEM certificate")) << gar.status().message();
  EXPECT_EQ(Certificate::LoadPemFile("/nonexistent/alipay.crt").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(RootCertSn(truncated, SignType::kRsa2).ok());
  EXPECT_FALSE(CertSnOfFile("/nonexistent/app.crt").ok());
}

TEST(Certificates, PublicKeyOfNonRsaCertificateIsRefused) {
  // The ECDSA P-384 root of the test bundle: usable for its SN, not as an Alipay key.
  auto certs = Certificate::LoadPemFile(VectorPath("node-sdk/inputs/root_e1.crt"));
  ASSERT_TRUE(certs.ok());
  auto key = certs->front().GetPublicKey();
  ASSERT_FALSE(key.ok());
  EXPECT_TRUE(Contains(key.status().message(), "secp384r1")) << key.status().message();
  // The SM2 root's key is an SM2 key.
  auto sm2 = Certificate::LoadPemFile(VectorPath("node-sdk/inputs/root_sm2.crt"));
  ASSERT_TRUE(sm2.ok());
  auto sm2_key = sm2->front().GetPublicKey();
  ASSERT_TRUE(sm2_key.ok()) << sm2_key.status().ToString();
  EXPECT_TRUE(sm2_key->is_sm2());
}

}  // namespace
}  // namespace alipaymsg
