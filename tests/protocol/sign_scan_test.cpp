// The scanners that find what a sender signed skip string contents with memchr. They must agree,
// byte for byte, with the byte-at-a-time scanners they replaced (the Java SDK's loops, kept here as
// the reference) on any text, well-formed or not.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "protocol/frame.h"
#include "protocol/text_util.h"

namespace alipaymsg {
namespace {

constexpr std::size_t npos = std::string_view::npos;

// AlipaySignature.extractJsonObjectEndPosition, as the Java SDK loops.
std::size_t ReferenceObjectEnd(std::string_view text, std::size_t begin) {
  std::size_t open = 0;
  bool in_quotes = false;
  std::size_t backslashes = 0;
  for (std::size_t i = begin; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"' && backslashes % 2 == 0) {
      in_quotes = !in_quotes;
    } else if (c == '{' && !in_quotes) {
      ++open;
    } else if (c == '}' && !in_quotes) {
      if (open > 0) --open;
      if (open == 0) return i + 1;
    }
    backslashes = c == '\\' ? backslashes + 1 : 0;
  }
  return text.size();
}

std::string_view ReferenceSignContentAt(std::string_view text, std::size_t begin) {
  std::size_t b = begin;
  while (b < text.size() && text[b] != '{' && text[b] != '"') ++b;
  if (b >= text.size()) return {};
  std::size_t end;
  if (text[b] == '{') {
    end = ReferenceObjectEnd(text, b);
  } else {
    const std::size_t q = text.find('"', b + 1);
    end = q == npos ? text.size() : q + 1;
  }
  return text.substr(b, end - b);
}

std::size_t ReferenceSkipJsonString(std::string_view text, std::size_t pos) {
  std::size_t i = pos + 1;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\\') {
      i += 2;
    } else if (c == '"') {
      return i + 1;
    } else {
      ++i;
    }
  }
  return npos;
}

// Texts made mostly of the bytes the scanners look at, so that every path is taken often: runs of
// backslashes of every parity before quotes, braces inside and outside strings, unbalanced ends.
std::string RandomText(std::mt19937& rng) {
  static constexpr char kAlphabet[] = {'"', '\\', '{', '}', 'a', ':', ',', ' ', '\\', '"'};
  std::uniform_int_distribution<std::size_t> length(0, 80), pick(0, sizeof kAlphabet - 1), plain(0, 40);
  std::string text;
  const std::size_t n = length(rng);
  while (text.size() < n) {
    if (pick(rng) == 4) text.append(plain(rng), 'x');  // a run of plain text, for memchr to skip
    else text += kAlphabet[pick(rng)];
  }
  return text;
}

TEST(SignScanTest, ObjectEndAgreesWithTheJavaLoopOnAnyText) {
  std::mt19937 rng(20261207);
  for (int round = 0; round < 200000; ++round) {
    const std::string text = RandomText(rng);
    for (std::size_t begin = 0; begin <= text.size(); begin += 1 + begin / 4) {
      ASSERT_EQ(ExtractSignContentAt(text, begin), ReferenceSignContentAt(text, begin))
          << "text " << testing::PrintToString(text) << " begin " << begin;
    }
  }
}

TEST(SignScanTest, SkipJsonStringAgreesWithTheByteLoopOnAnyText) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200000; ++round) {
    const std::string text = RandomText(rng);
    for (std::size_t pos = 0; pos < text.size(); ++pos) {
      if (text[pos] != '"') continue;
      ASSERT_EQ(protocol_internal::SkipJsonString(text, pos), ReferenceSkipJsonString(text, pos))
          << "text " << testing::PrintToString(text) << " pos " << pos;
    }
  }
}

TEST(SignScanTest, EscapesInsideStringsAndUnterminatedText) {
  EXPECT_EQ(ExtractSignContentAt(R"(\{"a":"}"})", 0), R"({"a":"}"})");  // a brace inside a string
  EXPECT_EQ(ExtractSignContentAt(R"({"\\"}x)", 0), R"({"\\"})");       // an escaped backslash, then the quote
  EXPECT_EQ(ExtractSignContentAt(R"({"\"}"}x)", 0), R"({"\"}"})");      // an escaped quote stays inside
  EXPECT_EQ(ExtractSignContentAt(R"({"abc)", 0), R"({"abc)");           // unterminated: the rest
}

}  // namespace
}  // namespace alipaymsg
