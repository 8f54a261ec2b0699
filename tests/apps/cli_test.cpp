// Drives the built `alipay-msg` binary on the shared vectors: outputs, exit codes, error lines.
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "testing/run_process.h"
#include "testing/test_paths.h"

namespace alipaymsg::testing {
namespace {

std::string Cli() { return BinDir() + "/alipay-msg"; }
std::string Node(const std::string& rel) { return VectorPath("node-sdk/" + rel); }
std::string JavaKeys(const std::string& rel) { return VectorPath("java-sdk/keys/" + rel); }

ProcessResult RunCli(std::vector<std::string> args, const std::string& in = "") {
  args.insert(args.begin(), Cli());
  return RunProcess(args, in);
}

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

boost::json::object NodeVector(const std::string& id) {
  auto doc = boost::json::parse(ReadFileOrFail(Node("vectors.json")));
  for (const auto& v : doc.at("vectors").as_array()) {
    if (v.at("id").as_string() == id) return v.as_object();
  }
  ADD_FAILURE() << "vector " << id << " missing from node-sdk/vectors.json";
  return {};
}

TEST(CliCertSn, JavaSdkVectors) {
  auto r = RunCli({"cert-sn", JavaKeys("app.crt")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Trimmed(r.out), "d87e621c0e3ed7a9a5ff5f4ba027a3a7");
  r = RunCli({"cert-sn", JavaKeys("alipay.crt")});
  EXPECT_EQ(Trimmed(r.out), "8bebf7fbd7acd128d485952d3ecb123a");
  r = RunCli({"cert-sn", "--root", JavaKeys("root.crt")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Trimmed(r.out), "68c421bb1f16ba923a290e15642d75bd");
}

TEST(CliCertSn, RootBundleSkipsNonRsaAndSm2WhenAsked) {
  auto v = NodeVector("root_sn_alipayRootCert_test");
  auto r = RunCli({"cert-sn", "--root", Node("inputs/alipayRootCert_test.crt")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Trimmed(r.out), std::string(v.at("expected").at("sn").as_string()));
  // The same bundle with CRLF line endings gives the same answer.
  r = RunCli({"cert-sn", "--root", Node("inputs/alipayRootCert_test_crlf.crt")});
  EXPECT_EQ(Trimmed(r.out), std::string(v.at("expected").at("sn").as_string()));
  // SM2: only the SM2-signed root counts.
  r = RunCli({"cert-sn", "--root", "--sign-type", "SM2", Node("inputs/alipayRootCert_test.crt")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Trimmed(r.out), "ea8b0acc538dc3118941655d3a5f75d2");
  // A bundle with no SM2 root: no SN, said clearly.
  r = RunCli({"cert-sn", "--root", "--sign-type", "SM2", JavaKeys("root.crt")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("SM2"), std::string::npos) << r.err;
}

TEST(CliPublicKey, FirstCertificateSpki) {
  auto v = NodeVector("cert_pubkey_alipayCertPublicKey_RSA2_test");
  auto r = RunCli({"public-key", Node("inputs/alipayCertPublicKey_RSA2_test.crt")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Trimmed(r.out), std::string(v.at("expected").at("publicKeyBase64").as_string()));
}

TEST(CliSign, EveryKeyFormGivesTheSdkSignature) {
  for (const char* id : {"sign_sign_content_utf8_RSA2", "sign_sign_content_ascii_RSA",
                         "sign_sign_content_trailing_newline_RSA2"}) {
    auto v = NodeVector(id);
    std::string content = ReadFileOrFail(Node(std::string(v.at("inputs").at("stringFile").as_string())));
    std::string expected(v.at("expected").at("signature").as_string());
    std::string type(v.at("signType").as_string());
    for (const auto& key : v.at("inputs").at("keyFiles").as_array()) {
      std::string key_file = Node(std::string(key.at("file").as_string()));
      auto r = RunCli({"sign", "--key", key_file, "--sign-type", type}, content);
      EXPECT_EQ(r.exit_code, 0) << id << " " << key_file << ": " << r.err;
      EXPECT_EQ(Trimmed(r.out), expected) << id << " " << key_file;
    }
  }
}

TEST(CliVerify, ValidInvalidAndWrongType) {
  std::string content = ReadFileOrFail(Node("inputs/sign_content_utf8.txt"));
  std::string sig = Trimmed(ReadFileOrFail(Node("inputs/sign_content_utf8.alipay_rsa2.sig")));
  for (const char* key : {"inputs/alipay_public.pem", "inputs/alipay_public_bare.txt",
                          "inputs/alipayCertPublicKey_RSA2_test.crt"}) {
    auto r = RunCli({"verify", "--key", Node(key), "--sign-type", "RSA2", "--signature", sig}, content);
    EXPECT_EQ(r.exit_code, 0) << key << ": " << r.out << r.err;
  }
  auto r = RunCli({"verify", "--key", Node("inputs/alipay_public.pem"), "--sign-type", "RSA", "--signature", sig},
                  content);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  r = RunCli({"verify", "--key", Node("inputs/alipay_public.pem"), "--signature", sig}, content + "x");
  EXPECT_EQ(r.exit_code, 1);
  // The app's key cannot verify Alipay's signature.
  r = RunCli({"verify", "--key", Node("inputs/app_public.pem"), "--signature", sig}, content);
  EXPECT_EQ(r.exit_code, 1);
}

TEST(CliVerifyNotify, NodeSdkForms) {
  struct Case { const char* form; int exit_code; };
  for (Case c : {Case{"trade_v1style_rsa2.form", 0}, Case{"trade_v1style_rsa1.form", 0},
                 Case{"trade_no_sign_type_param.form", 0}, Case{"open_v2style_with_sign_type.form", 0},
                 Case{"empty_values_java_rule.form", 0}, Case{"empty_values_node_rule.form", 0},
                 Case{"trade_v1style_rsa2_tampered.form", 1}}) {
    std::string body = ReadFileOrFail(Node(std::string("inputs/") + c.form));
    auto r = RunCli({"verify-notify", "--alipay-public-key", Node("inputs/alipay_public.pem")}, body);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.form << ": " << r.out << r.err;
    EXPECT_EQ(r.out.rfind(c.exit_code == 0 ? "valid" : "invalid: ", 0), 0u) << c.form << ": " << r.out;
  }
}

// As a new user tries it: the body in a shell variable, piped with echo (which adds a newline).
TEST(CliVerifyNotify, BodyPipedWithEchoVerifies) {
  const std::string form = Node("inputs/trade_v1style_rsa2.form");
  const std::string key = Node("inputs/alipay_public.pem");
  auto r = RunProcess({"/bin/sh", "-c", "body=$(cat '" + form + "'); echo \"$body\" | '" + Cli() +
                                            "' verify-notify --alipay-public-key '" + key + "'"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "valid\n");
  // Exactly one trailing line break is dropped (\r\n too); a second one is reported as what it is.
  std::string body = ReadFileOrFail(form);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  r = RunCli({"verify-notify", "--alipay-public-key", key}, body + "\r\n");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  r = RunCli({"verify-notify", "--alipay-public-key", key}, body + "\n\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("cannot parse the notification"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("raw control character 0x0A (line feed)"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("does not verify"), std::string::npos) << r.out;
  // A raw line break inside the form: a parse error that says so, not a signature failure.
  std::string inside = body;
  inside.insert(inside.find('&') + 1, "\n");
  r = RunCli({"verify-notify", "--alipay-public-key", key}, inside);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("raw control character"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("does not verify"), std::string::npos) << r.out;
}

TEST(CliVerifyNotify, CertMode) {
  std::string body = ReadFileOrFail(Node("inputs/trade_v1style_rsa2.form"));
  auto r = RunCli({"verify-notify", "--alipay-cert", Node("inputs/alipayCertPublicKey_RSA2_test.crt")}, body);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST(CliErrors, BadArgumentsAndFilesExitTwoWithOneLine) {
  auto one_line = [](const std::string& s) {
    return !s.empty() && s.find('\n') == s.size() - 1;
  };
  auto r = RunCli({"sign", "--sign-type", "RSA2"}, "x");  // no --key
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(one_line(r.err)) << r.err;
  EXPECT_NE(r.err.find("--key"), std::string::npos) << r.err;

  r = RunCli({"sign", "--key", "/nonexistent/key.pem"}, "x");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(one_line(r.err)) << r.err;
  EXPECT_NE(r.err.find("/nonexistent/key.pem"), std::string::npos) << r.err;

  // A certificate where a private key belongs.
  r = RunCli({"sign", "--key", Node("inputs/appCertPublicKey_2021000000000000.crt")}, "x");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("certificate"), std::string::npos) << r.err;

  // A public key where a private key belongs.
  r = RunCli({"sign", "--key", Node("inputs/app_public.pem")}, "x");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("public key"), std::string::npos) << r.err;

  r = RunCli({"sign", "--key", Node("inputs/app_private_pkcs8.pem"), "--sign-type", "RSA3"}, "x");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("RSA3"), std::string::npos) << r.err;

  r = RunCli({"cert-sn", Node("inputs/app_private_pkcs8.pem")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(one_line(r.err)) << r.err;

  r = RunCli({"no-such-command"});
  EXPECT_EQ(r.exit_code, 2);

  r = RunCli({"verify-notify"}, "a=b");
  EXPECT_EQ(r.exit_code, 2);
}

TEST(CliKeypair, MatchAndMismatch) {
  auto r = RunCli({"check-keypair", "--private-key", Node("inputs/app_private_pkcs1.pem"), "--public-key",
                   Node("inputs/app_public.pem")});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  r = RunCli({"check-keypair", "--private-key", Node("inputs/app_private_pkcs1.pem"), "--public-key",
              Node("inputs/alipay_public.pem")});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
}

// The packages' version comes from project(VERSION) too: tests/packaging checks the installed ones.
TEST(CliVersion, BothProgramsPrintTheProjectVersion) {
  auto r = RunCli({"--version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "alipay-msg " ALIPAYMSG_VERSION "\n");
  // No --config needed (it is required for a run).
  r = RunProcess({BinDir() + "/alipay-msgd", "--version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "alipay-msgd " ALIPAYMSG_VERSION "\n");
}

}  // namespace
}  // namespace alipaymsg::testing
