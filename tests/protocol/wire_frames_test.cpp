// The Java client's real traffic (vectors/java-sdk/wire/*.log), without signatures: every frame the
// server sent parses, every CONSUME_ACK the client wrote is rebuilt byte for byte, every register
// response and its zone cookie parse, sign content matches what the server computed.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>

#include "alipaymsg/params.h"
#include "protocol/frame.h"
#include "protocol/register.h"
#include "protocol/transcript.h"
#include "testing/test_paths.h"

namespace alipaymsg {
namespace {

using testing::HttpMessage;
using testing::ParseHttpMessage;
using testing::ParseTranscript;
using testing::ReadFileOrFail;
using testing::RequestPath;
using testing::RequestQuery;
using testing::TranscriptEntry;
using testing::VectorPath;

class WireFramesTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    const std::string log = ReadFileOrFail(VectorPath(GetParam()));
    ASSERT_FALSE(log.empty());
    entries_ = ParseTranscript(log);
    ASSERT_GT(entries_.size(), 5u);
  }
  std::vector<TranscriptEntry> entries_;
};

TEST_P(WireFramesTest, EveryConsumeParsesAndEveryAckIsRebuiltExactly) {
  std::map<std::string, Frame> consumes;  // by x-msgId
  int acks = 0;
  for (const auto& e : entries_) {
    if (e.what == "SEND CONSUME") {
      auto f = ParseFrame(e.body);
      ASSERT_TRUE(f.ok()) << f.status().ToString() << "\n" << e.body;
      EXPECT_EQ(f->protocol.cmd, kCmdConsume);
      EXPECT_EQ(f->protocol.type, "message");
      EXPECT_TRUE(f->has_stream_id);
      EXPECT_EQ(f->header.from_sys, "openchannel");
      EXPECT_EQ(f->header.from_sys_ip, "10.0.0.1");
      EXPECT_EQ(f->msg_api, "alipay.merchant.order.sync");
      EXPECT_EQ(f->app_id, "2021000000000001");
      ASSERT_TRUE(f->content.has_value());
      // The exact wire text of data.content, escapes and all.
      const std::size_t at = e.body.find("\"content\":");
      ASSERT_NE(at, std::string::npos);
      EXPECT_EQ(*f->content, e.body.substr(at + 10, e.body.size() - at - 10 - 2));
      EXPECT_EQ(f->signed_data, e.body.substr(e.body.find("\"data\":") + 7,
                                              e.body.size() - e.body.find("\"data\":") - 8));
      consumes.emplace(f->protocol.msg_id, *f);
    } else if (e.what == "RECV TEXT") {
      auto f = ParseFrame(e.body);
      ASSERT_TRUE(f.ok()) << f.status().ToString() << "\n" << e.body;
      if (f->protocol.cmd != kCmdConsumeAck) continue;
      ++acks;
      auto it = consumes.find(f->protocol.msg_id);
      ASSERT_NE(it, consumes.end()) << "ack for an unknown message " << f->protocol.msg_id;
      const bool success = f->protocol.status == "SUCCESS";
      EXPECT_TRUE(success || f->protocol.status == "FAIL");
      EXPECT_EQ(BuildConsumeAck(it->second, success), e.body);
    }
  }
  EXPECT_GT(acks, 0);
  EXPECT_EQ(static_cast<std::size_t>(acks), consumes.size());
}

TEST_P(WireFramesTest, ProduceFramesAndTheirAcks) {
  std::map<std::string, Frame> produces;  // by stream-id
  for (const auto& e : entries_) {
    if (e.what == "RECV TEXT") {
      auto f = ParseFrame(e.body);
      ASSERT_TRUE(f.ok()) << f.status().ToString();
      if (f->protocol.cmd != kCmdProduce) continue;
      // No from-sys lines, no x-msgId; the data part is the SDK's concatenation.
      EXPECT_TRUE(f->header.from_sys.empty());
      EXPECT_TRUE(f->protocol.msg_id.empty());
      EXPECT_EQ(f->header.stream_id.size(), 14u);
      EXPECT_EQ(f->header.stream_id[0], 'c');
      ASSERT_TRUE(f->content.has_value());
      EXPECT_EQ(BuildDataPart(f->app_id, f->msg_api, f->app_cert_sn, f->alipay_root_cert_sn,
                              *f->content),
                f->signed_data);
      EXPECT_EQ(SerializeFrame(f->header, f->protocol, f->signed_data), e.body);
      produces.emplace(f->header.stream_id, *f);
    } else if (e.what == "PRODUCE sign_ok=True") {
      bool found = false;
      for (const auto& [id, f] : produces) found = found || f.signed_data == e.body;
      EXPECT_TRUE(found) << "server-verified data part not among the parsed PRODUCEs";
    } else if (e.what == "SEND PRODUCE_ACK") {
      auto f = ParseFrame(e.body);
      ASSERT_TRUE(f.ok()) << f.status().ToString();
      EXPECT_EQ(f->protocol.cmd, kCmdProduceAck);
      EXPECT_EQ(f->protocol.status, "SUCCESS");
      EXPECT_EQ(f->protocol.code, "10000");
      EXPECT_EQ(produces.count(f->header.stream_id), 1u) << f->header.stream_id;
    }
  }
}

