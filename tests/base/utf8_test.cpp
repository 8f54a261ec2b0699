#include "base/utf8.h"

#include <gtest/gtest.h>

namespace alipaymsg {
namespace {

TEST(Utf8Test, WellFormedSequencesOfEachLength) {
  EXPECT_EQ(Utf8SequenceLength("a"), 1u);
  EXPECT_EQ(Utf8SequenceLength("\xC3\xA9"), 2u);              // é
  EXPECT_EQ(Utf8SequenceLength("\xE6\xB6\x88x"), 3u);         // 消, then more text
  EXPECT_EQ(Utf8SequenceLength("\xF0\x9F\x98\x80"), 4u);      // U+1F600
  EXPECT_EQ(Utf8SequenceLength("\xF4\x8F\xBF\xBF"), 4u);      // U+10FFFF
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("支付宝 messages \xF0\x9F\x98\x80"));
  EXPECT_TRUE(IsValidUtf8(std::string_view("a\0b", 3)));      // NUL is UTF-8 (PostgreSQL refuses it elsewhere)
}

TEST(Utf8Test, EveryKindOfMalformedSequenceIsRefused) {
  for (std::string_view bad : {"\x80", "\xBF", "\xFF", "\xFE", "\xF8\x88\x80\x80\x80",  // no lead, no such lead
                               "\xC3", "\xE6\xB6", "\xF0\x9F\x98",                       // truncated
                               "\xC3(", "\xE6(\x88",                                     // not a continuation
                               "\xC0\xAF", "\xE0\x80\xAF", "\xF0\x80\x80\xAF",           // overlong '/'
                               "\xED\xA0\x80", "\xED\xBF\xBF",                           // surrogates
                               "\xF4\x90\x80\x80"}) {                                    // above U+10FFFF
    EXPECT_EQ(Utf8SequenceLength(bad), 0u) << testing::PrintToString(bad);
    EXPECT_FALSE(IsValidUtf8(std::string("ok ") + std::string(bad) + " ok")) << testing::PrintToString(bad);
  }
}

TEST(Utf8Test, ReplacementKeepsEveryWellFormedSequenceAndReplacesEachBadByte) {
  EXPECT_EQ(ReplaceInvalidUtf8("caf\xC3\xA9", "?"), "caf\xC3\xA9");
  EXPECT_EQ(ReplaceInvalidUtf8("a\xFF" "b", "?"), "a?b");
  EXPECT_EQ(ReplaceInvalidUtf8("\xC0\xAF", "\xEF\xBF\xBD"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(ReplaceInvalidUtf8("\xE6\xB6" "x\xE6\xB6\x88", "?"), "??x\xE6\xB6\x88");  // a truncated one, then a whole one
  EXPECT_TRUE(IsValidUtf8(ReplaceInvalidUtf8("\xF0\x9F\x98\xED\xA0\x80\xF4\x90\x80\x80", "\xEF\xBF\xBD")));
}

}  // namespace
}  // namespace alipaymsg
