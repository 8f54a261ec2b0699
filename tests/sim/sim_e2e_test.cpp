// The simulator in-process on ephemeral ports, driven by the independent wire client.
#include <gtest/gtest.h>

#include <regex>

#include "alipaymsg/clock.h"
#include "sim/keygen.h"
#include "sim_harness.h"

namespace alipaymsg::simtest {
namespace {

namespace json = boost::json;
using sim::SimulatorOptions;

constexpr const char* kKeyApp = "2021000000000001";
constexpr const char* kCertApp = "2021000000000002";

class SimTest : public ::testing::Test {
 protected:
  void SetUp() override { keys_ = std::make_unique<VectorKeys>(VectorKeys::Load()); }
  void TearDown() override {
    if (sim_) sim_->Stop();
  }

  SimulatorOptions BaseOptions() {
    SimulatorOptions o;
    o.alipay_private_key = Keys("alipay.private.pkcs8.b64");
    o.alipay_cert = Keys("alipay.crt");
    o.root_cert = Keys("root.crt");
    o.apps = {{kKeyApp, Keys("app.public.spki.b64")}, {kCertApp, Keys("app.crt")}};
    o.schedule = sim::RedeliverySchedule({0, 200, 200});
    return o;
  }

  void Start(SimulatorOptions options) {
    auto s = sim::Simulator::Start(std::move(options));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    sim_ = std::move(s).value();
    main_.port = sim_->port();
    admin_.where.port = sim_->admin_port();
  }

  TestApp KeyApp() { return TestApp{kKeyApp, &keys_->app_private}; }
  TestApp CertApp() { return TestApp{kCertApp, &keys_->app_private, kAppCertSn, kRootCertSn}; }

  int64_t Now() const { return clock_ ? clock_->NowMs() : WallMs(); }

  // register.do + /websocket, both checked.
  std::unique_ptr<WsClient> Online(const TestApp& app) {
    RegisterReply reg = Register(main_, SignedQuery(RegisterParams(app, Now()), *app.key));
    EXPECT_EQ(reg.code, "10000") << reg.http.body;
    const uint64_t before = admin_.Get("/stats").at("connections_total").to_number<uint64_t>();
    auto ws = ConnectWs(main_, SignedQuery(ConnectParams(app, reg.link_token, Now()), *app.key), reg.zone);
    EXPECT_TRUE(ws.client) << ws.http_status << " " << ws.body << " " << ws.error;
    // The 101 reaches the client before the server's session has joined the hub: online means both.
    if (ws.client) {
      admin_.WaitStats([&](const json::value& st) {
        return st.at("connections_total").to_number<uint64_t>() > before;
      });
    }
    return std::move(ws.client);
  }

  WireFrame NextConsume(WsClient& ws) {
    WireFrame f;
    auto text = ws.NextText();
    EXPECT_TRUE(text.has_value()) << "no CONSUME arrived";
    if (!text) return f;
    EXPECT_TRUE(SplitFrame(*text, &f)) << *text;
    EXPECT_EQ(f.protocol["x-cmd"], "CONSUME") << *text;
    return f;
  }

  std::unique_ptr<VectorKeys> keys_;
  std::shared_ptr<ManualClock> clock_;
  std::unique_ptr<sim::Simulator> sim_;
  Endpoint main_;
  Admin admin_;
};

TEST_F(SimTest, KeyModeRegisterConnectConsumeAckSuccess) {
  Start(BaseOptions());
  TestApp app = KeyApp();
  RegisterReply reg = Register(main_, SignedQuery(RegisterParams(app, WallMs()), *app.key));
  ASSERT_EQ(reg.http.status, 200) << reg.http.error;
  // §5.2 canonical shape; key mode: no alipay_cert_sn anywhere.
  EXPECT_TRUE(std::regex_match(reg.http.body, std::regex(R"(\{"response":\{"code":"10000","msg":"Success","link_token":"[0-9a-f]{32}"\},"sign":"[A-Za-z0-9+/=]+"\})")))
      << reg.http.body;
  EXPECT_EQ(reg.http.body.find("alipay_cert_sn"), std::string::npos);
  EXPECT_TRUE(Verify(keys_->alipay_public, SignType::kRsa2, reg.response_text, reg.sign).ok()) << reg.response_text;
  EXPECT_EQ(reg.http.Header("set-cookie"), "zone=GZ00B; Path=/");
  EXPECT_EQ(reg.zone, "GZ00B");

  auto ws = ConnectWs(main_, SignedQuery(ConnectParams(app, reg.link_token, WallMs()), *app.key), reg.zone);
  ASSERT_TRUE(ws.client) << ws.http_status << " " << ws.body;

  std::string id = admin_.AddMessage(kKeyApp, R"({"shop_id":"shop/1","note":"中文 {brace} \"q\"","n":1})");
  ASSERT_FALSE(id.empty());
  WireFrame f = NextConsume(*ws.client);
  // §9 / §14.1: header lines in order, x-* members in order, x-timestamp a digit string.
  ASSERT_EQ(f.header_lines.size(), 3u);
  EXPECT_EQ(f.header_lines[0], (std::pair<std::string, std::string>{"from-sys", "openchannel"}));
  EXPECT_EQ(f.header_lines[1], (std::pair<std::string, std::string>{"from-sys-ip", "10.0.0.1"}));
  EXPECT_EQ(f.header_lines[2].first, "stream-id");
  EXPECT_EQ(f.protocol_order, (std::vector<std::string>{"x-type", "x-cmd", "x-msgId", "x-timestamp", "x-version", "x-charset",
                                                         "x-signType", "x-sign"}));
  EXPECT_EQ(f.protocol["x-msgId"], id);
  EXPECT_TRUE(std::regex_match(f.protocol["x-timestamp"], std::regex("[0-9]{13}")));
  EXPECT_EQ(f.protocol["x-charset"], "UTF-8");
  EXPECT_EQ(f.protocol["x-signType"], "RSA2");
  EXPECT_EQ(f.data_text,
            std::string(R"({"header":{"appId":"2021000000000001","msgApi":"alipay.merchant.order.sync"},"content":{"shop_id":"shop/1","note":"中文 {brace} \"q\"","n":1}})"));
  EXPECT_TRUE(Verify(keys_->alipay_public, SignType::kRsa2, f.data_text, f.protocol["x-sign"]).ok());

