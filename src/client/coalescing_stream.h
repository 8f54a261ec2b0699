// A stream layer under the WebSocket that sends a burst of frames in one write: a group commit
// answers many messages at once, and their CONSUME_ACKs go out in one syscall and one TCP segment
// (one TLS record) instead of one each. The writer holds sends back while it knows more frames
// follow (Hold), and whatever is written while a send is on its way goes out with the next one.
//
// A write completes when its bytes are queued here, as it would when they reach the kernel's send
// buffer; a failed send fails every later write. Writers wait while more than kHighWater bytes are
// queued, so the queue stays bounded. Beast's own writes (the handshake, PONGs, the close frame)
// take the same path, so frames never interleave. Only link.cpp includes this (it pulls in Asio).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffer_traits.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>

namespace alipaymsg::client {

template <class Next>
class CoalescingStream {
 public:
  using next_layer_type = Next;
  using executor_type = typename Next::executor_type;
  using error_code = boost::system::error_code;

  static constexpr std::size_t kHighWater = 64 * 1024;
  // A send's buffer is kept for the next one up to this size (a thousand idle connections should not
  // each keep their largest burst).
  static constexpr std::size_t kKeptCapacity = 4 * 1024;

  template <class... Args>
  explicit CoalescingStream(Args&&... args)
      : next_(std::forward<Args>(args)...),
        state_(std::make_shared<State>()),
        drained_(next_.get_executor(), boost::asio::steady_timer::time_point::max()) {
    state_->owner = this;
  }
  ~CoalescingStream() { state_->owner = nullptr; }
  CoalescingStream(const CoalescingStream&) = delete;
  CoalescingStream& operator=(const CoalescingStream&) = delete;

  executor_type get_executor() noexcept { return next_.get_executor(); }
  Next& next_layer() noexcept { return next_; }
  const Next& next_layer() const noexcept { return next_; }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return next_.async_read_some(buffers, std::forward<Token>(token));
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return boost::asio::async_compose<Token, void(error_code, std::size_t)>(WriteOp<ConstBuffers>{*this, buffers},
                                                                            token, next_);
  }

  // While held, writes are only queued (up to kHighWater bytes); releasing sends them in one write.
  void Hold(bool hold) {
    held_ = hold;
    if (!hold) StartSend();
  }

  // Releases the hold and completes once everything written so far has been sent (or the send
  // failed).
  template <class Token>
  auto async_flush(Token&& token) {
    Hold(false);
    return boost::asio::async_compose<Token, void(error_code)>(FlushOp{*this}, token, next_);
  }

 private:
  // What a send in progress needs after this layer is gone (its handler may run after the link).
  struct State {
    CoalescingStream* owner = nullptr;
    std::string queued;   // written, not yet handed to a send
    std::string sending;  // the send in progress
    bool in_progress = false;
    error_code failed;
  };

  template <class ConstBuffers>
  struct WriteOp {
    CoalescingStream& stream;
    ConstBuffers buffers;
    bool queued = false;  // done: only the completion is left

    template <class Self>
    void operator()(Self& self, error_code = {}) {
      State& s = *stream.state_;
      if (queued) {
        self.complete(s.failed, s.failed ? 0 : boost::beast::buffer_bytes(buffers));
        return;
      }
      if (!s.failed && s.queued.size() >= kHighWater) {
        stream.WaitForProgress(std::move(self));
        return;
      }
      if (!s.failed) {
        for (auto piece : boost::beast::buffers_range_ref(buffers))
          s.queued.append(static_cast<const char*>(piece.data()), piece.size());
        stream.StartSend();
      }
      queued = true;
      boost::asio::post(stream.next_.get_executor(), std::move(self));
    }
  };

  struct FlushOp {
    CoalescingStream& stream;
    bool waited = false;

    template <class Self>
    void operator()(Self& self, error_code = {}) {
      State& s = *stream.state_;
      if (s.failed || (!s.in_progress && s.queued.empty())) {
        if (waited) {
          self.complete(s.failed);
        } else {
          waited = true;  // never complete inside the initiating call
          boost::asio::post(stream.next_.get_executor(), std::move(self));
        }
        return;
      }
      waited = true;
      stream.WaitForProgress(std::move(self));
    }
  };

  // The timer never expires: a send that ends cancels it, which wakes every waiter at once (setting
  // an expiry would cancel the other waiters instead).
  template <class Self>
  void WaitForProgress(Self&& self) {
    drained_.async_wait(std::forward<Self>(self));
  }

  void StartSend() {
    State& s = *state_;
    if (s.in_progress || s.queued.empty() || s.failed || (held_ && s.queued.size() < kHighWater)) return;
    s.in_progress = true;
    s.sending.swap(s.queued);
    boost::asio::async_write(next_, boost::asio::buffer(s.sending),
                             boost::asio::bind_executor(next_.get_executor(), [state = state_](error_code ec, std::size_t) {
                               state->in_progress = false;
                               if (state->sending.capacity() > kKeptCapacity) std::string().swap(state->sending);
                               else state->sending.clear();
                               if (ec) {
                                 state->failed = ec;
                                 state->queued.clear();
                               }
                               if (state->owner == nullptr) return;
                               state->owner->StartSend();
                               state->owner->drained_.cancel();  // writers and flushes look again
                             }));
  }

  Next next_;
  bool held_ = false;
  std::shared_ptr<State> state_;
  boost::asio::steady_timer drained_;
};

// Beast closes a WebSocket through these (found by argument-dependent lookup): what is queued goes
// out first (the close frame itself), then the layer below tears down as it would have. The blocking
// one is for Beast's blocking close, which the link never uses: it tears down at once.
template <class Next>
void teardown(boost::beast::role_type role, CoalescingStream<Next>& stream, boost::system::error_code& ec) {
  using boost::beast::websocket::teardown;
  teardown(role, stream.next_layer(), ec);
}

template <class Next, class Handler>
void async_teardown(boost::beast::role_type role, CoalescingStream<Next>& stream, Handler&& handler) {
  auto executor = boost::asio::get_associated_executor(handler, stream.get_executor());
  stream.async_flush(boost::asio::bind_executor(
      executor, [role, &stream, handler = std::forward<Handler>(handler)](boost::system::error_code) mutable {
        using boost::beast::websocket::async_teardown;
        async_teardown(role, stream.next_layer(), std::move(handler));
      }));
}

}  // namespace alipaymsg::client
