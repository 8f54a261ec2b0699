#include "protocol/transcript.h"

namespace alipaymsg::testing {

std::vector<TranscriptEntry> ParseTranscript(std::string_view log) {
  std::vector<TranscriptEntry> entries;
  static constexpr std::string_view kMark = "=== ";
  std::size_t pos = log.starts_with(kMark) ? 0 : log.find("\n=== ");
  if (pos != 0 && pos != std::string_view::npos) ++pos;
  while (pos != std::string_view::npos && pos < log.size()) {
    const std::size_t line_end = log.find('\n', pos);
    if (line_end == std::string_view::npos) break;
    std::string_view title = log.substr(pos + kMark.size(), line_end - pos - kMark.size());
    // Drop the HH:MM:SS time stamp.
    const std::size_t space = title.find(' ');
    title = space == std::string_view::npos ? std::string_view() : title.substr(space + 1);
    const std::size_t next = log.find("\n=== ", line_end);
    const std::size_t body_end = next == std::string_view::npos ? log.size() : next;
    std::string_view body = log.substr(line_end + 1, body_end > line_end ? body_end - line_end - 1 : 0);
    if (next == std::string_view::npos && body.ends_with('\n')) body.remove_suffix(1);
    entries.push_back({std::string(title), std::string(body)});
    pos = next == std::string_view::npos ? next : next + 1;
  }
  return entries;
}

HttpMessage ParseHttpMessage(std::string_view text) {
  HttpMessage m;
  std::size_t head_end = text.find("\r\n\r\n");
  std::string_view head = text.substr(0, head_end);
  if (head_end != std::string_view::npos) m.body = std::string(text.substr(head_end + 4));
  std::size_t pos = 0;
  bool first = true;
  while (pos <= head.size()) {
    std::size_t end = head.find('\n', pos);
    if (end == std::string_view::npos) end = head.size();
    std::string_view line = head.substr(pos, end - pos);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (first) {
      m.start_line = std::string(line);
      first = false;
    } else if (!line.empty()) {
      const std::size_t colon = line.find(':');
      std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      m.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
    }
    pos = end + 1;
  }
  return m;
}

std::string RequestPath(std::string_view start_line) {
  const std::size_t sp = start_line.find(' ');
  const std::size_t q = start_line.find('?', sp);
  if (sp == std::string_view::npos || q == std::string_view::npos) return "";
  return std::string(start_line.substr(sp + 1, q - sp - 1));
}

std::string RequestQuery(std::string_view start_line) {
  const std::size_t q = start_line.find('?');
  const std::size_t sp = start_line.rfind(' ');
  if (q == std::string_view::npos || sp == std::string_view::npos || sp < q) return "";
  return std::string(start_line.substr(q + 1, sp - q - 1));
}

}  // namespace alipaymsg::testing
