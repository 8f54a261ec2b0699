// Replays the official Java client's requests from vectors/java-sdk/wire/*.log against the
// simulator, byte for byte, and compares the simulator's frames with those the recorded server sent.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "alipaymsg/clock.h"
#include "sim_harness.h"

namespace alipaymsg::simtest {
namespace {

namespace json = boost::json;

struct Event {
  std::string tag;                 // HTTP-REQUEST, REGISTER-RESPONSE, SEND CONSUME, RECV TEXT, ...
  std::vector<std::string> lines;  // the block's lines (LF split)
};

std::vector<Event> ReadLog(const std::string& path) {
  std::vector<Event> events;
  std::istringstream in(testing::ReadFileOrFail(path));
  std::string line;
  std::regex head(R"(^=== \d\d:\d\d:\d\d (.*)$)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();  // the log keeps the wire's CRLFs
    if (std::regex_match(line, m, head)) {
      events.push_back(Event{m[1], {}});
    } else if (!events.empty()) {
      events.back().lines.push_back(line);
    }
  }
  return events;
}

// A logged frame: header lines, an empty line, the JSON line. Rebuilt with CRLFs.
std::string FrameOf(const Event& e) {
  std::string out;
  size_t i = 0;
  for (; i < e.lines.size() && !e.lines[i].empty(); ++i) out += e.lines[i] + "\r\n";
  out += "\r\n";
  if (i + 1 < e.lines.size()) out += e.lines[i + 1];
  return out;
}


std::string Param(const std::string& target, const std::string& name) {
  std::smatch m;
  std::regex re("[?&]" + name + "=([^&]*)");
  return std::regex_search(target, m, re) ? std::string(m[1]) : "";
}

struct Case {
  const char* log;
  bool cert_mode;
  bool recorded_sign_is_bad;  // the recording server signed wrongly on purpose
};

class ReplayTest : public ::testing::TestWithParam<Case> {};

TEST_P(ReplayTest, JavaClientRequestsAreAcceptedAndAnswersMatch) {
  const Case c = GetParam();
  auto events = ReadLog(testing::VectorPath(std::string("java-sdk/wire/") + c.log));
  ASSERT_FALSE(events.empty());
  // Time stands still at the recording's first CONSUME: the recorded timestamps are in the past
  // (or future) of this machine, and a CONSUME's x-timestamp is the server's clock.
  int64_t first_consume_ts = 0;
  for (const auto& e : events) {
    if (e.tag == "SEND CONSUME" && first_consume_ts == 0) {
      std::smatch m;
      std::string f = FrameOf(e);
      ASSERT_TRUE(std::regex_search(f, m, std::regex(R"re("x-timestamp":"(\d+)")re")));
      first_consume_ts = std::stoll(m[1]);
    }
  }
  ASSERT_NE(first_consume_ts, 0);
  auto clock = std::make_shared<ManualClock>(first_consume_ts);
  sim::SimulatorOptions o;
  o.clock = clock;
  o.alipay_private_key = Keys("alipay.private.pkcs8.b64");
  if (c.cert_mode) {
    o.alipay_cert = Keys("alipay.crt");
    o.root_cert = Keys("root.crt");
    o.apps = {{"2021000000000001", Keys("app.crt")}};
  } else {
    o.apps = {{"2021000000000001", Keys("app.public.spki.b64")}};
  }
  auto started = sim::Simulator::Start(o);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  std::unique_ptr<sim::Simulator> sim = std::move(started).value();
  Endpoint main{"127.0.0.1", sim->port(), ""};
  Admin admin{Endpoint{"127.0.0.1", sim->admin_port(), ""}};
  auto alipay_public = PublicKey::FromFile(Keys("alipay.public.spki.b64"));
  ASSERT_TRUE(alipay_public.ok());

  std::unique_ptr<WsClient> ws;
  std::string recorded_register_body;
  for (const auto& e : events) {
    if (e.tag == "REGISTER-RESPONSE") recorded_register_body = e.lines.back();
  }
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    if (e.tag == "HTTP-REQUEST") {
      std::smatch m;
      ASSERT_TRUE(std::regex_match(e.lines[0], m, std::regex(R"(GET (\S+) HTTP/1.1)"))) << e.lines[0];
      std::string target = m[1];
      std::string query = target.substr(target.find('?') + 1);
      if (target.starts_with("/websocket/register.do?")) {
        RegisterReply reg = Register(main, query);  // the recorded query, verbatim
        ASSERT_EQ(reg.code, "10000") << reg.http.body;
        EXPECT_TRUE(Verify(*alipay_public, SignType::kRsa2, reg.response_text, reg.sign).ok());
        // Same shape as the recorded server's answer (the token and so the signature differ).
        std::regex token(R"("link_token":"[0-9a-f]{32}")"), sign(R"("sign":"[^"]+")");
        auto shape = [&](const std::string& body) {
          return std::regex_replace(std::regex_replace(body, token, "\"link_token\":\"T\""), sign, "\"sign\":\"S\"");
        };
        EXPECT_EQ(shape(reg.http.body), shape(recorded_register_body));
        EXPECT_EQ(reg.http.Header("set-cookie"), "zone=GZ00B; Path=/");
      } else {
        ASSERT_TRUE(target.starts_with("/websocket?")) << target;
        // The recorded client presents the recorded server's token: seed it, then connect verbatim.
        std::string link_token = Param(target, "link_token");
        admin.Post("/link_tokens", R"({"app_id":"2021000000000001","link_token":")" + link_token + "\"}");
        std::string zone;
        for (const auto& l : e.lines) {
          if (l.starts_with("cookie: zone=")) zone = l.substr(13, l.find(';') - 13);
        }
        auto r = ConnectWs(main, query, zone);
        ASSERT_TRUE(r.client) << r.http_status << " " << r.body;
        ws = std::move(r.client);
      }
    } else if (e.tag == "SEND CONSUME") {
      ASSERT_TRUE(ws);
      std::string recorded = FrameOf(e);
      WireFrame rec;
      ASSERT_TRUE(SplitFrame(recorded, &rec));
      clock->Set(std::stoll(rec.protocol["x-timestamp"]));
      // The same message, posted with its recorded id and exact content text.
      size_t content = rec.data_text.find("\"content\":");
      std::string content_text = rec.data_text.substr(content + 10, rec.data_text.size() - 1 - (content + 10));
      json::object body{{"app_id", "2021000000000001"},
                        {"msg_api", "alipay.merchant.order.sync"},
                        {"msg_id", rec.protocol["x-msgId"]},
                        {"content_raw", content_text}};
      admin.Post("/messages", json::serialize(body));
      auto ours = ws->NextText();
      ASSERT_TRUE(ours);
      if (c.recorded_sign_is_bad) {
        WireFrame mine;
        ASSERT_TRUE(SplitFrame(*ours, &mine));
        EXPECT_TRUE(Verify(*alipay_public, SignType::kRsa2, mine.data_text, mine.protocol["x-sign"]).ok());
        EXPECT_EQ(std::regex_replace(*ours, std::regex(R"("x-sign":"[^"]+")"), ""),
                  std::regex_replace(recorded, std::regex(R"("x-sign":"[^"]+")"), ""));
      } else {
        EXPECT_EQ(*ours, recorded);  // byte for byte, signature included (RSA PKCS#1 v1.5 is deterministic)
      }
    } else if (e.tag == "RECV TEXT") {
      ASSERT_TRUE(ws);
      std::string frame = FrameOf(e);
      ws->Send(frame);  // the client's ack or PRODUCE, verbatim
      WireFrame sent;
      ASSERT_TRUE(SplitFrame(frame, &sent));
      if (sent.protocol["x-cmd"] == "CONSUME_ACK") {
        std::string want = sent.protocol["x-status"] == "SUCCESS" ? "acked" : "failed";
        admin.WaitMessage(sent.protocol["x-msgId"], [&](const json::value& v) { return State(v) == want; });
      } else if (sent.protocol["x-cmd"] == "PRODUCE") {
        auto ack = ws->NextText();
        ASSERT_TRUE(ack);
        // The recorded PRODUCE_ACK follows; ours must match it but for the msg id.
        std::string recorded_ack;
        for (size_t j = i + 1; j < events.size(); ++j) {
          if (events[j].tag == "SEND PRODUCE_ACK") {
            recorded_ack = FrameOf(events[j]);
            break;
          }
        }
        std::regex id(R"("x-msgId":"[^"]+")");
        EXPECT_EQ(std::regex_replace(*ack, id, "ID"), std::regex_replace(recorded_ack, id, "ID")) << *ack;
      }
    }
  }
  ASSERT_TRUE(ws);
  ws->Close();
  json::value stats = admin.Get("/stats");
  EXPECT_EQ(stats.at("registers").to_number<uint64_t>(), 1u);
  EXPECT_EQ(stats.at("connections_rejected").to_number<uint64_t>(), 0u);
  EXPECT_EQ(stats.at("malformed_received").to_number<uint64_t>(), 0u);
  sim->Stop();
}

INSTANTIATE_TEST_SUITE_P(Transcripts, ReplayTest,
                         ::testing::Values(Case{"key_mode_session.log", false, false},
                                           Case{"cert_mode_session_with_fail_ack.log", true, false},
                                           Case{"bad_signature_session.log", false, true}),
                         [](const auto& info) {
                           std::string n = info.param.log;
                           return n.substr(0, n.find('.'));
                         });

}  // namespace
}  // namespace alipaymsg::simtest
