// libFuzzer: ParseFrame and the §9.2 extraction on arbitrary bytes. Besides "no crash, no
// out-of-bounds read" (ASan/UBSan), it checks the invariants callers rely on.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/frame.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

bool Within(std::string_view outer, std::string_view inner) {
  return inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const auto signed_text = alipaymsg::ExtractSignedData(text);
  if (signed_text) {
    Check(Within(text, *signed_text));
    Check(!signed_text->empty() && signed_text->front() == '{');
  }
  for (std::size_t begin : {std::size_t{0}, size / 2, size}) {
    Check(Within(text, alipaymsg::ExtractSignContentAt(text, begin)) ||
          alipaymsg::ExtractSignContentAt(text, begin).empty());
  }

  auto frame = alipaymsg::ParseFrame(text);
  if (!frame.ok()) {
    Check(!frame.status().message().empty());
    return 0;
  }
  const alipaymsg::Frame& f = *frame;
  if (f.empty_document) return 0;
  Check(!f.protocol.type.empty());
  if (f.has_data) {
    // The signed text is the data object exactly as §9.2 finds it in the JSON part.
    const std::string_view json = text.substr(text.find("\r\n\r\n") + 4);
    const auto expected = alipaymsg::ExtractSignedData(json);
    Check(expected.has_value() && *expected == f.signed_data);
    if (f.content) {
      Check(f.signed_data.find(*f.content) != std::string::npos);
      Check(f.content->front() == '{' && f.content->back() == '}');
    }
  } else {
    Check(f.signed_data.empty() && !f.content);
  }
  // Writing never fails, and a frame we write parses back to the same protocol members.
  const std::string ack = alipaymsg::BuildConsumeAck(f, true, "cFALLBACK0000");
  auto back = alipaymsg::ParseFrame(ack);
  Check(back.ok());
  Check(back->protocol.msg_id == f.protocol.msg_id || back->protocol.msg_id.empty());
  return 0;
}
