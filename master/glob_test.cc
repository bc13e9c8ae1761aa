#include "master/glob.h"

#include <gtest/gtest.h>

#include <fnmatch.h>

#include <random>
#include <string>

namespace shoal {
namespace {

bool M(const char* pattern, std::string_view path, bool is_dir = false) {
  Result<Glob> g = Glob::Compile(pattern);
  EXPECT_TRUE(g.ok()) << pattern << ": " << (g.ok() ? "" : g.status().message());
  return g.ok() && g->Matches(path, is_dir);
}

TEST(GlobTest, Star) {
  EXPECT_TRUE(M("*.tmp", "x.tmp"));
  EXPECT_TRUE(M("*.tmp", ".tmp"));
  EXPECT_FALSE(M("*.tmp", "x.tmpx"));
  EXPECT_TRUE(M("a*b*c", "abc"));
  EXPECT_TRUE(M("a*b*c", "axxbyybc"));
  EXPECT_FALSE(M("a*b*c", "axxbyyb"));
  EXPECT_TRUE(M("*", "anything"));
  EXPECT_TRUE(M("a**b", "axyb"));  // not a whole component: a plain star
  // '*' never crosses '/'.
  EXPECT_FALSE(M("d/*", "d/e/f"));
  EXPECT_TRUE(M("d/*", "d/e"));
  EXPECT_FALSE(M("d*f", "d/f"));
}

TEST(GlobTest, QuestionAndClasses) {
  EXPECT_TRUE(M("f?.bin", "f1.bin"));
  EXPECT_FALSE(M("f?.bin", "f.bin"));
  EXPECT_FALSE(M("a?b", "a/b"));
  EXPECT_TRUE(M("f[0-9][0-9]", "f42"));
  EXPECT_FALSE(M("f[0-9]", "fx"));
  EXPECT_TRUE(M("f[!0-9]", "fx"));
  EXPECT_FALSE(M("f[!0-9]", "f3"));
  EXPECT_TRUE(M("f[^0-9]", "fx"));
  EXPECT_TRUE(M("[abc]", "b"));
  EXPECT_TRUE(M("[]]", "]"));
  EXPECT_TRUE(M("[!]]", "x"));
  EXPECT_FALSE(M("[!]]", "]"));
  EXPECT_TRUE(M("[a-]", "-"));
  EXPECT_TRUE(M("[\\]x]", "]"));
  EXPECT_FALSE(M("a[!x]b", "a/b"));  // a class never matches '/'
}

TEST(GlobTest, Escapes) {
  EXPECT_TRUE(M("\\*", "*"));
  EXPECT_FALSE(M("\\*", "x"));
  EXPECT_TRUE(M("a\\?", "a?"));
  EXPECT_FALSE(M("a\\?", "ab"));
  EXPECT_TRUE(M("\\[x]", "[x]"));
  EXPECT_TRUE(M("\\*\\*/x", "**/x"));  // escaped: not a globstar
  EXPECT_FALSE(M("\\*\\*/x", "a/x"));
}

TEST(GlobTest, BasenameAtAnyDepth) {
  EXPECT_TRUE(M("*.tmp", "a/b/c.tmp"));
  EXPECT_TRUE(M("build", "build", true));
  EXPECT_TRUE(M("build", "src/build", true));
  EXPECT_FALSE(M("build", "src/build/x"));
  // With a '/' the whole path must match.
  EXPECT_FALSE(M("a/*.tmp", "x/a/c.tmp"));
  EXPECT_TRUE(M("a/*.tmp", "a/c.tmp"));
  EXPECT_TRUE(M("/build", "build"));
  EXPECT_FALSE(M("/build", "src/build"));
  EXPECT_TRUE(M("./build", "build"));
  EXPECT_FALSE(M("./build", "src/build"));
}

TEST(GlobTest, Globstar) {
  EXPECT_TRUE(M("**/x", "x"));
  EXPECT_TRUE(M("**/x", "a/x"));
  EXPECT_TRUE(M("**/x", "a/b/c/x"));
  EXPECT_FALSE(M("**/x", "a/xy"));
  EXPECT_TRUE(M("a/**/b", "a/b"));
  EXPECT_TRUE(M("a/**/b", "a/x/b"));
  EXPECT_TRUE(M("a/**/b", "a/x/y/b"));
  EXPECT_FALSE(M("a/**/b", "a/x/y/c"));
  EXPECT_FALSE(M("a/**/b", "b"));
  EXPECT_TRUE(M("a/**", "a"));
  EXPECT_TRUE(M("a/**", "a/x"));
  EXPECT_TRUE(M("a/**", "a/x/y"));
  EXPECT_FALSE(M("a/**", "b/a"));
  EXPECT_TRUE(M("**", "a/b/c"));
  EXPECT_TRUE(M("**/*.c", "src/x/y.c"));
  EXPECT_TRUE(M("**/*.c", "y.c"));
  EXPECT_TRUE(M("a/**/b/**/c", "a/b/c"));
  EXPECT_TRUE(M("a/**/b/**/c", "a/1/b/2/3/c"));
  EXPECT_FALSE(M("a/**/b/**/c", "a/1/2/3/c"));
  // Backtracking: the first "b" is the wrong one.
  EXPECT_TRUE(M("**/b/c", "b/x/b/c"));
  EXPECT_TRUE(M("a//b", "a/b"));
}

TEST(GlobTest, DirOnly) {
  EXPECT_TRUE(M(".git/", ".git", true));
  EXPECT_TRUE(M(".git/", "x/.git", true));
  EXPECT_FALSE(M(".git/", ".git", false));
  EXPECT_TRUE(M("a/b/", "a/b", true));
  EXPECT_FALSE(M("a/b/", "a/b", false));
}

TEST(GlobTest, RawBytes) {
  const std::string bad = "caf\xe9\xff.bin";
  EXPECT_TRUE(M("*.bin", bad));
  EXPECT_TRUE(M("caf\xe9?.bin", bad));
  EXPECT_TRUE(M("caf[\xe0-\xef]*", bad));
  EXPECT_FALSE(M("caf[!\xe0-\xef]*", bad));
  EXPECT_TRUE(M("*\xff*", bad));
  EXPECT_TRUE(M("with space *", "dir/with space x"));
  EXPECT_TRUE(M("-*", "-rf"));
}

TEST(GlobTest, Errors) {
  for (const char* bad : {"", "/", "a[b", "[!", "a\\", "x/[a/b]"}) {
    Result<Glob> g = Glob::Compile(bad);
    EXPECT_FALSE(g.ok()) << bad;
    if (!g.ok()) {
      EXPECT_NE(g.status().message().find("glob '"), std::string::npos);
    }
  }
  Result<GlobSet> s = GlobSet::Compile({"*.c", "a[b"}, "input.exclude");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "input.exclude: glob 'a[b': '[' without a closing ']'");
}

TEST(GlobTest, Set) {
  Result<GlobSet> s = GlobSet::Compile({"*.o", ".git/", "build/**"}, "input.exclude");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->Matches("x/y.o", false));
  EXPECT_TRUE(s->Matches("x/.git", true));
  EXPECT_TRUE(s->Matches("build", true));
  EXPECT_FALSE(s->Matches("src/y.c", false));
  EXPECT_TRUE(GlobSet().empty());
}

