// What a test must know when it runs in the ASan+UBSan build (scripts/test's second stage): ASan's
// shadow memory and quarantine make absolute RSS figures meaningless, and start-up is several times
// slower. Tests that measure either adapt with these, and say so where they do.
#pragma once

namespace alipaymsg::testing {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kUnderAddressSanitizer = true;
#else
inline constexpr bool kUnderAddressSanitizer = false;
#endif

// Multiplies time windows that assume a process starts and works at normal speed.
inline constexpr int kSanitizerSlowdown = kUnderAddressSanitizer ? 4 : 1;

}  // namespace alipaymsg::testing