  ws.client->Send(ConsumeAck(f, "SUCCESS"));
  json::value m = admin_.WaitMessage(id, [](const json::value& v) { return State(v) == "acked"; });
  EXPECT_EQ(m.at("deliveries").as_array().size(), 1u);
  EXPECT_EQ(m.at("acks").at(0).at("status").as_string(), "SUCCESS");
  json::value stats = admin_.Get("/stats");
  EXPECT_EQ(stats.at("connections").to_number<uint64_t>(), 1u);
  EXPECT_EQ(stats.at("registers").to_number<uint64_t>(), 1u);
  EXPECT_EQ(stats.at("delivered").to_number<uint64_t>(), 1u);
  EXPECT_EQ(stats.at("acked").at("SUCCESS").to_number<uint64_t>(), 1u);
  // A PING is answered with a PONG.
  int pongs = ws.client->pongs();
  ws.client->Ping();
  EXPECT_TRUE(ws.client->WaitPong(pongs, 10000));
  ws.client->Close();
}

TEST_F(SimTest, CertModeRegisterEndsWithAlipayCertSnAndConsumes) {
  Start(BaseOptions());
  TestApp app = CertApp();
  RegisterReply reg = Register(main_, SignedQuery(RegisterParams(app, WallMs()), *app.key));
  ASSERT_EQ(reg.code, "10000") << reg.http.body;
  EXPECT_TRUE(reg.http.body.ends_with(std::string(R"(,"alipay_cert_sn":")") + kAlipayCertSn + "\"}")) << reg.http.body;
  EXPECT_EQ(reg.alipay_cert_sn, std::string(kAlipayCertSn));
  EXPECT_TRUE(Verify(keys_->alipay_public, SignType::kRsa2, reg.response_text, reg.sign).ok());
  auto ws = ConnectWs(main_, SignedQuery(ConnectParams(app, reg.link_token, WallMs()), *app.key), reg.zone);
  ASSERT_TRUE(ws.client) << ws.body;
  std::string id = admin_.AddMessage(kCertApp);
  WireFrame f = NextConsume(*ws.client);
  EXPECT_EQ(f.protocol["x-msgId"], id);
  EXPECT_TRUE(Verify(keys_->alipay_public, SignType::kRsa2, f.data_text, f.protocol["x-sign"]).ok());
  ws.client->Send(ConsumeAck(f, "SUCCESS"));
  admin_.WaitMessage(id, [](const json::value& v) { return State(v) == "acked"; });
}