// Without "**", an anchored glob means what fnmatch(FNM_PATHNAME) means.
TEST(GlobTest, AgreesWithFnmatch) {
  std::mt19937 rng(42);
  const char* pieces[] = {"a", "b", "*", "?", "[ab]", "[!a]", "/"};
  const char* path_bytes = "ab/";
  for (int round = 0; round < 20000; ++round) {
    std::string pattern = "a/";  // has a '/': matched against the whole path
    for (int n = rng() % 6; n > 0; --n) {
      const char* piece = pieces[rng() % 7];
      bool slash = piece[0] == '/';
      if (slash && pattern.back() == '/') continue;            // no "//"
      if (piece[0] == '*' && pattern.back() == '*') continue;  // no "**"
      pattern += piece;
    }
    if (pattern.back() == '/') pattern += "b";
    std::string path = "a/";
    for (int n = rng() % 6; n > 0; --n) {
      char c = path_bytes[rng() % 3];
      if (c == '/' && path.back() == '/') continue;
      path += c;
    }
    if (path.back() == '/') path += "a";
    Result<Glob> g = Glob::Compile(pattern);
    ASSERT_TRUE(g.ok()) << pattern;
    bool want = fnmatch(pattern.c_str(), path.c_str(), FNM_PATHNAME) == 0;
    ASSERT_EQ(g->Matches(path, false), want) << pattern << " vs " << path;
  }
}

}  // namespace
}  // namespace shoal
