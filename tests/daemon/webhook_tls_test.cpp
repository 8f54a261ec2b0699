// https:// webhooks: the certificate is verified against the system store plus the sink's ca-file,
// and it must name the host. The server here is a one-connection-at-a-time TLS HTTP server with the
// simulator's throwaway CA and server certificate (127.0.0.1, localhost, ::1).
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <thread>

#include "daemon/sinks.h"
#include "sim/keygen.h"
#include "testing/test_paths.h"

namespace alipaymsg {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

class TlsHttpServer {
 public:
  TlsHttpServer(const std::string& dir, const std::string& bind_address)
      : tls_(ssl::context::tls_server), acceptor_(io_, tcp::endpoint(asio::ip::make_address(bind_address), 0)) {
    tls_.use_certificate_chain_file(dir + "/server.crt");
    tls_.use_private_key_file(dir + "/server.key", ssl::context::pem);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TlsHttpServer() {
    // close() alone does not wake a thread blocked in accept(); shutdown() does (Linux).
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    thread_.join();
    beast::error_code ignored;
    acceptor_.close(ignored);
  }
  int port() const { return acceptor_.local_endpoint().port(); }
  std::vector<http::request<http::string_body>> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (true) {
      tcp::socket socket(io_);
      beast::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec) return;  // closed
      ssl::stream<tcp::socket> stream(std::move(socket), tls_);
      stream.handshake(ssl::stream_base::server, ec);
      if (ec) continue;  // the client refused our certificate
      beast::flat_buffer buffer;
      http::request<http::string_body> request;
      http::read(stream, buffer, request, ec);
      if (ec) continue;
      {
        std::lock_guard lock(mu_);
        requests_.push_back(request);
      }
      http::response<http::string_body> response{http::status::ok, 11};
      response.body() = "ok";
      response.prepare_payload();
      http::write(stream, response, ec);
      stream.shutdown(ec);
    }
  }

  asio::io_context io_;
  ssl::context tls_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<http::request<http::string_body>> requests_;
};

class WebhookTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("webhook-tls");
    auto written = sim::GenerateTlsKeys(dir_);
    ASSERT_TRUE(written.ok()) << written.status().ToString();
  }
  std::string dir_;
};

TEST_F(WebhookTlsTest, PostsOverVerifiedTlsWithTheExtraCa) {
  TlsHttpServer server(dir_, "127.0.0.1");
  auto tls = daemon::MakeTlsClientContext(dir_ + "/ca.crt");
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    const std::string url = "https://" + host + ":" + std::to_string(server.port()) + "/alipay";
    auto response = daemon::HttpPost(url, {{"X-Alipay-Msg-Id", "m-1"}}, R"({"a":1})", 5000, *tls);
    ASSERT_TRUE(response.ok()) << host << ": " << response.status().ToString();
    EXPECT_EQ(response->status, 200);
  }
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].target(), "/alipay");
  EXPECT_EQ(requests[0]["X-Alipay-Msg-Id"], "m-1");
  EXPECT_EQ(requests[0].body(), R"({"a":1})");
}

TEST_F(WebhookTlsTest, UnknownCaIsRefused) {
  TlsHttpServer server(dir_, "127.0.0.1");
  auto tls = daemon::MakeTlsClientContext("");  // the system store does not know the throwaway CA
  ASSERT_TRUE(tls.ok());
  auto response =
      daemon::HttpPost("https://127.0.0.1:" + std::to_string(server.port()) + "/x", {}, "{}", 5000, *tls);
  ASSERT_FALSE(response.ok());
  EXPECT_NE(response.status().message().find("TLS handshake"), std::string::npos) << response.status().ToString();
  EXPECT_NE(response.status().message().find("certificate"), std::string::npos) << response.status().ToString();
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(WebhookTlsTest, CertificateMustNameTheHost) {
  // 127.0.0.2 is loopback too, but the server certificate names only 127.0.0.1, localhost and ::1.
  TlsHttpServer server(dir_, "127.0.0.2");
  auto tls = daemon::MakeTlsClientContext(dir_ + "/ca.crt");
  ASSERT_TRUE(tls.ok());
  auto response =
      daemon::HttpPost("https://127.0.0.2:" + std::to_string(server.port()) + "/x", {}, "{}", 5000, *tls);
  ASSERT_FALSE(response.ok());
  EXPECT_NE(response.status().message().find("TLS handshake"), std::string::npos) << response.status().ToString();
  // Said in words (the client's helper), with the names the certificate is for.
  EXPECT_NE(response.status().message().find("certificate does not match host 127.0.0.2 (it is for localhost, "
                                              "127.0.0.1"),
            std::string::npos)
      << response.status().ToString();
  EXPECT_EQ(response.status().message().find("unspecified"), std::string::npos) << response.status().ToString();
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(WebhookTlsTest, UnreadableCaFileIsAConfigError) {
  auto tls = daemon::MakeTlsClientContext(dir_ + "/no-such-ca.crt");
  ASSERT_FALSE(tls.ok());
  EXPECT_NE(tls.status().message().find("no-such-ca.crt"), std::string::npos) << tls.status().ToString();
}

}  // namespace
}  // namespace alipaymsg
