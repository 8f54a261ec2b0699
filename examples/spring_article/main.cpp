// The AliPayMsgConfig of a public Spring Boot integration article (seven msgApis), done
// with alipay-msg: the same AliPayProperties fields, the same seven msgApis, one handler each, but
// with verified signatures, a durable inbox (a redelivered message runs once) and reconnects.
//
//   alipay-msg-spring-example --app-id 2021... --sign-type RSA2 --chart-set UTF-8
//     --app-cert-private-key-path app_private_key.pem
//     --app-cert-public-key-path appCertPublicKey_2021....crt
//     --ali-pay-cert-public-key-path alipayCertPublicKey_RSA2.crt
//     --ali-pay-root-cert-path alipayRootCert.crt
//
// Every flag can come from the environment instead (ALIPAY_APP_ID, ALIPAY_SIGN_TYPE, ...). Against
// the simulator add --server-host 127.0.0.1:PORT --no-ssl. Key mode: --alipay-public-key-path
// instead of the three certificate paths. Stops on SIGINT/SIGTERM.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "alipaymsg/receiver.h"

using namespace alipaymsg;

namespace {

// The article's AliPayProperties (prefix "alipay"), plus what a C++ program must say explicitly.
struct AliPayProperties {
  std::string sign_type = "RSA2";
  std::string app_id;
  std::string chart_set = "UTF-8";               // sic: the article's property name
  std::string app_cert_private_key_path;         // the app private key
  std::string app_cert_public_key_path;          // app public key certificate
  std::string ali_pay_cert_public_key_path;      // Alipay public key certificate
  std::string ali_pay_root_cert_path;            // Alipay root certificate bundle
  std::string alipay_public_key_path;            // key mode instead of the three certificates
  std::string server_host = "openchannel.alipay.com";
  bool ssl = true;
  std::string ca_file;
  std::string inbox_path = "alipay-msg-example.db";
  std::string ack_mode = "after-store";
};

// One handler per msgApi, as the article's if/else chain, each logging what it received.
Handler LogAs(const char* what) {
  return [what](MessageView& m) {
    spdlog::info("{},接收到的消息内容:{} (msgId {}, delivery {})", what, m.biz_content(), m.msg_id(),
                 m.delivery_count());
    return HandlerOutcome::Done();
  };
}

void RegisterHandlers(Receiver& receiver) {
  const std::pair<const char*, const char*> handlers[] = {
      {"alipay.open.app.api.field.changed", "用户信息申请记录审核通知"},
      {"alipay.open.auth.appauth.cancelled", "第三方应用授权取消消息"},
      {"alipay.open.auth.userauth.cancelled", "用户授权取消消息"},
      {"alipay.open.mini.version.audit.passed", "小程序审核通过通知"},
      {"alipay.open.mini.version.audit.rejected", "小程序审核驳回通知"},
      {"alipay.trade.refund.depositback.completed", "收单退款冲退完成通知"},
      {"alipay.open.mini.merchant.confirmed", "商户确认服务商代创建小程序结果通知"},
  };
  for (const auto& [msg_api, what] : handlers) receiver.On(msg_api, LogAs(what));
  // No default handler: any other msgApi stays in the inbox as "unhandled" (replayable), it is not
  // acked away unseen.
}

}  // namespace

