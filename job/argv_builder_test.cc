#include "job/argv_builder.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "job/test_items.h"

namespace shoal {
namespace {

using Argv = std::vector<std::string>;

using test::ListItems;

ArgvBuilder Compile(Argv argv, BatchMode batch, int max_args = 0, int max_bytes = 128 * 1024,
                    bool shell = false) {
  CommandSettings c;
  c.argv = std::move(argv);
  c.batch = batch;
  c.max_args = max_args;
  c.max_bytes = max_bytes;
  c.shell = shell;
  Result<ArgvBuilder> b = ArgvBuilder::Compile(c);
  EXPECT_TRUE(b.ok()) << b.status().message();
  return std::move(b).value();
}

Argv Build(const ArgvBuilder& b, const std::vector<ItemPaths>& items) {
  Argv argv;
  Status s = b.BuildBatch(items, /*make_out_dir=*/false, &argv);
  EXPECT_TRUE(s.ok()) << s.message();
  return argv;
}

TEST(ArgvBuilderBatch, ContextRepeatsTheWordPerItem) {
  ArgvBuilder b = Compile({"echo", "-n", "pre-{}-post"}, BatchMode::kContext);
  EXPECT_EQ(Build(b, ListItems({"a", "b", "c"})),
            (Argv{"echo", "-n", "pre-a-post", "pre-b-post", "pre-c-post"}));
}

TEST(ArgvBuilderBatch, ContextRepeatsEachWordInTurn) {
  // parallel -X printf '[%s]' {}.a {}.b ::: 1 2 gives [1.a][2.a][1.b][2.b].
  ArgvBuilder b = Compile({"printf", "[%s]", "{}.a", "{}.b"}, BatchMode::kContext);
  EXPECT_EQ(Build(b, ListItems({"1", "2"})), (Argv{"printf", "[%s]", "1.a", "2.a", "1.b", "2.b"}));
}

TEST(ArgvBuilderBatch, JoinPutsTheContextOnceAroundTheItems) {
  // parallel -m: "pre-a b c-post", which the shell splits into three words.
  ArgvBuilder b = Compile({"echo", "pre-{}-post"}, BatchMode::kJoin);
  EXPECT_EQ(Build(b, ListItems({"a", "b", "c"})), (Argv{"echo", "pre-a", "b", "c-post"}));
  EXPECT_EQ(Build(b, ListItems({"a"})), (Argv{"echo", "pre-a-post"}));
}

TEST(ArgvBuilderBatch, NoPlaceholderAppendsTheItems) {
  for (BatchMode mode : {BatchMode::kContext, BatchMode::kJoin}) {
    ArgvBuilder b = Compile({"gzip", "-kf"}, mode);
    EXPECT_EQ(Build(b, ListItems({"x y", "z"})), (Argv{"gzip", "-kf", "x y", "z"}));
  }
}

TEST(ArgvBuilderBatch, WordsWithoutAnItemPlaceholderAppearOnce) {
  ArgvBuilder b = Compile({"tool", "--log={run}/w{worker}", "{.}"}, BatchMode::kContext);
  EXPECT_EQ(Build(b, ListItems({"a.gz", "b.gz"})), (Argv{"tool", "--log=/run/w1", "a", "b"}));
}

TEST(ArgvBuilderBatch, ShellJoinQuotesEachItem) {
  ArgvBuilder b = Compile({"cat {} > all"}, BatchMode::kJoin, 0, 128 * 1024, /*shell=*/true);
  EXPECT_EQ(Build(b, ListItems({"a b", "c'd"})),
            (Argv{"/bin/sh", "-c", "cat 'a b' 'c'\\''d' > all"}));
}

TEST(ArgvBuilderBatch, MaxArgsLimitsTheLine) {
  ArgvBuilder b = Compile({"echo"}, BatchMode::kJoin, /*max_args=*/2);
  EXPECT_EQ(b.Fit(ListItems({"a", "b", "c"})), 2u);
  EXPECT_EQ(b.Fit(ListItems({"a"})), 1u);
}

TEST(ArgvBuilderBatch, MaxBytesLimitsTheLineAsTheKernelCountsIt) {
  // "echo": 5 + 8, the null pointer: 8; each 10-byte item: 11 + 8.
  const size_t fixed = 5 + 8 + 8, per_item = 11 + 8;
  const std::vector<ItemPaths> items = ListItems(std::vector<std::string>(10, "0123456789"));
  for (BatchMode mode : {BatchMode::kContext, BatchMode::kJoin}) {
    ArgvBuilder b = Compile({"echo"}, mode, 0, static_cast<int>(fixed + 3 * per_item));
    EXPECT_EQ(b.Fit(items), 3u);
    ArgvBuilder one_less = Compile({"echo"}, mode, 0, static_cast<int>(fixed + 3 * per_item - 1));
    EXPECT_EQ(one_less.Fit(items), 2u);
    Argv argv = Build(b, std::vector<ItemPaths>(items.begin(), items.begin() + 3));
    size_t bytes = sizeof(char*);
    for (const std::string& a : argv) bytes += a.size() + 1 + sizeof(char*);
    EXPECT_EQ(bytes, fixed + 3 * per_item);
  }
}

TEST(ArgvBuilderBatch, AnItemTooBigAloneStillGetsALine) {
  ArgvBuilder b = Compile({"echo"}, BatchMode::kContext, 0, 4096);
  EXPECT_EQ(b.Fit(ListItems({std::string(5000, 'x'), "b"})), 1u);
}

TEST(ArgvBuilderBatch, WithoutBatchOneItemALine) {
  ArgvBuilder b = Compile({"echo", "{}"}, BatchMode::kNone);
  EXPECT_FALSE(b.batches());
  EXPECT_EQ(b.Fit(ListItems({"a", "b"})), 1u);
  Argv argv;
  ASSERT_TRUE(b.Build(ListItems({"a"})[0], false, &argv).ok());
  EXPECT_EQ(argv, (Argv{"echo", "a"}));
}

TEST(ArgvBuilderBatch, MaxBytesOverArgMaxIsRefused) {
  CommandSettings c;
  c.argv = {"echo"};
  c.batch = BatchMode::kContext;
  c.max_bytes = 1 << 30;
  Status s = CheckCommandLineRoom(c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("ARG_MAX"), std::string::npos);
  c.max_bytes = 128 * 1024;
  EXPECT_TRUE(CheckCommandLineRoom(c).ok());
}

}  // namespace
}  // namespace shoal
