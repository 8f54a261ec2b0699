// The client's errors say what happened, against the real simulator: a server certificate for
// another host name, and a WebSocket upgrade that the server never answers.
#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>

#include "alipaymsg/client.h"
#include "alipaymsg/credentials.h"
#include "alipaymsg/inbox.h"
#include "sim_process.h"
#include "testing/test_paths.h"

namespace alipaymsg::clienttest {
namespace {

using std::chrono::milliseconds;
constexpr const char* kApp = "2021000000000001";

class ClientErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("client-errors");
    keys_ = Keygen(dir_ + "/keys", kApp);
    auto inbox = OpenSqliteInbox(dir_ + "/inbox.db");
    ASSERT_TRUE(inbox.ok()) << inbox.status().ToString();
    inbox_ = std::move(*inbox);
  }
  void TearDown() override {
    if (client_) client_->StopAndWait();
    if (inbox_) inbox_->Close();
  }

  // A client with one app on `sim` (TLS trusting `ca` when given), started.
  void StartClient(const SimProcess& sim, const std::string& ca, milliseconds connect_timeout) {
    ClientOptions options;
    options.inbox = inbox_.get();
    options.connect_timeout = connect_timeout;
    options.register_timeout = milliseconds(3000);
    options.backoff.initial = milliseconds(50);
    options.backoff.cap = milliseconds(200);
    options.backoff.min_delay = milliseconds(20);
    options.logger = [this](LogLevel, std::string_view line) {
      std::lock_guard lock(log_mu_);
      log_ += std::string(line) + "\n";
    };
    auto client = Client::Create(std::move(options));
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(*client);
    std::shared_ptr<const Credentials> credentials = KeyModeCredentials(keys_, kApp);
    ASSERT_TRUE(credentials);
    AppOptions app;
    app.credentials = std::move(credentials);
    app.server_host = sim.listen();
    app.tls = !ca.empty();
    app.ca_file = ca;
    ASSERT_TRUE(client_->AddApp(std::move(app)).ok());
    client_->Start();
  }

  std::string LastError() { return client_->Stats(kApp).value_or(ConnectionStats{}).last_error; }
  std::string Log() {
    std::lock_guard lock(log_mu_);
    return log_;
  }

  std::string dir_;
  SimKeys keys_;
  std::unique_ptr<Inbox> inbox_;
  std::unique_ptr<Client> client_;
  std::mutex log_mu_;
  std::string log_;
};

TEST_F(ClientErrorsTest, CertificateForAnotherHostSaysItDoesNotMatchTheHost) {
  // Signed by a CA the client trusts, but for another name than the 127.0.0.1 it connects to.
  TlsKeys other = TlsKeygen(dir_ + "/tls-other", "DNS:other.example");
  auto sim = SimProcess::Start(dir_, SimArgsForApp(keys_, kApp, /*cert_mode=*/false, &other));
  ASSERT_TRUE(sim);
  StartClient(*sim, other.ca, milliseconds(3000));
  ASSERT_TRUE(WaitUntil([&] { return !LastError().empty(); })) << "no error reported\n" << Log();
  const std::string error = LastError();
  EXPECT_NE(error.find("certificate does not match host 127.0.0.1"), std::string::npos) << error;
  EXPECT_NE(error.find("other.example"), std::string::npos) << error;  // and says whom it is for
  EXPECT_EQ(error.find("unspecified"), std::string::npos) << error;
  EXPECT_FALSE(client_->AllConnected());
}

TEST_F(ClientErrorsTest, UnansweredUpgradeSaysItTimedOutWaitingForTheUpgradeResponse) {
  auto sim = SimProcess::Start(dir_, SimArgsForApp(keys_, kApp, /*cert_mode=*/false, nullptr));
  ASSERT_TRUE(sim);
  sim->Fault(R"({"kind":"hang_upgrade","count":1})");
  StartClient(*sim, "", milliseconds(1000));
  ASSERT_TRUE(WaitUntil([&] { return !LastError().empty(); })) << "no error reported\n" << Log();
  const std::string error = LastError();
  EXPECT_NE(error.find("timed out"), std::string::npos) << error;
  EXPECT_NE(error.find("waiting for the WebSocket upgrade response"), std::string::npos) << error;
  EXPECT_EQ(error.find("HTTP 500"), std::string::npos) << error;
  // The next attempt is answered: the client connects.
  EXPECT_TRUE(WaitUntil([&] { return client_->AllConnected(); })) << LastError();
}

}  // namespace
}  // namespace alipaymsg::clienttest
