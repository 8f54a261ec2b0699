// CoalescingStream over a real loopback TCP connection: held writes stay queued and leave together
// in order, a lone write goes at once, the high-water mark sends even while held, a failed send
// fails the writes after it, and a flush releases the hold.
#include "client/coalescing_stream.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>

namespace alipaymsg::client {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Coalescing = CoalescingStream<tcp::socket>;

class CoalescingStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    stream_.next_layer().connect(acceptor.local_endpoint());
    acceptor.accept(peer_);
    stream_.next_layer().set_option(tcp::no_delay(true));
  }

  // Queues `text` as one write; counts its completion.
  void Write(const std::string& text) {
    stream_.async_write_some(asio::buffer(text), [this, size = text.size()](error_code ec, std::size_t n) {
      ++completed_;
      if (ec) last_error_ = ec;
      else EXPECT_EQ(n, size);
    });
  }

  // Runs handlers until `done` or 5 s.
  template <class Done>
  bool RunUntil(Done done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.run_for(std::chrono::milliseconds(5));
      io_.restart();
    }
    return done();
  }

  std::size_t Arrived() { return peer_.available(); }

  std::string ReadAtPeer(std::size_t bytes) {
    std::string out(bytes, '\0');
    asio::read(peer_, asio::buffer(out));
    return out;
  }

  asio::io_context io_;
  Coalescing stream_{io_.get_executor()};
  tcp::socket peer_{io_};
  int completed_ = 0;
  error_code last_error_;
};

TEST_F(CoalescingStreamTest, HeldWritesStayQueuedThenLeaveTogetherInOrder) {
  stream_.Hold(true);
  std::string expected;
  for (int i = 0; i < 10; ++i) {
    const std::string frame = "frame-" + std::to_string(i) + ";";
    expected += frame;
    Write(frame);
  }
  ASSERT_TRUE(RunUntil([&] { return completed_ == 10; })) << "held writes complete once queued";
  io_.poll();
  io_.restart();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // loopback delivers within it
  EXPECT_EQ(Arrived(), 0u) << "nothing may be sent while held";

  stream_.Hold(false);
  ASSERT_TRUE(RunUntil([&] { return Arrived() == expected.size(); }));
  EXPECT_EQ(ReadAtPeer(expected.size()), expected);
  EXPECT_FALSE(last_error_);
}

TEST_F(CoalescingStreamTest, ALoneWriteGoesAtOnce) {
  Write("ack");
  ASSERT_TRUE(RunUntil([&] { return completed_ == 1 && Arrived() == 3; }));
  EXPECT_EQ(ReadAtPeer(3), "ack");
}

TEST_F(CoalescingStreamTest, PastTheHighWaterMarkHeldWritesAreSentAndLaterOnesWait) {
  stream_.Hold(true);
  const std::string chunk(16 * 1024, 'x');
  const int chunks = static_cast<int>(Coalescing::kHighWater / chunk.size()) + 4;
  for (int i = 0; i < chunks; ++i) Write(chunk);
  // Without the mark this would never arrive (held) and the later writes never complete.
  std::size_t received = 0;
  ASSERT_TRUE(RunUntil([&] {
    while (Arrived() > 0) received += ReadAtPeer(Arrived()).size();
    return completed_ == chunks && received == chunks * chunk.size();
  })) << completed_ << " of " << chunks << " writes completed, " << received << " bytes arrived";
  EXPECT_FALSE(last_error_);
}

TEST_F(CoalescingStreamTest, AFailedSendFailsTheWritesAfterIt) {
  peer_.set_option(asio::socket_base::linger(true, 0));
  peer_.close();  // a reset: the next send fails
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const std::string frame(1000, 'y');
  for (int i = 0; i < 20 && !last_error_; ++i) {
    Write(frame);
    RunUntil([&] { return completed_ == i + 1; });
  }
  EXPECT_TRUE(last_error_) << "every write reported success after the peer reset the connection";
}

TEST_F(CoalescingStreamTest, AFlushReleasesTheHoldAndCompletesOnceSent) {
  stream_.Hold(true);
  Write("close-frame");
  bool flushed = false;
  error_code flush_error;
  stream_.async_flush([&](error_code ec) {
    flushed = true;
    flush_error = ec;
  });
  EXPECT_FALSE(flushed) << "a flush never completes inside its initiating call";
  ASSERT_TRUE(RunUntil([&] { return flushed; }));
  EXPECT_FALSE(flush_error);
  ASSERT_TRUE(RunUntil([&] { return Arrived() == 11; })) << "the flush completed before its bytes were sent";
  EXPECT_EQ(ReadAtPeer(11), "close-frame");
}

}  // namespace
}  // namespace alipaymsg::client