TEST_F(SimTest, RegisterErrorsAnswerTheAlipayWay) {
  Start(BaseOptions());
  TestApp app = KeyApp();
  // Bad signature: the sub_msg shows the content the server verified.
  auto params = RegisterParams(app, WallMs());
  std::string query = SignedQuery(params, *app.key);
  params["nonce"] = "ffffffffffffffffffffffffffffffff";  // signed one nonce, send another
  std::string tampered = std::regex_replace(query, std::regex("nonce=[0-9a-f]+"), "nonce=ffffffffffffffffffffffffffffffff");
  RegisterReply bad = Register(main_, tampered);
  EXPECT_EQ(bad.http.status, 200);
  EXPECT_EQ(bad.code, "40002");
  EXPECT_EQ(bad.sub_code, "isv.invalid-signature");
  EXPECT_NE(bad.sub_msg.find(SignContent(params)), std::string::npos) << bad.sub_msg;
  EXPECT_EQ(bad.link_token, "");
  EXPECT_TRUE(Verify(keys_->alipay_public, SignType::kRsa2, bad.response_text, bad.sign).ok());  // errors are signed too

  auto p = RegisterParams(app, WallMs());
  p.erase("timestamp");
  EXPECT_EQ(Register(main_, SignedQuery(p, *app.key)).sub_code, "isv.missing-timestamp");
  EXPECT_EQ(Register(main_, SignedQuery(RegisterParams(app, WallMs() - 3600 * 1000), *app.key)).sub_code, "isv.invalid-timestamp");
  TestApp stranger{"2021999999999999", app.key};
  RegisterReply unknown = Register(main_, SignedQuery(RegisterParams(stranger, WallMs()), *app.key));
  EXPECT_EQ(unknown.code, "40002");
  EXPECT_EQ(unknown.sub_code, "isv.invalid-app-id");
  // Cert mode: wrong app_cert_sn, unknown root, cert app without SNs, key app with SNs.
  TestApp wrong_sn = CertApp();
  wrong_sn.app_cert_sn = "00000000000000000000000000000000";
  EXPECT_EQ(Register(main_, SignedQuery(RegisterParams(wrong_sn, WallMs()), *app.key)).sub_code, "isv.invalid-app-cert-sn");
  TestApp wrong_root = CertApp();
  wrong_root.alipay_root_cert_sn = "11111111111111111111111111111111";
  RegisterReply root = Register(main_, SignedQuery(RegisterParams(wrong_root, WallMs()), *app.key));
  EXPECT_EQ(root.sub_code, "isv.invalid-alipay-root-cert-sn");
  EXPECT_EQ(root.alipay_cert_sn, std::string(kAlipayCertSn));  // cert client: still last member
  TestApp no_sn{kCertApp, app.key};
  EXPECT_EQ(Register(main_, SignedQuery(RegisterParams(no_sn, WallMs()), *app.key)).sub_code, "isv.missing-app-cert-sn");
  TestApp key_with_sn = CertApp();
  key_with_sn.app_id = kKeyApp;
  EXPECT_EQ(Register(main_, SignedQuery(RegisterParams(key_with_sn, WallMs()), *app.key)).sub_code, "isv.invalid-app-cert-sn");
  json::value stats = admin_.Get("/stats");
  EXPECT_EQ(stats.at("registers").to_number<uint64_t>(), 0u);
  EXPECT_EQ(stats.at("register_errors").to_number<uint64_t>(), 8u);
}

TEST_F(SimTest, ConnectChecksSignatureTokenAndZone) {
  Start(BaseOptions());
  TestApp app = KeyApp();
  RegisterReply reg = Register(main_, SignedQuery(RegisterParams(app, WallMs()), *app.key));
  ASSERT_EQ(reg.code, "10000");
  // Bad signature (signed with the wrong timestamp): refused, and the token is not used up.
  std::string good = SignedQuery(ConnectParams(app, reg.link_token, WallMs()), *app.key);
  std::string bad = std::regex_replace(good, std::regex("timestamp=([0-9]+)"), "timestamp=1$1");
  bad = SignedQuery(ConnectParams(app, reg.link_token, WallMs()), *app.key);
  bad = std::regex_replace(bad, std::regex("sdk_version=[^&]+"), "sdk_version=tampered");
  auto refused = ConnectWs(main_, bad, reg.zone);
  EXPECT_FALSE(refused.client);
  EXPECT_EQ(refused.http_status, 403);
  EXPECT_NE(refused.body.find("isv.invalid-signature"), std::string::npos) << refused.body;
  // No zone cookie: refused (and the token is spent: single use).
  auto no_zone = ConnectWs(main_, good, "");
  EXPECT_FALSE(no_zone.client);
  EXPECT_NE(no_zone.body.find("isv.invalid-zone"), std::string::npos) << no_zone.body;
  auto reused = ConnectWs(main_, SignedQuery(ConnectParams(app, reg.link_token, WallMs()), *app.key), reg.zone);
  EXPECT_FALSE(reused.client);
  EXPECT_NE(reused.body.find("isv.link-token-used"), std::string::npos) << reused.body;
  // A fresh token works once, then never again.
  RegisterReply reg2 = Register(main_, SignedQuery(RegisterParams(app, WallMs()), *app.key));
  auto ok = ConnectWs(main_, SignedQuery(ConnectParams(app, reg2.link_token, WallMs()), *app.key), reg2.zone);
  ASSERT_TRUE(ok.client) << ok.body;
  auto again = ConnectWs(main_, SignedQuery(ConnectParams(app, reg2.link_token, WallMs()), *app.key), reg2.zone);
  EXPECT_FALSE(again.client);
  EXPECT_NE(again.body.find("isv.link-token-used"), std::string::npos) << again.body;
  auto never = ConnectWs(main_, SignedQuery(ConnectParams(app, "0123456789abcdef0123456789abcdef", WallMs()), *app.key), "GZ00B");
  EXPECT_NE(never.body.find("isv.invalid-link-token"), std::string::npos) << never.body;
  EXPECT_EQ(admin_.Get("/stats").at("connections_rejected").to_number<uint64_t>(), 5u);
}

