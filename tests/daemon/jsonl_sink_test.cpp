#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <set>
#include <thread>

#include "sink_test_util.h"

namespace alipaymsg::daemon_test {
namespace {

using daemon::JsonlSink;
using daemon::MessageJson;
using daemon::SinkRouter;

TEST(MessageJsonTest, ExactShape) {
  StoredMessage stored;
  stored.message = Msg("m1");
  stored.delivery_count = 2;
  MessageView view(stored);
  EXPECT_EQ(MessageJson(view),
            R"({"app_id":"2021000000000001","msg_api":"alipay.open.mini.version.audit.passed","msg_id":"m1",)"
            R"("biz_content":{"mini_app_id":"2021","audit_time":"2024-01-01 10:00:00"},"channel":"websocket",)"
            R"("received_at":"2023-11-14T22:13:20.123Z","delivery_count":2})");
}

TEST(MessageJsonTest, MultiLineAndNonJsonBizContentStayOneValidLine) {
  StoredMessage stored;
  stored.message = Msg("m1", "a.b", "{\n  \"k\": \"v\\n\",\n  \"n\": 1\n}");
  MessageView pretty(stored);
  std::string line = MessageJson(pretty);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find(R"("biz_content":{"k":"v\n","n":1})"), std::string::npos) << line;

  stored.message.biz_content = "not json \"at all\"";
  MessageView garbage(stored);
  line = MessageJson(garbage);
  EXPECT_NE(line.find(R"("biz_content":"not json \"at all\"")"), std::string::npos) << line;
  EXPECT_NO_THROW(boost::json::parse(line));

  // Quotes, backslashes and control characters are escaped wherever they come; the line parses back
  // to the very text.
  stored.message.msg_id = "m\"\\\x01\t";
  stored.message.biz_content = "tab\there\x1f\x7f";
  MessageView escaped(stored);
  line = MessageJson(escaped);
  EXPECT_NE(line.find(R"("msg_id":"m\"\\\u0001\t")"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("biz_content":"tab\there\u001F)" "\x7f\""), std::string::npos) << line;
  auto parsed = boost::json::parse(line).as_object();
  EXPECT_EQ(parsed.at("msg_id").as_string(), stored.message.msg_id);
  EXPECT_EQ(parsed.at("biz_content").as_string(), stored.message.biz_content);
}

