#include "inbox/pg_conn.h"

#include <charconv>

#include "base/utf8.h"

namespace alipaymsg::inbox {

PgResult& PgResult::operator=(PgResult&& other) noexcept {
  if (this != &other) {
    Pq().PQclear(result_);
    result_ = other.result_;
    other.result_ = nullptr;
  }
  return *this;
}

std::string PgResult::Text(int row, int column) const {
  return std::string(Pq().PQgetvalue(result_, row, column),
                     static_cast<size_t>(Pq().PQgetlength(result_, row, column)));
}

int64_t PgResult::Int(int row, int column) const {
  const char* begin = Pq().PQgetvalue(result_, row, column);
  int64_t value = 0;
  std::from_chars(begin, begin + Pq().PQgetlength(result_, row, column), value);
  return value;
}

std::string PgResult::Bytes(int row, int column) const {
  size_t length = 0;
  unsigned char* raw =
      Pq().PQunescapeBytea(reinterpret_cast<const unsigned char*>(Pq().PQgetvalue(result_, row, column)), &length);
  if (raw == nullptr) return {};
  std::string out(reinterpret_cast<char*>(raw), length);
  Pq().PQfreemem(raw);
  return out;
}

int64_t PgResult::Changed() const {
  const char* tuples = Pq().PQcmdTuples(result_);
  int64_t value = 0;
  std::from_chars(tuples, tuples + std::char_traits<char>::length(tuples), value);
  return value;
}

std::string PgErrorText(const char* message) {
  std::string text = message ? message : "unknown libpq error";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  // Multi-line server errors: keep them on one line for logs.
  for (char& c : text) {
    if (c == '\n') c = ' ';
  }
  return text;
}

Result<std::unique_ptr<PgConn>> PgConn::Connect(const std::string& url, const std::string& password,
                                                int connect_timeout_ms,
                                                const std::string& application_name) {
  ALIPAYMSG_RETURN_IF_ERROR(LoadLibPq().status());
  const std::string timeout = std::to_string(std::max(1, (connect_timeout_ms + 999) / 1000));
  // Earlier keywords are overridden by what the expanded URL (dbname) carries, so a password in the
  // URL wins over `password`; later keywords override the URL (the timeout is ours to bound).
  std::vector<const char*> keys, values;
  if (!password.empty()) {
    keys.push_back("password");
    values.push_back(password.c_str());
  }
  keys.push_back("application_name");
  values.push_back(application_name.c_str());
  keys.push_back("dbname");
  values.push_back(url.c_str());
  keys.push_back("connect_timeout");
  values.push_back(timeout.c_str());
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = Pq().PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (conn == nullptr) return Unavailable("cannot connect to PostgreSQL: out of memory");
  if (Pq().PQstatus(conn) != CONNECTION_OK) {
    Status status = Unavailable("cannot connect to PostgreSQL at " + RedactPgUrl(url) + ": " +
                                PgErrorText(Pq().PQerrorMessage(conn)));
    Pq().PQfinish(conn);
    return status;
  }
  // Library code never prints: libpq's default notice processor writes NOTICEs to stderr.
  Pq().PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  std::unique_ptr<PgConn> out(new PgConn(conn));
  // Our statements keep time in milliseconds since the epoch themselves; UTC only for the leases'
  // timestamptz, which never leave the database.
  ALIPAYMSG_RETURN_IF_ERROR(out->Run("SET TIME ZONE 'UTC'"));
  return out;
}

PgConn::~PgConn() { Pq().PQfinish(conn_); }

Status PgConn::Reset() {
  prepared_.clear();  // they lived in the old session
  Pq().PQreset(conn_);
  Pq().PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
  if (Pq().PQstatus(conn_) != CONNECTION_OK) {
    return Unavailable("cannot reconnect to PostgreSQL: " + PgErrorText(Pq().PQerrorMessage(conn_)));
  }
  return Run("SET TIME ZONE 'UTC'");
}

namespace {

struct ParamArrays {
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
  explicit ParamArrays(const std::vector<PgParam>& params)
      : values(params.size()), lengths(params.size()), formats(params.size()) {
    for (size_t i = 0; i < params.size(); ++i) {
      values[i] = params[i].value ? params[i].value->data() : nullptr;
      lengths[i] = params[i].value ? static_cast<int>(params[i].value->size()) : 0;
      formats[i] = params[i].binary ? 1 : 0;
    }
  }
};

void PutBigEndian(std::string& out, uint64_t value, int bytes) {
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xFF));
}

}  // namespace

void PgArray::Length(uint32_t length) {
  PutBigEndian(elements_, length, 4);
  ++count_;
}

void PgArray::AddBytes(std::string_view bytes) {
  Length(static_cast<uint32_t>(bytes.size()));
  elements_.append(bytes);
}

