// examples/spring_article against the simulator, configured exactly with the article's
// AliPayProperties fields (certificate mode): each of the seven msgApis reaches its own handler.
#include <signal.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include "sim_process.h"
#include "testing/test_paths.h"

namespace alipaymsg::clienttest {
namespace {

constexpr const char* kApp = "2021000000000001";

TEST(SpringExampleTest, SevenMsgApisEachReachTheirOwnHandler) {
  const std::string dir = testing::MakeTempDir("client-example");
  const SimKeys keys = Keygen(dir + "/keys", kApp);
  auto sim = SimProcess::Start(dir, {"--alipay-private-key", keys.alipay_private_key, "--alipay-cert",
                                     keys.alipay_cert, "--root-cert", keys.root_cert, "--app",
                                     std::string(kApp) + "=" + keys.app_cert, "--log-level", "warn"});
  ASSERT_TRUE(sim);
  const std::string log = dir + "/example.log";
  auto example = ChildProcess::Start(
      {testing::BinDir() + "/alipay-msg-spring-example", "--app-id", kApp, "--sign-type", "RSA2",
       "--chart-set", "UTF-8", "--app-cert-private-key-path", keys.app_private_key,
       "--app-cert-public-key-path", keys.app_cert, "--ali-pay-cert-public-key-path",
       keys.alipay_cert, "--ali-pay-root-cert-path", keys.root_cert, "--server-host", sim->listen(),
       "--no-ssl", "--inbox", dir + "/example.db"},
      log);
  ASSERT_TRUE(example);
  ASSERT_TRUE(WaitUntil([&] { return sim->Stat("connections") == 1 || !example->running(); }))
      << ReadFile(log);
  const std::pair<const char*, const char*> apis[] = {
      {"alipay.open.app.api.field.changed", "用户信息申请记录审核通知"},
      {"alipay.open.auth.appauth.cancelled", "第三方应用授权取消消息"},
      {"alipay.open.auth.userauth.cancelled", "用户授权取消消息"},
      {"alipay.open.mini.version.audit.passed", "小程序审核通过通知"},
      {"alipay.open.mini.version.audit.rejected", "小程序审核驳回通知"},
      {"alipay.trade.refund.depositback.completed", "收单退款冲退完成通知"},
      {"alipay.open.mini.merchant.confirmed", "商户确认服务商代创建小程序结果通知"},
  };
  std::vector<std::string> ids;
  for (const auto& [api, what] : apis)
    ids.push_back(sim->AddMessage(kApp, api, R"({"api":")" + std::string(api) + R"("})"));
  ASSERT_TRUE(WaitUntil([&] { return sim->Stat("acked_messages") == 7; })) << ReadFile(log);
  ASSERT_TRUE(WaitUntil([&] {
    const std::string text = ReadFile(log);
    for (const auto& [api, what] : apis)
      if (text.find(std::string(what) + ",接收到的消息内容:{\"api\":\"" + api + "\"}") == std::string::npos)
        return false;
    return true;
  })) << ReadFile(log);
  example->Signal(SIGTERM);
  int status = 0;
  ASSERT_TRUE(example->WaitFor(std::chrono::seconds(15), &status));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << ReadFile(log);
  EXPECT_NE(ReadFile(log).find("received 7, new 7"), std::string::npos) << ReadFile(log);
}

TEST(SpringExampleTest, MissingFileIsAClearStartupError) {
  const std::string dir = testing::MakeTempDir("client-example");
  const std::string log = dir + "/example.log";
  auto example = ChildProcess::Start(
      {testing::BinDir() + "/alipay-msg-spring-example", "--app-id", kApp,
       "--app-cert-private-key-path", dir + "/nope.pem", "--alipay-public-key-path", dir + "/nope2.pem",
       "--inbox", dir + "/x.db"},
      log);
  ASSERT_TRUE(example);
  int status = 0;
  ASSERT_TRUE(example->WaitFor(std::chrono::seconds(10), &status));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2);
  EXPECT_NE(ReadFile(log).find("nope.pem"), std::string::npos) << ReadFile(log);
}

}  // namespace
}  // namespace alipaymsg::clienttest