TEST_F(SimTest, LinkTokenExpires) {
  clock_ = std::make_shared<ManualClock>(WallMs());
  SimulatorOptions o = BaseOptions();
  o.clock = clock_;
  o.link_token_ttl_ms = 30000;
  Start(o);
  TestApp app = KeyApp();
  RegisterReply reg = Register(main_, SignedQuery(RegisterParams(app, Now()), *app.key));
  ASSERT_EQ(reg.code, "10000");
  clock_->Advance(30001);
  auto late = ConnectWs(main_, SignedQuery(ConnectParams(app, reg.link_token, Now()), *app.key), reg.zone);
  EXPECT_FALSE(late.client);
  EXPECT_NE(late.body.find("isv.link-token-expired"), std::string::npos) << late.body;
}

TEST_F(SimTest, FailIsRedeliveredThenSuccessStopsIt) {
  Start(BaseOptions());
  auto ws = Online(KeyApp());
  ASSERT_TRUE(ws);
  std::string id = admin_.AddMessage(kKeyApp);
  WireFrame first = NextConsume(*ws);
  ws->Send(ConsumeAck(first, "FAIL"));
  WireFrame second = NextConsume(*ws);
  EXPECT_EQ(second.protocol["x-msgId"], id);
  EXPECT_NE(second.Header("stream-id"), first.Header("stream-id"));
  EXPECT_EQ(second.protocol["x-sign"], first.protocol["x-sign"]);  // same data, signed once
  ws->Send(ConsumeAck(second, "SUCCESS"));
  json::value m = admin_.WaitMessage(id, [](const json::value& v) { return State(v) == "acked"; });
  EXPECT_EQ(m.at("deliveries").as_array().size(), 2u);
  EXPECT_EQ(m.at("acks").at(0).at("status").as_string(), "FAIL");
  EXPECT_EQ(admin_.Get("/stats").at("redelivered").to_number<uint64_t>(), 1u);
}

TEST_F(SimTest, NoAckIsRedeliveredAndFinallyGivenUp) {
  Start(BaseOptions());  // 3 deliveries, 200 ms apart
  auto ws = Online(KeyApp());
  ASSERT_TRUE(ws);
  std::string id = admin_.AddMessage(kKeyApp);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(NextConsume(*ws).protocol["x-msgId"], id) << "delivery " << i + 1;
  json::value m = admin_.WaitMessage(id, [](const json::value& v) { return State(v) == "given_up"; });
  EXPECT_EQ(m.at("deliveries").as_array().size(), 3u);
  EXPECT_EQ(admin_.Get("/stats").at("given_up").to_number<uint64_t>(), 1u);
}

TEST_F(SimTest, FailOnEveryDeliveryIsGivenUpAfterTheSchedule) {
  Start(BaseOptions());
  auto ws = Online(KeyApp());
  ASSERT_TRUE(ws);
  std::string id = admin_.AddMessage(kKeyApp);
  for (int i = 0; i < 3; ++i) {
    WireFrame f = NextConsume(*ws);
    EXPECT_EQ(f.protocol["x-msgId"], id);
    ws->Send(ConsumeAck(f, "FAIL"));
  }
  json::value m = admin_.WaitMessage(id, [](const json::value& v) { return State(v) == "given_up"; });
  EXPECT_EQ(m.at("acks").as_array().size(), 3u);
}

TEST_F(SimTest, ConnectionDropRedeliversToTheNextConnection) {
  Start(BaseOptions());
  auto first = Online(KeyApp());
  ASSERT_TRUE(first);
  std::string id = admin_.AddMessage(kKeyApp);
  WireFrame f = NextConsume(*first);
  EXPECT_EQ(f.protocol["x-msgId"], id);
  first->Close();  // no ack
  admin_.WaitStats([](const json::value& s) { return s.at("connections").to_number<uint64_t>() == 0; });
  auto second = Online(KeyApp());
  ASSERT_TRUE(second);
  WireFrame g = NextConsume(*second);
  EXPECT_EQ(g.protocol["x-msgId"], id);
  second->Send(ConsumeAck(g, "SUCCESS"));
  json::value m = admin_.WaitMessage(id, [](const json::value& v) { return State(v) == "acked"; });
  auto& d = m.at("deliveries").as_array();
  ASSERT_EQ(d.size(), 2u);
  EXPECT_NE(d[0].at("connection").to_number<uint64_t>(), d[1].at("connection").to_number<uint64_t>());
}

