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
ALIPAYMSG_LIBRARY_TABLE(LibC, LIBC_FUNCTIONS);
ALIPAYMSG_LIBRARY_NAMES(LibC, "libc.so.6", "this test", "libc6");

#define STRLEN(X) X(strlen)
ALIPAYMSG_LIBRARY_TABLE(NotInstalled, STRLEN);
ALIPAYMSG_LIBRARY_NAMES(NotInstalled, "libalipaymsg-no-such-library.so.7", "the frobnicator sink", "libfrobnicator7");

#define STRLEN_AND_ONE_NO_LIBRARY_HAS(X) X(strlen) X(alipaymsg_test_function_no_library_has)
ALIPAYMSG_LIBRARY_TABLE(WrongLibrary, STRLEN_AND_ONE_NO_LIBRARY_HAS);
ALIPAYMSG_LIBRARY_NAMES(WrongLibrary, "libc.so.6", "this test", "libc6");

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
