#include "base/shared_library.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>

// Declared, defined nowhere: a library that lacks a function the table names.
extern "C" int alipaymsg_test_function_no_library_has(int);

namespace alipaymsg {
namespace {

#define LIBC_FUNCTIONS(X) X(strlen) X(atoi)
struct LibC {
  static constexpr const char* kSoname = "libc.so.6";
  static constexpr const char* kNeededBy = "this test";
  static constexpr const char* kPackage = "libc6";
  LIBC_FUNCTIONS(ALIPAYMSG_LIBRARY_MEMBER)
  Status Resolve(void* handle) {
    LIBC_FUNCTIONS(ALIPAYMSG_LIBRARY_RESOLVE)
    return Status::Ok();
  }
};

struct NotInstalled {
  static constexpr const char* kSoname = "libalipaymsg-no-such-library.so.7";
  static constexpr const char* kNeededBy = "the frobnicator sink";
  static constexpr const char* kPackage = "libfrobnicator7";
  ALIPAYMSG_LIBRARY_MEMBER(strlen)
  Status Resolve(void* handle) {
    ALIPAYMSG_LIBRARY_RESOLVE(strlen)
    return Status::Ok();
  }
};

struct WrongLibrary {
  static constexpr const char* kSoname = "libc.so.6";
  static constexpr const char* kNeededBy = "this test";
  static constexpr const char* kPackage = "libc6";
  ALIPAYMSG_LIBRARY_MEMBER(strlen)
  ALIPAYMSG_LIBRARY_MEMBER(alipaymsg_test_function_no_library_has)
  Status Resolve(void* handle) {
    ALIPAYMSG_LIBRARY_RESOLVE(strlen)
    ALIPAYMSG_LIBRARY_RESOLVE(alipaymsg_test_function_no_library_has)
    return Status::Ok();
  }
};

TEST(SharedLibraryTest, LoadsOnceAndCallsThroughTheTable) {
  Result<const LibC*> first = LazyLibrary<LibC>::Load();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, LazyLibrary<LibC>::Load().value()) << "one table for the process";
  EXPECT_EQ(&LazyLibrary<LibC>::Get(), *first);
  EXPECT_EQ(LazyLibrary<LibC>::Get().strlen("alipay"), 6u);
  EXPECT_EQ(LazyLibrary<LibC>::Get().atoi("2021"), 2021);
}

TEST(SharedLibraryTest, AMissingLibraryNamesWhatNeedsItItsPackageAndTheLoadersReason) {
  Result<const NotInstalled*> loaded = LazyLibrary<NotInstalled>::Load();
  ASSERT_FALSE(loaded.ok());
  const std::string message = loaded.status().message();
  EXPECT_NE(message.find("the frobnicator sink needs libalipaymsg-no-such-library.so.7"), std::string::npos) << message;
  EXPECT_NE(message.find("Debian package libfrobnicator7"), std::string::npos) << message;
  EXPECT_NE(message.find("cannot open shared object file"), std::string::npos) << message;  // dlerror()
  EXPECT_EQ(LazyLibrary<NotInstalled>::Load().status().message(), message) << "the same error again";
  EXPECT_DEATH(LazyLibrary<NotInstalled>::Get(), "") << "no table after a failed load";
}

TEST(SharedLibraryTest, ALibraryWithoutAFunctionOfTheTableIsRefusedNamingTheFunction) {
  Result<const WrongLibrary*> loaded = LazyLibrary<WrongLibrary>::Load();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().message(),
            "libc.so.6 has no alipaymsg_test_function_no_library_has: not the library its headers describe?");
}

}  // namespace
}  // namespace alipaymsg