TEST_F(SimTest, ConnectionsOfOneAppShareItsMessages) {
  SimulatorOptions o = BaseOptions();
  o.schedule = sim::RedeliverySchedule({0, 60000});  // no redelivery while the test reads one connection after the other
  Start(o);
  auto a = Online(KeyApp());
  auto b = Online(KeyApp());
  ASSERT_TRUE(a && b);
  json::value batch = admin_.Post("/messages/batch", R"({"count":20,"app_id":"2021000000000001","msg_api":"x.y","content":{"k":"v"}})");
  ASSERT_EQ(batch.at("count").to_number<uint64_t>(), 20u);
  std::set<std::string> seen;
  int from_a = 0, from_b = 0;
  for (auto* ws : {a.get(), b.get()}) {
    while (auto text = ws->NextText(1000)) {
      WireFrame f;
      ASSERT_TRUE(SplitFrame(*text, &f));
      EXPECT_TRUE(seen.insert(f.protocol["x-msgId"]).second) << "delivered twice: " << f.protocol["x-msgId"];
      ws->Send(ConsumeAck(f, "SUCCESS"));
      ++(ws == a.get() ? from_a : from_b);
    }
  }
  EXPECT_EQ(seen.size(), 20u);
  EXPECT_GT(from_a, 0);
  EXPECT_GT(from_b, 0);
  admin_.WaitStats([](const json::value& s) { return s.at("acked_messages").to_number<uint64_t>() == 20; });
}

TEST_F(SimTest, ProduceIsVerifiedAndAnsweredWithItsStreamId) {
  Start(BaseOptions());
  for (TestApp app : {KeyApp(), CertApp()}) {
    auto ws = Online(app);
    ASSERT_TRUE(ws);
    ws->Send(ProduceFrame(app, "c0VcDeymiJH006", WallMs(), "alipay.open.app.openbizmock.message.send", R"({"shop_id":"1001","seq":1})"));
    auto text = ws->NextText();
    ASSERT_TRUE(text);
    WireFrame ack;
    ASSERT_TRUE(SplitFrame(*text, &ack)) << *text;
    EXPECT_EQ(ack.Header("stream-id"), "c0VcDeymiJH006");
    EXPECT_EQ(ack.protocol["x-cmd"], "PRODUCE_ACK");
    EXPECT_EQ(ack.protocol["x-status"], "SUCCESS") << *text;
    EXPECT_EQ(ack.protocol["x-code"], "10000");
    EXPECT_FALSE(ack.protocol["x-msgId"].empty());
    // Tampered content: FAIL, still echoing the stream-id.
    std::string bad = ProduceFrame(app, "c0VcDeymiJH007", WallMs(), "m.api", R"({"seq":2})");
    bad.replace(bad.find("\"seq\":2"), 7, "\"seq\":3");
    ws->Send(bad);
    text = ws->NextText();
    ASSERT_TRUE(text);
    WireFrame fail;
    ASSERT_TRUE(SplitFrame(*text, &fail));
    EXPECT_EQ(fail.Header("stream-id"), "c0VcDeymiJH007");
    EXPECT_EQ(fail.protocol["x-status"], "FAIL");
    ws->Close();
  }
  json::value stats = admin_.Get("/stats");
  EXPECT_EQ(stats.at("produce_received").to_number<uint64_t>(), 4u);
  EXPECT_EQ(stats.at("produce_rejected").to_number<uint64_t>(), 2u);
  json::value produced = admin_.Get("/produced");
  ASSERT_EQ(produced.at("produced").as_array().size(), 4u);
  EXPECT_EQ(produced.at("produced").at(0).at("content").as_string(), R"({"shop_id":"1001","seq":1})");
  EXPECT_TRUE(produced.at("produced").at(0).at("signature_ok").as_bool());
}

// ------------------------------------------------------------------------------------------------
// Faults

TEST_F(SimTest, FaultDropConnections) {
  Start(BaseOptions());
  auto ws = Online(KeyApp());
  ASSERT_TRUE(ws);
  json::value r = admin_.Post("/faults", R"({"kind":"drop_connections"})");
  EXPECT_EQ(r.at("dropped").to_number<uint64_t>(), 1u);
  EXPECT_TRUE(ws->WaitClosed(10000));
  admin_.WaitStats([](const json::value& s) { return s.at("connections").to_number<uint64_t>() == 0; });
  EXPECT_TRUE(Online(KeyApp()));  // and the client can come back
}

