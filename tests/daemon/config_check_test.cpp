// CheckDaemonConfig: config findings plus the key/cert self-test, on the shared SDK key vectors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "daemon/config.h"
#include "daemon/temp_dir.h"
#include "testing/test_paths.h"

namespace alipaymsg {
namespace {

using Severity = ConfigFinding::Severity;

std::string Keys(const std::string& name) { return testing::VectorPath("java-sdk/keys/" + name); }

class CheckConfigTest : public ::testing::Test {
 protected:
  std::vector<ConfigFinding> Check(const std::string& yaml) {
    std::ofstream(path_) << yaml;
    return CheckDaemonConfig(path_);
  }
  static std::string All(const std::vector<ConfigFinding>& findings) {
    std::string out;
    for (const ConfigFinding& f : findings) out += std::string(ToString(f.severity)) + ": " + f.message + "\n";
    return out;
  }
  static int Count(const std::vector<ConfigFinding>& findings, Severity severity) {
    int n = 0;
    for (const ConfigFinding& f : findings) n += f.severity == severity;
    return n;
  }
  daemon_test::TempDir dir_{"daemon-check"};
  std::string path_ = dir_.path() + "/alipay-msgd.yaml";
};

TEST_F(CheckConfigTest, KeyModeLoads) {
  auto findings = Check("alipay:\n  app-id: \"2021000000000001\"\n  app-private-key-path: " + Keys("app.private.pkcs8.b64") +
                        "\n  alipay-public-key-path: " + Keys("alipay.public.spki.b64") +
                        "\ninbox:\n  path: var/inbox.db\nsinks:\n  - match: \"*\"\n    jsonl: out/m.jsonl\n");
  EXPECT_EQ(Count(findings, Severity::kError), 0) << All(findings);
  EXPECT_NE(All(findings).find(path_ + ":1: alipay (app 2021000000000001): RSA2, UTF-8, key mode"), std::string::npos)
      << All(findings);
}

TEST_F(CheckConfigTest, CertModeShowsTheSns) {
  auto findings = Check("alipay:\n  appId: \"2021000000000001\"\n  appCertPrivateKeyPath: " + Keys("app.private.pkcs8.b64") +
                        "\n  appCertPublicKeyPath: " + Keys("app.crt") + "\n  aliPayCertPublicKeyPath: " +
                        Keys("alipay.crt") + "\n  aliPayRootCertPath: " + Keys("root.crt") + "\n");
  EXPECT_EQ(Count(findings, Severity::kError), 0) << All(findings);
  EXPECT_NE(All(findings).find("certificate mode: app_cert_sn d87e621c0e3ed7a9a5ff5f4ba027a3a7, alipay_cert_sn "
                               "8bebf7fbd7acd128d485952d3ecb123a, alipay_root_cert_sn 68c421bb1f16ba923a290e15642d75bd"),
            std::string::npos)
      << All(findings);
}

TEST_F(CheckConfigTest, SwappedKeyIsAnErrorNamingTheApp) {
  auto findings = Check("alipay:\n  app-id: \"2021000000000001\"\n  app-private-key-path: " + Keys("app.private.pkcs8.b64") +
                        "\n  alipay-public-key-path: " + Keys("app.public.spki.b64") + "\n");
  ASSERT_EQ(Count(findings, Severity::kError), 1) << All(findings);
  EXPECT_NE(All(findings).find("error: " + path_ + ":1: alipay (app 2021000000000001): "), std::string::npos)
      << All(findings);
  // And the setting whose file is wrong, with its line.
  EXPECT_NE(All(findings).find("): alipay.alipay-public-key-path (" + path_ + ":4): "), std::string::npos)
      << All(findings);
}

TEST_F(CheckConfigTest, ConfigErrorsComeOnePerFinding) {
  auto findings = Check("alipay:\n  app-id: \"1\"\n  sign-type: RSA3\nack: x\n");
  EXPECT_GE(Count(findings, Severity::kError), 3) << All(findings);
  EXPECT_EQ(findings[0].message.find(path_ + ":"), 0u) << All(findings);
}

TEST_F(CheckConfigTest, UnwritableInboxLocation) {
  std::ofstream(dir_.path() + "/file") << "x";
  auto findings = Check("alipay:\n  app-id: \"1\"\n  app-private-key-path: " + Keys("app.private.pkcs8.b64") +
                        "\n  alipay-public-key-path: " + Keys("alipay.public.spki.b64") + "\ninbox:\n  path: file/inbox.db\n");
  EXPECT_NE(All(findings).find("error: " + path_ + ": inbox.path: " + dir_.path() + "/file is not a directory"),
            std::string::npos)
      << All(findings);
}

}  // namespace
}  // namespace alipaymsg