// What json::parse accepts is kept (trimmed of spaces and tabs), or written on one line when it spans
// several; anything else is quoted. The check builds no document but must draw the same line.
TEST(MessageJsonTest, BizContentIsKeptOnlyWhenItIsExactlyOneJsonValue) {
  StoredMessage stored;
  stored.message = Msg("m1");
  auto biz = [&](const std::string& content) {
    stored.message.biz_content = content;
    MessageView view(stored);
    const std::string line = MessageJson(view);
    boost::json::parse_options deep;
    deep.max_depth = 64;
    EXPECT_NO_THROW(boost::json::parse(line, {}, deep)) << line;
    const size_t begin = line.find(",\"biz_content\":") + 15, end = line.find(",\"channel\":");
    return line.substr(begin, end - begin);  // as written
  };
  EXPECT_EQ(biz(R"({"a":1})"), R"({"a":1})");
  EXPECT_EQ(biz(" \t{\"a\": [1, 2.5, true, null]}\t "), R"({"a": [1, 2.5, true, null]})");
  EXPECT_EQ(biz("[1,2]"), "[1,2]");
  EXPECT_EQ(biz("42"), "42");
  EXPECT_EQ(biz(R"("text")"), R"("text")");
  EXPECT_EQ(biz("{\r\n\"a\":1}\r\n"), R"({"a":1})");  // CRLF around and inside: re-serialized
  EXPECT_EQ(biz(R"({"a":1} {"b":2})"), R"("{\"a\":1} {\"b\":2}")");  // two values: quoted
  EXPECT_EQ(biz(R"({"a":1}x)"), R"("{\"a\":1}x")");
  EXPECT_EQ(biz(R"({"a":1,})"), R"("{\"a\":1,}")");  // no trailing commas
  EXPECT_EQ(biz(R"({"a":1} // note)"), R"("{\"a\":1} // note")");  // no comments
  EXPECT_EQ(biz(""), R"("")");
  EXPECT_EQ(biz("  "), R"("  ")");
  EXPECT_EQ(biz(std::string(32, '[') + std::string(32, ']')), std::string(32, '[') + std::string(32, ']'));
  EXPECT_EQ(biz(std::string(33, '[') + std::string(33, ']')),
            "\"" + std::string(33, '[') + std::string(33, ']') + "\"");  // deeper than json::parse goes
  // Not UTF-8 (a GBK form, say): quoted, the bad byte as U+FFFD, so that the line is still JSON.
  EXPECT_EQ(biz("{\"a\":\"\xff\"}"), "\"{\\\"a\\\":\\\"\xEF\xBF\xBD\\\"}\"");
  stored.message.msg_id = "m\xC0\xAF";  // an overlong '/'
  MessageView view(stored);
  EXPECT_NE(MessageJson(view).find("\"msg_id\":\"m\xEF\xBF\xBD\xEF\xBF\xBD\""), std::string::npos);
}

TEST(Rfc3339Test, Utc) {
  EXPECT_EQ(daemon::Rfc3339Utc(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(daemon::Rfc3339Utc(1700000000123), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(daemon::Rfc3339Utc(951782400999), "2000-02-29T00:00:00.999Z");
}

class JsonlSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    db_ = dir_.path() + "/inbox.db";
    out_ = dir_.path() + "/out/messages.jsonl";
    Reopen();
  }
  void Reopen() {
    inbox_.reset();
    auto inbox = OpenSqliteInbox(db_);
    ASSERT_TRUE(inbox.ok()) << inbox.status().ToString();
    inbox_ = std::move(*inbox);
  }
  // Stores messages with these ids and claims them all, as a dispatcher does before handling them.
  void StoreAndClaim(std::initializer_list<const char*> ids) {
    std::vector<InboundMessage> batch;
    for (const char* id : ids) batch.push_back(Msg(id));
    ASSERT_TRUE(inbox_->Store(batch).ok());
    ASSERT_TRUE(inbox_->Claim(10, 0).ok());
  }
  TempDir dir_{"daemon-jsonl"};
  std::string db_, out_;
  std::unique_ptr<Inbox> inbox_;
};

TEST_F(JsonlSinkTest, OneLinePerMessageDuplicatesOnce) {
  std::vector<InboundMessage> batch;
  for (int i = 0; i < 5; ++i) batch.push_back(Msg("m" + std::to_string(i)));
  ASSERT_TRUE(inbox_->Store(batch).ok());
  ASSERT_TRUE(inbox_->Store({Msg("m3")}).ok());  // a redelivery
  auto sink = std::make_shared<JsonlSink>(out_);
  ASSERT_TRUE(sink->Recover(db_).ok());
  SinkRouter sinks;
  sinks.Add("sinks[0]", {"*"}, sink);
  DispatchAll(*inbox_, sinks);

  std::vector<std::string> lines = Lines(ReadAll(out_));
  ASSERT_EQ(lines.size(), 5u);
  std::set<std::string> ids;
  for (const std::string& line : lines) {
    boost::json::object o = boost::json::parse(line).as_object();
    ids.insert(std::string(o.at("msg_id").as_string()));
    EXPECT_EQ(o.at("app_id").as_string(), "2021000000000001");
    EXPECT_EQ(o.at("channel").as_string(), "websocket");
    EXPECT_EQ(o.at("biz_content").as_object().at("mini_app_id").as_string(), "2021");
    EXPECT_EQ(o.at("delivery_count").as_int64(), o.at("msg_id").as_string() == "m3" ? 2 : 1);
  }
  EXPECT_EQ(ids.size(), 5u);
  EXPECT_EQ(sinks.Counters()[0].done, 5);
}

TEST_F(JsonlSinkTest, UncommittedWriteIsTruncatedOnRecoverAndOverwritten) {
  JsonlSink sink(out_);
  ASSERT_TRUE(sink.Recover(db_).ok());
  ASSERT_NO_FATAL_FAILURE(StoreAndClaim({"a", "b", "c"}));

  // "a" commits.
  ASSERT_TRUE(inbox_->Complete("2021000000000001", "a", {}, 1, [&](InboxTransaction& tx) {
                      return sink.AppendInTransaction(tx, "LINE-A");
                    }).ok());
  // "b" writes its line, then its transaction fails: the line is not part of the output.
  Status failed = inbox_->Complete("2021000000000001", "b", {}, 1, [&](InboxTransaction& tx) {
    Status written = sink.AppendInTransaction(tx, "LINE-B");
    EXPECT_TRUE(written.ok()) << written.ToString();
    return Internal("injected failure after the write");
  });
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(ReadAll(out_), "LINE-A\nLINE-B\n");
  EXPECT_EQ(StateOf(*inbox_, "b"), MessageState::kInFlight);

  // A restart truncates to the committed size.
  JsonlSink restarted(out_);
  ASSERT_TRUE(restarted.Recover(db_).ok());
  EXPECT_EQ(ReadAll(out_), "LINE-A\n");

  // Without a restart, the next committed line overwrites whatever trails the committed size.
  { std::ofstream(out_, std::ios::app) << "garbage that never committed, longer than a line\n"; }
  ASSERT_TRUE(inbox_->Complete("2021000000000001", "c", {}, 1, [&](InboxTransaction& tx) {
                      return restarted.AppendInTransaction(tx, "LINE-C");
                    }).ok());
  EXPECT_EQ(ReadAll(out_), "LINE-A\nLINE-C\n");
}

TEST_F(JsonlSinkTest, ExternallyTruncatedFileAppendsAtItsEnd) {
  JsonlSink sink(out_);
  ASSERT_TRUE(sink.Recover(db_).ok());
  ASSERT_NO_FATAL_FAILURE(StoreAndClaim({"a", "b"}));
  ASSERT_TRUE(inbox_->Complete("2021000000000001", "a", {}, 1, [&](InboxTransaction& tx) {
                      return sink.AppendInTransaction(tx, "LINE-A");
                    }).ok());
  std::filesystem::remove(out_);  // rotated away by an operator
  ASSERT_TRUE(inbox_->Complete("2021000000000001", "b", {}, 1, [&](InboxTransaction& tx) {
                      return sink.AppendInTransaction(tx, "LINE-B");
                    }).ok());
  EXPECT_EQ(ReadAll(out_), "LINE-B\n");
}

TEST_F(JsonlSinkTest, ManyLinesInOneTransactionCommitTogether) {
  JsonlSink sink(out_);
  ASSERT_TRUE(sink.Recover(db_).ok());
  ASSERT_NO_FATAL_FAILURE(StoreAndClaim({"a", "b"}));
  ASSERT_TRUE(inbox_->Complete("2021000000000001", "a", {}, 1, [&](InboxTransaction& tx) {
                      for (const char* line : {"A1", "A2", "A3"}) {
                        ALIPAYMSG_RETURN_IF_ERROR(sink.AppendInTransaction(tx, line));
                      }
                      return Status::Ok();
                    }).ok());
  EXPECT_EQ(ReadAll(out_), "A1\nA2\nA3\n");
  // A failing before-commit hook registered after the lines aborts the whole transaction: "b" stays
  // in flight and its lines are not part of the output.
  int dummy_key = 0;
  Status failed = inbox_->Complete("2021000000000001", "b", {}, 1, [&](InboxTransaction& tx) {
    ALIPAYMSG_RETURN_IF_ERROR(sink.AppendInTransaction(tx, "B1"));
    ALIPAYMSG_RETURN_IF_ERROR(sink.AppendInTransaction(tx, "B2"));
    tx.BeforeCommit(&dummy_key, [] { return IoError("injected: disk gone before commit"); });
    return Status::Ok();
  });
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find("injected"), std::string::npos) << failed.ToString();
  EXPECT_EQ(StateOf(*inbox_, "b"), MessageState::kInFlight);
  JsonlSink restarted(out_);
  ASSERT_TRUE(restarted.Recover(db_).ok());
  EXPECT_EQ(ReadAll(out_), "A1\nA2\nA3\n");
  ASSERT_TRUE(inbox_->Complete("2021000000000001", "b", {}, 1, [&](InboxTransaction& tx) {
                      return restarted.AppendInTransaction(tx, "B");
                    }).ok());
  EXPECT_EQ(ReadAll(out_), "A1\nA2\nA3\nB\n");
}

// Lines are gathered in memory and written once before the commit: a request that fails after its
// line (rolled back alone, the others in its transaction commit) must not leave that line behind,
// whether it is still gathered (small) or already written out (over a megabyte).
TEST_F(JsonlSinkTest, ARolledBackRequestsLineIsCutFromItsTransactionsOutput) {
  JsonlSink sink(out_);
  ASSERT_TRUE(sink.Recover(db_).ok());
  ASSERT_NO_FATAL_FAILURE(StoreAndClaim({"a", "b", "c", "d"}));
  const std::string big(3 << 19, 'x');  // 1.5 MB: written out before the transaction ends
  for (const auto& [failing, line] : {std::pair<const char*, std::string>{"a", "LINE-A"}, {"c", big}}) {
    const std::string next = std::string(failing) == "a" ? "b" : "d";
    // Hold the writer so that both completions wait and go in one transaction.
    std::promise<void> release, holding;
    std::shared_future<void> released = release.get_future().share();
    inbox_->StoreAsync({Msg(std::string("holder-") + failing)}, [&](Result<std::vector<StoreOutcome>>) {
      holding.set_value();
      released.wait();
    });
    holding.get_future().wait();
    std::promise<Status> failed, committed;
    inbox_->CompleteAsync("2021000000000001", failing, {}, 1, [&](InboxTransaction& tx) {
      EXPECT_TRUE(sink.AppendInTransaction(tx, line).ok());
      return Internal("injected failure after the write");
    }, [&](Status s) { failed.set_value(s); });
    inbox_->CompleteAsync("2021000000000001", next, {}, 1, [&](InboxTransaction& tx) {
      return sink.AppendInTransaction(tx, "LINE-" + next);
    }, [&](Status s) { committed.set_value(s); });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // both lingering completions due
    const int64_t commits = inbox_->Stats()->commits;
    release.set_value();
    EXPECT_FALSE(failed.get_future().get().ok());
    EXPECT_TRUE(committed.get_future().get().ok());
    EXPECT_EQ(inbox_->Stats()->commits - commits, 1) << "both completions in one transaction (the holder committed before)";
  }
  EXPECT_EQ(ReadAll(out_), "LINE-b\nLINE-d\n");
  EXPECT_EQ(StateOf(*inbox_, "a"), MessageState::kInFlight);
  EXPECT_EQ(StateOf(*inbox_, "d"), MessageState::kDone);
}

// A write that fails in the middle of a transaction (here the file size limit, as a full disk would)
// drops the lines gathered before it: the transaction must then fail as a whole, not commit the
// earlier requests without their lines or with a torn one.
TEST_F(JsonlSinkTest, AWriteFailingMidTransactionFailsTheWholeTransaction) {
  JsonlSink sink(out_);
  ASSERT_TRUE(sink.Recover(db_).ok());
  ASSERT_NO_FATAL_FAILURE(StoreAndClaim({"a", "b", "c"}));
  struct rlimit saved {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  ::signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of the signal
  struct rlimit limited = saved;
  limited.rlim_cur = 1 << 20;  // the 1.5 MB line cannot be written
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limited), 0);

  std::promise<void> release, holding;
  std::shared_future<void> released = release.get_future().share();
  inbox_->StoreAsync({Msg("holder")}, [&](Result<std::vector<StoreOutcome>>) {
    holding.set_value();
    released.wait();
  });
  holding.get_future().wait();
  std::promise<Status> done_a, done_b, done_c;
  auto complete = [&](const char* id, std::string line, std::promise<Status>& done) {
    inbox_->CompleteAsync("2021000000000001", id, {}, 1, [&sink, line](InboxTransaction& tx) {
      return sink.AppendInTransaction(tx, line);
    }, [&done](Status s) { done.set_value(s); });
  };
  complete("a", "LINE-a", done_a);
  complete("b", std::string(3 << 19, 'x'), done_b);
  complete("c", "LINE-c", done_c);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // all three due: one transaction
  release.set_value();
  const Status a = done_a.get_future().get(), b = done_b.get_future().get(), c = done_c.get_future().get();
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);
  EXPECT_FALSE(b.ok());
  EXPECT_FALSE(a.ok()) << "a's line was lost with the failed write: a must not commit without it";
  EXPECT_FALSE(c.ok());
  EXPECT_EQ(a.code(), StatusCode::kIoError) << a.ToString() << " (an I/O error is retried by the dispatcher)";
  EXPECT_EQ(StateOf(*inbox_, "a"), MessageState::kInFlight);

  // The next transaction starts clean: committed lines only.
  ASSERT_TRUE(inbox_->Complete("2021000000000001", "a", {}, 1, [&](InboxTransaction& tx) {
                      return sink.AppendInTransaction(tx, "LINE-a");
                    }).ok());
  EXPECT_EQ(ReadAll(out_), "LINE-a\n");
}

// A process killed after the sink's fdatasync of several lines and before the inbox commit: the
// lines are on disk but not committed; Recover() drops them and the message runs again, once.
TEST_F(JsonlSinkTest, SigkillBetweenSyncAndCommitDropsTheTransactionsLines) {
  ASSERT_TRUE(inbox_->Store({Msg("a"), Msg("b"), Msg("c")}).ok());
  inbox_->Close();
  inbox_.reset();

  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto inbox = OpenSqliteInbox(db_);
    if (!inbox.ok()) _exit(2);
    JsonlSink sink(out_);
    if (!sink.Recover(db_).ok()) _exit(3);
    if (!(*inbox)->Claim(10, 0).ok()) _exit(4);
    if (!(*inbox)->Complete("2021000000000001", "a", {}, 1, [&](InboxTransaction& tx) {
                  return sink.AppendInTransaction(tx, "LINE-A");
                }).ok()) {
      _exit(5);
    }
    int kill_key = 0;
    (void)(*inbox)->Complete("2021000000000001", "b", {}, 1, [&](InboxTransaction& tx) {
      for (const char* line : {"LINE-B1", "LINE-B2", "LINE-B3"}) {
        ALIPAYMSG_RETURN_IF_ERROR(sink.AppendInTransaction(tx, line));
      }
      // Runs after the sink's hook (registration order), just before COMMIT.
      tx.BeforeCommit(&kill_key, [] {
        raise(SIGKILL);
        return Status::Ok();
      });
      return Status::Ok();
    });
    _exit(6);  // not reached
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;
  // The sink synced its lines before the (never reached) commit.
  EXPECT_EQ(ReadAll(out_), "LINE-A\nLINE-B1\nLINE-B2\nLINE-B3\n");

  Reopen();
  auto sink = std::make_shared<JsonlSink>(out_);
  ASSERT_TRUE(sink->Recover(db_).ok());
  EXPECT_EQ(ReadAll(out_), "LINE-A\n");
  EXPECT_EQ(StateOf(*inbox_, "a"), MessageState::kDone);
  EXPECT_EQ(StateOf(*inbox_, "b"), MessageState::kPending);  // in flight at the crash: runs again
  SinkRouter sinks;
  sinks.Add("sinks[0]", {"*"}, sink);
  DispatchAll(*inbox_, sinks);
  std::vector<std::string> lines = Lines(ReadAll(out_));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "LINE-A");
  std::set<std::string> ids;
  for (size_t i = 1; i < lines.size(); ++i) {
    ids.insert(std::string(boost::json::parse(lines[i]).as_object().at("msg_id").as_string()));
  }
  EXPECT_EQ(ids, (std::set<std::string>{"b", "c"}));
}

// SIGKILL a process dispatching into a jsonl sink at various moments; after each restart, the file
// has every message exactly once.
TEST_F(JsonlSinkTest, ExactlyOnceAcrossSigkill) {
  constexpr int kMessages = 200;
  std::vector<InboundMessage> batch;
  for (int i = 0; i < kMessages; ++i) batch.push_back(Msg("k" + std::to_string(i)));
  ASSERT_TRUE(inbox_->Store(batch).ok());
  inbox_->Close();
  inbox_.reset();

  for (int delay_ms : {5, 20, 40, 80}) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto inbox = OpenSqliteInbox(db_);
      if (!inbox.ok()) _exit(2);
      auto sink = std::make_shared<JsonlSink>(out_);
      if (!sink->Recover(db_).ok()) _exit(3);
      SinkRouter sinks;
      sinks.Add("sinks[0]", {"*"}, sink);
      Router router;
      if (!sinks.RegisterOn(router).ok()) _exit(4);
      // Each killed run counts an attempt for every message it claimed; on a loaded machine no run
      // may finish one, so the crash-loop limit must exceed the kills (+1 for the final run).
      Dispatcher dispatcher(**inbox, std::move(router), FastRetries(/*max_attempts=*/10));
      if (!dispatcher.Start().ok()) _exit(5);
      dispatcher.Notify();
      dispatcher.WaitIdle(std::chrono::seconds(30));
      _exit(0);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
  }

  Reopen();
  auto sink = std::make_shared<JsonlSink>(out_);
  ASSERT_TRUE(sink->Recover(db_).ok());
  SinkRouter sinks;
  sinks.Add("sinks[0]", {"*"}, sink);
  DispatchAll(*inbox_, sinks, FastRetries(/*max_attempts=*/10));

  std::vector<std::string> lines = Lines(ReadAll(out_));
  std::multiset<std::string> ids;
  for (const std::string& line : lines) {
    ids.insert(std::string(boost::json::parse(line).as_object().at("msg_id").as_string()));
  }
  EXPECT_EQ(lines.size(), static_cast<size_t>(kMessages));
  for (int i = 0; i < kMessages; ++i) EXPECT_EQ(ids.count("k" + std::to_string(i)), 1u) << i;
  auto stats = inbox_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->done, kMessages);
}