TEST_F(SimTest, FaultStopAndResumePong) {
  Start(BaseOptions());
  auto ws = Online(KeyApp());
  ASSERT_TRUE(ws);
  admin_.Post("/faults", R"({"kind":"stop_pong"})");
  int pongs = ws->pongs();
  ws->Ping();
  // Absence of a pong: 1.5 s is plenty on a loopback link that answers in microseconds.
  EXPECT_FALSE(ws->WaitPong(pongs, 1500));
  admin_.WaitStats([](const json::value& s) { return s.at("pings").to_number<uint64_t>() >= 1; });  // it was received
  admin_.Post("/faults", R"({"kind":"resume_pong"})");
  ws->Ping();
  EXPECT_TRUE(ws->WaitPong(pongs, 10000));
  // Messages still flow while pongs are stopped (only the link's liveness is faked dead).
  admin_.Post("/faults", R"({"kind":"stop_pong"})");
  std::string id = admin_.AddMessage(kKeyApp);
  EXPECT_EQ(NextConsume(*ws).protocol["x-msgId"], id);
}

TEST_F(SimTest, FaultMalformedFrame) {
  Start(BaseOptions());
  auto ws = Online(KeyApp());
  ASSERT_TRUE(ws);
  for (const char* variant : {"bad_json", "no_separator", "numeric_timestamp", "unknown_cmd", "no_type"}) {
    json::value r = admin_.Post("/faults", std::string(R"({"kind":"malformed_frame","variant":")") + variant + "\"}");
    EXPECT_EQ(r.at("sent").to_number<uint64_t>(), 1u) << variant;
    auto text = ws->NextText();
    ASSERT_TRUE(text) << variant;
    WireFrame f;
    bool splits = SplitFrame(*text, &f);
    if (std::string(variant) == "bad_json" || std::string(variant) == "no_separator") {
      EXPECT_FALSE(splits) << variant << ": " << *text;
    } else if (std::string(variant) == "numeric_timestamp") {
      EXPECT_EQ(f.protocol["x-timestamp"], "<non-string>");
    } else if (std::string(variant) == "unknown_cmd") {
      EXPECT_EQ(f.protocol["x-cmd"], "FROB");
    } else {
      EXPECT_EQ(f.protocol.count("x-type"), 0u);
    }
  }
  // The connection survives, and garbage from the client is logged and counted, not fatal.
  ws->Send("this is not a frame");
  admin_.WaitStats([](const json::value& s) { return s.at("malformed_received").to_number<uint64_t>() == 1; });
  std::string id = admin_.AddMessage(kKeyApp);
  EXPECT_EQ(NextConsume(*ws).protocol["x-msgId"], id);
}

TEST_F(SimTest, FaultBadSignatureThenGoodOnRedelivery) {
  Start(BaseOptions());
  auto ws = Online(KeyApp());
  ASSERT_TRUE(ws);
  admin_.Post("/faults", R"({"kind":"bad_signature"})");
  std::string id = admin_.AddMessage(kKeyApp);
  WireFrame f = NextConsume(*ws);
  EXPECT_EQ(Verify(keys_->alipay_public, SignType::kRsa2, f.data_text, f.protocol["x-sign"]).code(), StatusCode::kSignatureMismatch);
  ws->Send(ConsumeAck(f, "FAIL"));  // what a strict client does
  WireFrame g = NextConsume(*ws);
  EXPECT_EQ(g.protocol["x-msgId"], id);
  EXPECT_TRUE(Verify(keys_->alipay_public, SignType::kRsa2, g.data_text, g.protocol["x-sign"]).ok());
  ws->Send(ConsumeAck(g, "SUCCESS"));
  json::value m = admin_.WaitMessage(id, [](const json::value& v) { return State(v) == "acked"; });
  EXPECT_TRUE(m.at("deliveries").at(0).at("bad_signature").as_bool());
  EXPECT_FALSE(m.at("deliveries").at(1).at("bad_signature").as_bool());
}

TEST_F(SimTest, FaultDuplicate) {
  Start(BaseOptions());
  auto ws = Online(KeyApp());
  ASSERT_TRUE(ws);
  admin_.Post("/faults", R"({"kind":"duplicate"})");
  std::string id = admin_.AddMessage(kKeyApp);
  WireFrame a = NextConsume(*ws), b = NextConsume(*ws);
  EXPECT_EQ(a.protocol["x-msgId"], id);
  EXPECT_EQ(b.protocol["x-msgId"], id);
  ws->Send(ConsumeAck(a, "SUCCESS"));
  ws->Send(ConsumeAck(b, "SUCCESS"));
  admin_.WaitMessage(id, [](const json::value& v) { return State(v) == "acked" && v.at("acks").as_array().size() == 2; });
  EXPECT_EQ(admin_.Get("/stats").at("delivered").to_number<uint64_t>(), 2u);
}

TEST_F(SimTest, FaultRegisterError) {
  Start(BaseOptions());
  admin_.Post("/faults", R"({"kind":"register_error","count":2,"code":"40004","msg":"Business Failed","sub_code":"isv.app-unavailable","sub_msg":"busy"})");
  TestApp app = KeyApp();
  for (int i = 0; i < 2; ++i) {
    RegisterReply r = Register(main_, SignedQuery(RegisterParams(app, WallMs()), *app.key));
    EXPECT_EQ(r.code, "40004");
    EXPECT_EQ(r.sub_code, "isv.app-unavailable");
    EXPECT_EQ(r.sub_msg, "busy");
    EXPECT_TRUE(r.link_token.empty());
  }
  EXPECT_EQ(Register(main_, SignedQuery(RegisterParams(app, WallMs()), *app.key)).code, "10000");
}