void PgArray::AddInt8(int64_t value) {
  Length(8);
  PutBigEndian(elements_, static_cast<uint64_t>(value), 8);
}

void PgArray::AddInt4(int32_t value) {
  Length(4);
  PutBigEndian(elements_, static_cast<uint32_t>(value), 4);
}

void PgArray::AddBool(bool value) {
  Length(1);
  elements_.push_back(value ? 1 : 0);
}

PgParam PgArray::Param() const {
  std::string out;
  out.reserve(20 + elements_.size());
  PutBigEndian(out, count_ == 0 ? 0 : 1, 4);  // dimensions (an empty array has none)
  PutBigEndian(out, 0, 4);                    // no NULL elements
  PutBigEndian(out, static_cast<uint32_t>(type_), 4);
  if (count_ > 0) {
    PutBigEndian(out, static_cast<uint32_t>(count_), 4);
    PutBigEndian(out, 1, 4);  // lower bound
  }
  out += elements_;
  return PgParam::Bytes(std::move(out));
}

Result<PgResult> PgConn::Exec(const std::string& sql, const std::vector<PgParam>& params) {
  last_sqlstate_.clear();
  PGresult* raw;
  if (params.empty()) {
    raw = Pq().PQexec(conn_, sql.c_str());
  } else {
    ParamArrays p(params);
    raw = Pq().PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr, p.values.data(),
                       p.lengths.data(), p.formats.data(), /*resultFormat=*/0);
  }
  return Finish(raw, sql);
}

Result<PgResult> PgConn::ExecPrepared(const char* name, const std::string& sql, const std::vector<PgParam>& params) {
  last_sqlstate_.clear();
  if (!prepared_.count(name)) {
    auto prepared = Finish(Pq().PQprepare(conn_, name, sql.c_str(), static_cast<int>(params.size()), nullptr), sql);
    if (!prepared.ok()) return prepared.status();
    prepared_.insert(name);
  }
  ParamArrays p(params);
  return Finish(Pq().PQexecPrepared(conn_, name, static_cast<int>(params.size()), p.values.data(), p.lengths.data(),
                               p.formats.data(), /*resultFormat=*/0),
                sql);
}

Result<PgResult> PgConn::Finish(PGresult* raw, const std::string& sql) {
  PgResult result(raw);
  const ExecStatusType status = raw ? Pq().PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  const char* state = raw ? Pq().PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
  if (state) last_sqlstate_ = state;
  std::string what = sql.substr(0, sql.find_first_of("(\n"));
  if (what.size() > 60) what = what.substr(0, 60) + "...";
  std::string message = raw ? Pq().PQresultErrorMessage(raw) : "";
  if (message.empty()) message = Pq().PQerrorMessage(conn_);
  const std::string text = "PostgreSQL: " + PgErrorText(message.c_str()) + " (in " + what + ")";
  if (Pq().PQstatus(conn_) == CONNECTION_BAD) return Unavailable("lost the connection to " + text);
  return IoError(text);
}

std::string RedactPgUrl(std::string_view url) {
  std::string out(url);
  const size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    const size_t start = scheme + 3;
    const size_t at = out.find('@', start);
    const size_t slash = out.find('/', start);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      const size_t colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
    // ?password=... among the URI's parameters.
    for (size_t p = out.find("password=", start); p != std::string::npos;
         p = out.find("password=", p + 1)) {
      if (p > 0 && out[p - 1] != '?' && out[p - 1] != '&') continue;
      const size_t begin = p + 9;
      const size_t end = out.find('&', begin);
      out.replace(begin, (end == std::string::npos ? out.size() : end) - begin, "***");
    }
    return out;
  }
  // key=value form: password=secret or password='se cret'.
  for (size_t p = out.find("password"); p != std::string::npos; p = out.find("password", p + 1)) {
    if (p > 0 && out[p - 1] != ' ') continue;
    size_t eq = p + 8;
    while (eq < out.size() && out[eq] == ' ') ++eq;
    if (eq >= out.size() || out[eq] != '=') continue;
    size_t begin = eq + 1;
    while (begin < out.size() && out[begin] == ' ') ++begin;
    size_t end = begin;
    if (end < out.size() && out[end] == '\'') {
      ++end;
      while (end < out.size() && out[end] != '\'') end += out[end] == '\\' ? 2 : 1;
      end = std::min(end + 1, out.size());
    } else {
      while (end < out.size() && out[end] != ' ') ++end;
    }
    out.replace(begin, end - begin, "***");
  }
  return out;
}

bool IsPgText(std::string_view s) { return s.find('\0') == std::string_view::npos && IsValidUtf8(s); }

std::string ToPgText(std::string_view s) {
  if (IsPgText(s)) return std::string(s);
  std::string out = ReplaceInvalidUtf8(s, "?");
  for (char& c : out) {
    if (c == '\0') c = '?';
  }
  return out;
}

}  // namespace alipaymsg::inbox
