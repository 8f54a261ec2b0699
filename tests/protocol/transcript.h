// Reads the wire transcripts in vectors/java-sdk/wire/*.log: "=== HH:MM:SS WHAT" lines, each
// followed by the exact bytes of what was seen (frames keep their CRLFs; the LF before the next
// "===" line belongs to the log, not to the frame).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace alipaymsg::testing {

struct TranscriptEntry {
  std::string what;  // e.g. "SEND CONSUME", "RECV TEXT", "HTTP-REQUEST", "REGISTER-RESPONSE"
  std::string body;
};

std::vector<TranscriptEntry> ParseTranscript(std::string_view log);

// The three sessions recorded with the official Java client.
inline const char* const kTranscripts[] = {
    "java-sdk/wire/key_mode_session.log",
    "java-sdk/wire/cert_mode_session_with_fail_ack.log",
    "java-sdk/wire/bad_signature_session.log",
};

// An HTTP message in a transcript: start line, headers (name, value), body after CRLF CRLF.
struct HttpMessage {
  std::string start_line;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};
HttpMessage ParseHttpMessage(std::string_view text);

// The query of a request line "GET /path?QUERY HTTP/1.1" and its path.
std::string RequestPath(std::string_view start_line);
std::string RequestQuery(std::string_view start_line);

}  // namespace alipaymsg::testing