TEST_F(SimTest, FaultSlowAckWindowHoldsAcksAndRedelivers) {
  SimulatorOptions o = BaseOptions();
  o.schedule = sim::RedeliverySchedule({0, 300, 5000});  // redelivered at 300 ms, inside the 1 s window
  Start(o);
  auto ws = Online(KeyApp());
  ASSERT_TRUE(ws);
  admin_.Post("/faults", R"({"kind":"slow_ack_window","ms":1000})");
  std::string id = admin_.AddMessage(kKeyApp);
  WireFrame f = NextConsume(*ws);
  ws->Send(ConsumeAck(f, "SUCCESS"));
  // The ack is held: the server delivers again although the client acked.
  WireFrame g = NextConsume(*ws);
  EXPECT_EQ(g.protocol["x-msgId"], id);
  json::value m = admin_.WaitMessage(id, [](const json::value& v) { return State(v) == "acked"; });
  EXPECT_TRUE(m.at("acks").at(0).at("late").as_bool());
  ws->Send(ConsumeAck(g, "SUCCESS"));
}

TEST_F(SimTest, AdminApiRejectsBadInput) {
  Start(BaseOptions());
  int status = 0;
  admin_.Post("/messages", R"({"app_id":"nope","msg_api":"a","content":{}})", &status);
  EXPECT_EQ(status, 400);
  admin_.Post("/messages", R"({"app_id":"2021000000000001","msg_api":"a","content":[1]})", &status);
  EXPECT_EQ(status, 400);
  admin_.Post("/messages", R"({"app_id":"2021000000000001","msg_api":"a","content":{},"msg_id":"same"})", &status);
  EXPECT_EQ(status, 200);
  admin_.Post("/messages", R"({"app_id":"2021000000000001","msg_api":"a","content":{},"msg_id":"same"})", &status);
  EXPECT_EQ(status, 409);
  admin_.Post("/faults", R"({"kind":"nonsense"})", &status);
  EXPECT_EQ(status, 400);
  admin_.Get("/messages/unknown", &status);
  EXPECT_EQ(status, 404);
  json::value m = admin_.Get("/messages/same");
  EXPECT_EQ(State(m), "pending");  // nobody online: it waits
  json::value list = admin_.Post("/messages/batch", R"([{"app_id":"2021000000000001","msg_api":"a","content_raw":"{\"x\": 1.50}"}])");
  ASSERT_EQ(list.at("msg_ids").as_array().size(), 1u);
  json::value raw = admin_.Get("/messages/" + std::string(list.at("msg_ids").at(0).as_string()));
  EXPECT_EQ(raw.at("data").as_string(), R"({"header":{"appId":"2021000000000001","msgApi":"a"},"content":{"x": 1.50}})");
}

TEST_F(SimTest, TlsRegisterAndConnect) {
  std::string dir = testing::MakeTempDir("sim-tls");
  auto files = sim::GenerateTlsKeys(dir);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  SimulatorOptions o = BaseOptions();
  o.tls_cert = dir + "/server.crt";
  o.tls_key = dir + "/server.key";
  Start(o);
  EXPECT_TRUE(sim_->tls());
  main_.ca_file = dir + "/ca.crt";
  auto ws = Online(KeyApp());
  ASSERT_TRUE(ws);
  std::string id = admin_.AddMessage(kKeyApp);
  WireFrame f = NextConsume(*ws);
  EXPECT_EQ(f.protocol["x-msgId"], id);
  ws->Send(ConsumeAck(f, "SUCCESS"));
  admin_.WaitMessage(id, [](const json::value& v) { return State(v) == "acked"; });
  // A plain-HTTP client gets nowhere on the TLS port.
  Endpoint plain = main_;
  plain.ca_file.clear();
  EXPECT_NE(Http(plain, "GET", "/websocket/register.do").status, 200);
}

