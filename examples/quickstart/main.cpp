// Receives one msgApi for one app (configured by ALIPAY_* variables: see ReceiverOptions::FromEnvironment)
// and prints each message once, until Ctrl-C.
#include <cstdio>

#include <alipaymsg/receiver.h>

int main() {
  auto receiver = alipaymsg::Receiver::Open(alipaymsg::ReceiverOptions::FromEnvironment());
  if (!receiver.ok()) return std::fprintf(stderr, "%s\n", receiver.status().ToString().c_str()), 2;
  (*receiver)->On("alipay.open.mini.version.audit.passed", [](alipaymsg::MessageView& m) {
    std::printf("%s %s\n", m.msg_id().c_str(), m.biz_content().c_str());
    return alipaymsg::HandlerOutcome::Done();
  });
  return (*receiver)->Run().ok() ? 0 : 1;
}