int main(int argc, char** argv) {
  AliPayProperties p;
  CLI::App app{"alipay-msg: the Spring article's message integration in C++"};
  app.add_option("--app-id", p.app_id, "应用id")->envname("ALIPAY_APP_ID")->required();
  app.add_option("--sign-type", p.sign_type, "加签类型: RSA2, RSA, SM2")->envname("ALIPAY_SIGN_TYPE")->capture_default_str();
  app.add_option("--chart-set,--charset", p.chart_set, "编码格式")->envname("ALIPAY_CHART_SET")->capture_default_str();
  app.add_option("--app-cert-private-key-path", p.app_cert_private_key_path, "应用私钥路径")
      ->envname("ALIPAY_APP_CERT_PRIVATE_KEY_PATH")->required();
  app.add_option("--app-cert-public-key-path", p.app_cert_public_key_path, "应用公钥证书路径")
      ->envname("ALIPAY_APP_CERT_PUBLIC_KEY_PATH");
  app.add_option("--ali-pay-cert-public-key-path", p.ali_pay_cert_public_key_path, "支付宝公钥证书路径")
      ->envname("ALIPAY_ALI_PAY_CERT_PUBLIC_KEY_PATH");
  app.add_option("--ali-pay-root-cert-path", p.ali_pay_root_cert_path, "支付宝根证书路径")
      ->envname("ALIPAY_ALI_PAY_ROOT_CERT_PATH");
  app.add_option("--alipay-public-key-path", p.alipay_public_key_path, "key mode: 支付宝公钥")
      ->envname("ALIPAY_ALIPAY_PUBLIC_KEY_PATH");
  app.add_option("--server-host", p.server_host, "host[:port]")->envname("ALIPAY_SERVER_HOST")->capture_default_str();
  app.add_flag("--ssl,!--no-ssl", p.ssl, "https/wss (default) or plain http/ws for a local simulator")
      ->envname("ALIPAY_SSL");
  app.add_option("--ca-file", p.ca_file, "extra CA bundle (PEM) for TLS")->envname("ALIPAY_CA_FILE");
  app.add_option("--inbox", p.inbox_path, "SQLite inbox file")->envname("ALIPAY_INBOX")->capture_default_str();
  app.add_option("--ack-mode", p.ack_mode, "after-store or after-handle")
      ->check(CLI::IsMember({"after-store", "after-handle"}))->envname("ALIPAY_ACK_MODE")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const bool cert_mode = !p.app_cert_public_key_path.empty() || !p.ali_pay_cert_public_key_path.empty() ||
                         !p.ali_pay_root_cert_path.empty();
  ReceiverOptions options;
  ReceiverApp receiver_app;
  CredentialsConfig& config = receiver_app.credentials;
  config.app_id = p.app_id;
  config.sign_type = p.sign_type;
  config.charset = p.chart_set;
  config.app_private_key_path = p.app_cert_private_key_path;
  if (cert_mode) {
    config.app_cert_path = p.app_cert_public_key_path;
    config.alipay_cert_path = p.ali_pay_cert_public_key_path;
    config.root_cert_path = p.ali_pay_root_cert_path;
  } else {
    config.alipay_public_key_path = p.alipay_public_key_path;
  }
  receiver_app.connection.server_host = p.server_host;
  receiver_app.connection.tls = p.ssl;
  receiver_app.connection.ca_file = p.ca_file;
  options.apps.push_back(std::move(receiver_app));
  options.inbox_path = p.inbox_path;
  options.ack_mode = p.ack_mode == "after-handle" ? AckMode::kAfterHandle : AckMode::kAfterStore;
  options.logger = SpdlogLogger();

  auto receiver = Receiver::Open(std::move(options));
  if (!receiver.ok()) {
    spdlog::error("configuration: {}", receiver.status().ToString());
    return 2;
  }
  RegisterHandlers(**receiver);
  spdlog::info("receiving messages for app {} from {} ({} mode); Ctrl-C stops", p.app_id,
               p.server_host, cert_mode ? "certificate" : "key");
  if (Status ran = (*receiver)->Run(); !ran.ok()) {
    spdlog::error("{}", ran.ToString());
    return 1;
  }
  for (const ConnectionStats& s : (*receiver)->Connections()) {
    spdlog::info("app {}: received {}, new {}, duplicates {}, signature failures {}, acks {} ok / {} fail, reconnects {}",
                 s.app_id, s.received, s.stored_new, s.duplicates, s.signature_failures,
                 s.acks_success, s.acks_fail, s.reconnects);
  }
  return 0;
}