TEST_F(SimTest, KeygenOutputWorksInCertMode) {
  std::string dir = testing::MakeTempDir("sim-keygen");
  auto files = sim::GenerateKeys(dir, sim::KeygenOptions{"2021000000000042", 2048});
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  SimulatorOptions o;
  o.alipay_private_key = dir + "/alipay_private_key.pem";
  o.alipay_cert = dir + "/alipayCertPublicKey_RSA2.crt";
  o.root_cert = dir + "/alipayRootCert.crt";
  o.apps = {{"2021000000000042", dir + "/appCertPublicKey_2021000000000042.crt"}, {"2021000000000043", dir + "/app_public_key.txt"}};
  Start(o);
  auto app_key = PrivateKey::FromFile(dir + "/app_private_key.txt");
  ASSERT_TRUE(app_key.ok()) << app_key.status().ToString();
  auto app_sn = CertSnOfFile(dir + "/appCertPublicKey_2021000000000042.crt");
  auto alipay_sn = CertSnOfFile(dir + "/alipayCertPublicKey_RSA2.crt");
  std::string bundle = testing::ReadFileOrFail(dir + "/alipayRootCert.crt");
  auto root_sn = RootCertSn(bundle, SignType::kRsa2);
  ASSERT_TRUE(app_sn.ok() && alipay_sn.ok() && root_sn.ok() && root_sn->has_value());
  EXPECT_NE((*root_sn)->find('_'), std::string::npos) << "two RSA roots, the ECDSA root skipped: " << **root_sn;
  auto certs = Certificate::ParsePemBundle(bundle);
  ASSERT_TRUE(certs.ok());
  EXPECT_EQ(certs->size(), 3u);
  TestApp cert_app{"2021000000000042", &*app_key, *app_sn, **root_sn};
  RegisterReply reg = Register(main_, SignedQuery(RegisterParams(cert_app, WallMs()), *app_key));
  ASSERT_EQ(reg.code, "10000") << reg.http.body;
  EXPECT_EQ(reg.alipay_cert_sn, *alipay_sn);
  auto alipay_public = PublicKey::FromFile(dir + "/alipay_public_key.pem");
  ASSERT_TRUE(alipay_public.ok());
  EXPECT_TRUE(Verify(*alipay_public, SignType::kRsa2, reg.response_text, reg.sign).ok());
  TestApp key_app{"2021000000000043", &*app_key};
  EXPECT_EQ(Register(main_, SignedQuery(RegisterParams(key_app, WallMs()), *app_key)).code, "10000");
}

TEST_F(SimTest, NotifyPostsASignedFormAndRetriesUntilSuccess) {
  Start(BaseOptions());  // retries 200 ms apart
  FormReceiver receiver({"fail", "success"});
  json::value r = admin_.Post("/notify", R"({"url":"http://127.0.0.1:)" + std::to_string(receiver.port()) +
                                             R"(/gateway","app_id":"2021000000000001","msg_method":"alipay.open.mini.order.changed","biz_content":{"order_id":"o 1+2","note":"中文"}})");
  ASSERT_TRUE(r.as_object().contains("notify_id")) << json::serialize(r);
  std::string id(r.at("notify_id").as_string());
  ASSERT_TRUE(receiver.WaitBodies(2, 10000));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  json::value job;
  do {
    job = admin_.Get("/notify/" + id);
    if (job.at("state").as_string() == "delivered") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(job.at("state").as_string(), "delivered") << json::serialize(job);
  EXPECT_EQ(job.at("attempts").to_number<int64_t>(), 2);
  auto bodies = receiver.bodies();
  EXPECT_EQ(bodies[0], bodies[1]);  // the same notification again (same notify_id)
  auto form = DecodeForm(bodies[0]);
  EXPECT_EQ(form["notify_id"], id);
  EXPECT_EQ(form["app_id"], kKeyApp);
  EXPECT_EQ(form["msg_method"], "alipay.open.mini.order.changed");
  EXPECT_EQ(form["biz_content"], R"({"order_id":"o 1+2","note":"中文"})");
  EXPECT_EQ(form["version"], "1.1");
  EXPECT_EQ(form["sign_type"], "RSA2");
  EXPECT_TRUE(std::regex_match(form["utc_timestamp"], std::regex("[0-9]{13}")));
  // NOTIFY.md: sorted, sign and sign_type excluded (the default "v1" content), raw values.
  std::map<std::string, std::string> content = form;
  content.erase("sign_type");
  EXPECT_TRUE(Verify(keys_->alipay_public, SignType::kRsa2, SignContent(content), form["sign"]).ok()) << SignContent(content);
  EXPECT_EQ(admin_.Get("/stats").at("notify").at("succeeded").to_number<uint64_t>(), 1u);
}

TEST_F(SimTest, NotifyGivesUpAfterTheSchedule) {
  Start(BaseOptions());
  FormReceiver receiver({"fail"});
  json::value r = admin_.Post("/notify", R"({"url":"http://127.0.0.1:)" + std::to_string(receiver.port()) +
                                             R"(/","app_id":"2021000000000001","msg_method":"m","biz_content":"{}"})");
  std::string id(r.at("notify_id").as_string());
  ASSERT_TRUE(receiver.WaitBodies(3, 10000));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  json::value job;
  do {
    job = admin_.Get("/notify/" + id);
    if (job.at("state").as_string() == "given_up") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(job.at("state").as_string(), "given_up");
  EXPECT_EQ(job.at("attempts").to_number<int64_t>(), 3);
}

}  // namespace
}  // namespace alipaymsg::simtest