TEST_F(JsonlSinkTest, FirstMatchWinsAndUnmatchedStayUnhandled) {
  ASSERT_TRUE(inbox_->Store({Msg("x1", "alipay.open.mini.version.audit.passed"),
                             Msg("x2", "alipay.trade.refund.depositback.completed"),
                             Msg("x3", "zhima.credit.payafteruse.creditagreement.changed")})
                  .ok());
  auto first = std::make_shared<JsonlSink>(dir_.path() + "/first.jsonl");
  auto second = std::make_shared<JsonlSink>(dir_.path() + "/second.jsonl");
  ASSERT_TRUE(first->Recover(db_).ok());
  ASSERT_TRUE(second->Recover(db_).ok());
  SinkRouter sinks;
  // The router alone would prefer the more specific "alipay.open.mini.*"; the config order wins.
  sinks.Add("sinks[0]", {"alipay.trade.refund.depositback.completed", "alipay.*"}, first);
  sinks.Add("sinks[1]", {"alipay.open.mini.*"}, second);
  DispatchAll(*inbox_, sinks);
  EXPECT_EQ(Lines(ReadAll(dir_.path() + "/first.jsonl")).size(), 2u);
  EXPECT_EQ(ReadAll(dir_.path() + "/second.jsonl"), "");
  EXPECT_EQ(StateOf(*inbox_, "x3"), MessageState::kUnhandled);
}

}  // namespace
}  // namespace alipaymsg::daemon_test