TEST_P(WireFramesTest, RegisterRequestsResponsesAndConnect) {
  std::string register_query;
  std::string link_token;
  int responses = 0;
  int connects = 0;
  for (const auto& e : entries_) {
    if (e.what == "HTTP-REQUEST") {
      const HttpMessage req = ParseHttpMessage(e.body);
      const std::string query = RequestQuery(req.start_line);
      auto params = FormDecode(query);
      ASSERT_TRUE(params.ok()) << params.status().ToString();
      if (RequestPath(req.start_line) == "/websocket/register.do") {
        register_query = query;
        EXPECT_NE(FindParam(*params, "nonce"), nullptr);
      } else {
        ASSERT_EQ(RequestPath(req.start_line), "/websocket");
        ++connects;
        ASSERT_NE(FindParam(*params, "link_token"), nullptr);
        EXPECT_EQ(*FindParam(*params, "link_token"), link_token);
        EXPECT_EQ(FindParam(*params, "nonce"), nullptr);
        // The client sends the zone it got as "cookie: zone=<zone>;".
        bool cookie = false;
        for (const auto& [n, v] : req.headers) cookie = cookie || (n == "cookie" && v == "zone=GZ00B;");
        EXPECT_TRUE(cookie);
      }
    } else if (e.what == "REGISTER sign_ok=True content") {
      auto params = FormDecode(register_query);
      ASSERT_TRUE(params.ok());
      EXPECT_EQ(SignContentV2(*params), e.body);
    } else if (e.what == "REGISTER-RESPONSE") {
      ++responses;
      const HttpMessage resp = ParseHttpMessage(e.body);
      EXPECT_EQ(resp.start_line, "HTTP/1.1 200 OK");
      for (const auto& [name, value] : resp.headers) {
        if (name == "Content-Length") {
          EXPECT_EQ(std::to_string(resp.body.size()), value);
        }
        if (name == "Set-Cookie") {
          auto zone = ParseZoneCookie(value);
          ASSERT_TRUE(zone.ok());
          EXPECT_EQ(zone->value_or(""), "GZ00B");
        }
      }
      auto r = ParseRegisterResponse(resp.body);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_TRUE(r->success());
      EXPECT_EQ(r->code, "10000");
      EXPECT_EQ(r->msg, "Success");
      EXPECT_EQ(r->link_token.size(), 32u);
      EXPECT_EQ(r->sign.size(), 344u);  // 2048-bit signature in base64
      EXPECT_EQ(resp.body, BuildRegisterResponseBody(r->signed_text, r->sign, r->alipay_cert_sn));
      const bool cert_mode = register_query.find("app_cert_sn=") != std::string::npos;
      EXPECT_EQ(r->alipay_cert_sn.has_value(), cert_mode);
      if (cert_mode) {
        EXPECT_EQ(*r->alipay_cert_sn, "8bebf7fbd7acd128d485952d3ecb123a");
      }
      link_token = r->link_token;
    } else if (e.what == "WS-CONNECT sign_ok=True params") {
      boost::system::error_code ec;
      const auto v = boost::json::parse(e.body, ec);
      ASSERT_FALSE(ec);
      EXPECT_EQ(std::string(v.at("link_token").as_string()), link_token);
    }
  }
  EXPECT_EQ(responses, 1);
  EXPECT_EQ(connects, 1);
}

INSTANTIATE_TEST_SUITE_P(Transcripts, WireFramesTest, ::testing::ValuesIn(testing::kTranscripts));

}  // namespace
}  // namespace alipaymsg
