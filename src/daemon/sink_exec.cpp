// The exec sink: posix_spawn (no shell), message JSON on stdin, output captured for the error
// message, the process group killed on timeout.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "daemon/sinks.h"

extern char** environ;

namespace alipaymsg::daemon {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr size_t kOutputKept = 4096;

int MillisLeft(SteadyClock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

// Writes to a pipe whose reader may be gone without SIGPIPE killing the process: the signal is
// blocked for this thread and a pending one consumed.
ssize_t WriteNoSigpipe(int fd, const char* data, size_t size) {
  sigset_t pipe_set, old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  ssize_t n = ::write(fd, data, size);
  int saved = errno;
  if (n < 0 && errno == EPIPE) {
    timespec zero{0, 0};
    while (sigtimedwait(&pipe_set, nullptr, &zero) > 0) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  errno = saved;
  return n;
}

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

ExecResult RunProgram(const std::vector<std::string>& argv, const std::string& input,
                      const std::map<std::string, std::string>& extra_env, int timeout_ms) {
  ExecResult result;
  if (argv.empty()) {
    result.error = "no program";
    return result;
  }
  int in_pipe[2], out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) {
    result.error = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    result.error = std::string("pipe: ") + std::strerror(errno);
    ::close(in_pipe[0]), ::close(in_pipe[1]);
    return result;
  }

  // Environment: ours, with the message's variables replacing any of the same name.
  std::vector<std::string> env_strings;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    std::string name(entry.substr(0, entry.find('=')));
    if (!extra_env.count(name)) env_strings.emplace_back(entry);
  }
  for (const auto& [name, value] : extra_env) env_strings.push_back(name + "=" + value);
  std::vector<char*> envp, args;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (std::string& a : argv_copy) args.push_back(a.data());
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGHUP);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);  // own group: a timeout kills its children too
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  int in_fd = in_pipe[1], out_fd = out_pipe[0];
  if (rc != 0) {
    result.error = "cannot run " + argv[0] + ": " + std::strerror(rc);
    CloseFd(in_fd), CloseFd(out_fd);
    return result;
  }
  result.started = true;
  ::fcntl(in_fd, F_SETFL, O_NONBLOCK);

  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
  size_t written = 0;
  if (input.empty()) CloseFd(in_fd);
  char buf[4096];
  while (out_fd >= 0 && !result.timed_out) {
    pollfd fds[2];
    int n = 0;
    fds[n++] = {out_fd, POLLIN, 0};
    if (in_fd >= 0) fds[n++] = {in_fd, POLLOUT, 0};
    int ready = ::poll(fds, n, MillisLeft(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      result.timed_out = true;
      break;
    }
    if (in_fd >= 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t w = WriteNoSigpipe(in_fd, input.data() + written, input.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) CloseFd(in_fd);
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = ::read(out_fd, buf, sizeof buf);
      if (r > 0) {
        result.output.append(buf, static_cast<size_t>(r));
        if (result.output.size() > 2 * kOutputKept) result.output.erase(0, result.output.size() - kOutputKept);
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        CloseFd(out_fd);
      }
    }
  }
  CloseFd(in_fd);
  CloseFd(out_fd);

  int status = 0;
  while (!result.timed_out) {  // output closed; the program may still be running
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) break;
    if (MillisLeft(deadline) == 0) {
      result.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (result.timed_out) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return result;
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  if (result.output.size() > kOutputKept) result.output.erase(0, result.output.size() - kOutputKept);
  return result;
}

HandlerOutcome ExecSink::Deliver(MessageView& message) {
  if (!slots_.Acquire()) return HandlerOutcome::RetryLater("shutting down");
  std::map<std::string, std::string> env = {
      {"ALIPAY_MSG_ID", message.msg_id()},
      {"ALIPAY_MSG_API", message.msg_api()},
      {"ALIPAY_APP_ID", message.app_id()},
      {"ALIPAY_MSG_DELIVERY_COUNT", std::to_string(message.delivery_count())},
      {"ALIPAY_MSG_ATTEMPT", std::to_string(message.attempt())},
  };
  ExecResult r = RunProgram(argv_, MessageJson(message) + "\n", env, timeout_ms_);
  slots_.Release();
  if (!r.started) return HandlerOutcome::RetryLater(r.error);
  if (r.timed_out) {
    return HandlerOutcome::RetryLater(argv_[0] + " timed out after " + std::to_string(timeout_ms_) + " ms");
  }
  if (r.signal != 0) return HandlerOutcome::RetryLater(argv_[0] + " killed by signal " + std::to_string(r.signal));
  if (r.exit_code == 0) return HandlerOutcome::Done();
  std::string tail = r.output;
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.pop_back();
  if (tail.size() > 300) tail = "..." + tail.substr(tail.size() - 300);
  return HandlerOutcome::RetryLater(argv_[0] + " exited with " + std::to_string(r.exit_code) +
                                    (tail.empty() ? "" : ": " + tail));
}

}  // namespace alipaymsg::daemon
