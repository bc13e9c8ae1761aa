#include "master/shard.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <set>

namespace shoal {
namespace {

// Items from memory, numbered 1.. in the order given.
class VectorSource : public ItemSource {
 public:
  explicit VectorSource(std::vector<std::string> items) : items_(std::move(items)) {}
  bool Next(Item* item) override {
    if (next_ == items_.size()) return false;
    item->index = next_ + 1;
    item->text = items_[next_++];
    item->error.clear();
    return true;
  }
  Status status() const override { return Status::Ok(); }
  uint64_t seen() const override { return next_; }
  bool done() const override { return next_ == items_.size(); }

 private:
  std::vector<std::string> items_;
  size_t next_ = 0;
};

// Paths as a tree walk gives them: "d017/f00042.bin".
std::vector<std::string> TreePaths(int count) {
  std::vector<std::string> paths;
  char buf[64];
  for (int i = 0; i < count; ++i) {
    std::snprintf(buf, sizeof buf, "d%03d/f%05d.bin", i / 1000, i % 1000);
    paths.emplace_back(buf);
  }
  return paths;
}

// What a ShardFilter passes: index -> text.
std::map<uint64_t, std::string> Filtered(std::vector<std::string> items, ShardSpec spec) {
  ShardFilter filter(std::make_unique<VectorSource>(std::move(items)), spec);
  std::map<uint64_t, std::string> out;
  Item item;
  while (filter.Next(&item)) out[item.index] = item.text;
  EXPECT_TRUE(filter.done());
  EXPECT_EQ(filter.seen(), out.size());
  return out;
}

GetEnvFn Env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

TEST(ShardTest, ParsesKOfN) {
  Result<ShardSpec> s = ParseShard("2/8");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->index, 2u);
  EXPECT_EQ(s->count, 8u);
  EXPECT_EQ(FormatShard(*s), "2/8");
  EXPECT_TRUE(ParseShard("0/1").ok());
  for (const char* bad : {"", "3", "8/8", "9/8", "0/0", "-1/4", "1/-4", "a/4", "1/4x", "1//4",
                          " 1/4", "+1/4", "1/99999999999"}) {
    EXPECT_FALSE(ParseShard(bad).ok()) << bad;
  }
}

// The hash is part of the contract: shards written by one version of shoal
// must merge with shards written by another.
TEST(ShardTest, HashIsPinned) {
  EXPECT_EQ(ShardHash(""), 0xd725c98e9509182eULL);
  EXPECT_EQ(ShardHash("a"), 0x43a941547f0150e5ULL);
  EXPECT_EQ(ShardHash("d01/f003.bin"), 0x9d195781152e985bULL);
  EXPECT_EQ(ShardOfHash(ShardHash("d01/f003.bin"), 4), 2u);
  EXPECT_EQ(ShardOfHash(ShardHash("d01/f003.bin"), 7), 4u);
  EXPECT_EQ(ShardOfHash(~uint64_t{0}, 5), 4u);
  EXPECT_EQ(ShardOfHash(0, 5), 0u);
}

TEST(ShardTest, ShardsPartitionTheInputAndKeepIndices) {
  const std::vector<std::string> items = TreePaths(5000);
  std::map<uint64_t, std::string> all;
  for (uint32_t k = 0; k < 4; ++k) {
    for (const auto& [index, text] : Filtered(items, {k, 4})) {
      EXPECT_TRUE(all.emplace(index, text).second) << "item " << index << " in two shards";
      EXPECT_EQ(items[index - 1], text) << "index " << index << " is not its input position";
    }
  }
  EXPECT_EQ(all.size(), items.size());
}

TEST(ShardTest, AssignmentIsStableAcrossRunsAndInputOrders) {
  std::vector<std::string> items = TreePaths(20000);
  std::map<std::string, uint32_t> first;
  for (uint32_t k = 0; k < 8; ++k) {
    for (const auto& [index, text] : Filtered(items, {k, 8})) first[text] = k;
  }
  ASSERT_EQ(first.size(), items.size());
  std::mt19937 rng(7);
  for (int round = 0; round < 3; ++round) {
    std::shuffle(items.begin(), items.end(), rng);
    for (uint32_t k = 0; k < 8; ++k) {
      for (const auto& [index, text] : Filtered(items, {k, 8})) {
        EXPECT_EQ(first[text], k) << text << " moved to another shard in another order";
      }
    }
  }
}

TEST(ShardTest, BalancedWithinAFewPercentOn100000Items) {
  const std::vector<std::string> items = TreePaths(100000);
  for (uint32_t n : {2u, 3u, 4u, 8u, 16u}) {
    std::vector<uint64_t> counts(n);
    for (const std::string& item : items) ++counts[ShardOfHash(ShardHash(item), n)];
    const double expected = static_cast<double>(items.size()) / n;
    for (uint32_t k = 0; k < n; ++k) {
      EXPECT_NEAR(counts[k], expected, expected * 0.05) << "shard " << k << " of " << n;
    }
  }
  // Numbered lines (customer ids) as well as paths.
  std::vector<uint64_t> counts(10);
  for (int id = 0; id < 100000; ++id) ++counts[ShardOfHash(ShardHash(std::to_string(id)), 10)];
  for (uint64_t c : counts) EXPECT_NEAR(c, 10000, 500);
}

TEST(ShardTest, AnItemWithoutTextIsPlacedByIndex) {
  std::set<uint32_t> shards;
  for (uint64_t i = 1; i <= 64; ++i) shards.insert(ShardOfItem(Item{i, "", "bad"}, 4));
  EXPECT_EQ(shards.size(), 4u) << "items without text must not all land in one shard";
  EXPECT_EQ(ShardOfItem(Item{5, "", "line too long"}, 4), ShardOfItem(Item{5, "", "other"}, 4));
}

TEST(ShardTest, EnvironmentWithoutShard) {
  Result<EnvShard> env = ShardFromEnvironment(Env({}));
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->shard, "");
  EXPECT_EQ(env->note, "");
}

TEST(ShardTest, SlurmArrayZeroToCountMinusOne) {
  Result<EnvShard> env = ShardFromEnvironment(Env({{"SLURM_ARRAY_TASK_ID", "3"},
                                                   {"SLURM_ARRAY_TASK_COUNT", "4"},
                                                   {"SLURM_ARRAY_TASK_MIN", "0"},
                                                   {"SLURM_ARRAY_TASK_MAX", "3"}}));
  ASSERT_TRUE(env.ok()) << env.status().message();
  EXPECT_EQ(env->shard, "3/4");
  EXPECT_NE(env->source.find("SLURM_ARRAY_TASK_ID=3"), std::string::npos);
}

TEST(ShardTest, SlurmArrayOfAnotherShapeIsAnError) {
  const std::map<std::string, std::string> base = {{"SLURM_ARRAY_TASK_ID", "2"},
                                                   {"SLURM_ARRAY_TASK_COUNT", "4"},
                                                   {"SLURM_ARRAY_TASK_MIN", "0"},
                                                   {"SLURM_ARRAY_TASK_MAX", "3"}};
  auto with = [&](const std::string& key, const char* value) {
    auto vars = base;
    if (value == nullptr)
      vars.erase(key);
    else
      vars[key] = value;
    return ShardFromEnvironment(Env(vars));
  };
  // --array=1-4: the tasks are not shards 0..3.
  Result<EnvShard> r = with("SLURM_ARRAY_TASK_MIN", "1");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("SLURM_ARRAY_TASK_MIN=1"), std::string::npos);
  EXPECT_NE(r.status().message().find("--shard K/N"), std::string::npos);
  // --array=0-6:2: four tasks, numbered up to 6.
  EXPECT_FALSE(with("SLURM_ARRAY_TASK_MAX", "6").ok());
  // A resubmitted single task (--array=2): MIN = MAX = 2, COUNT = 1.
  {
    auto vars = base;
    vars["SLURM_ARRAY_TASK_MIN"] = "2";
    vars["SLURM_ARRAY_TASK_MAX"] = "2";
    vars["SLURM_ARRAY_TASK_COUNT"] = "1";
    EXPECT_FALSE(ShardFromEnvironment(Env(vars)).ok());
  }
  EXPECT_FALSE(with("SLURM_ARRAY_TASK_COUNT", nullptr).ok());
  EXPECT_FALSE(with("SLURM_ARRAY_TASK_MIN", nullptr).ok());
  EXPECT_FALSE(with("SLURM_ARRAY_TASK_COUNT", "four").ok());
  EXPECT_FALSE(with("SLURM_ARRAY_TASK_ID", "7").ok());
}

TEST(ShardTest, KubernetesIndexedJob) {
  Result<EnvShard> env =
      ShardFromEnvironment(Env({{"JOB_COMPLETION_INDEX", "5"}, {"SHOAL_SHARDS", "6"}}));
  ASSERT_TRUE(env.ok()) << env.status().message();
  EXPECT_EQ(env->shard, "5/6");

  EXPECT_FALSE(
      ShardFromEnvironment(Env({{"JOB_COMPLETION_INDEX", "6"}, {"SHOAL_SHARDS", "6"}})).ok());
  EXPECT_FALSE(
      ShardFromEnvironment(Env({{"JOB_COMPLETION_INDEX", "1"}, {"SHOAL_SHARDS", "0"}})).ok());
  Result<EnvShard> no_index = ShardFromEnvironment(Env({{"SHOAL_SHARDS", "6"}}));
  ASSERT_FALSE(no_index.ok());
  EXPECT_NE(no_index.status().message().find("JOB_COMPLETION_INDEX"), std::string::npos);

  // Any Indexed Job has the index; without SHOAL_SHARDS it is not a shard.
  Result<EnvShard> only_index = ShardFromEnvironment(Env({{"JOB_COMPLETION_INDEX", "1"}}));
  ASSERT_TRUE(only_index.ok());
  EXPECT_EQ(only_index->shard, "");
  EXPECT_NE(only_index->note.find("SHOAL_SHARDS"), std::string::npos);
}

TEST(ShardTest, SlurmWinsOverKubernetes) {
  Result<EnvShard> env = ShardFromEnvironment(Env({{"SLURM_ARRAY_TASK_ID", "0"},
                                                   {"SLURM_ARRAY_TASK_COUNT", "2"},
                                                   {"SLURM_ARRAY_TASK_MIN", "0"},
                                                   {"SLURM_ARRAY_TASK_MAX", "1"},
                                                   {"JOB_COMPLETION_INDEX", "3"},
                                                   {"SHOAL_SHARDS", "4"}}));
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->shard, "0/2");
}

TEST(ShardTest, LogLineSaysWhichShardAndWhere) {
  const std::string line = ShardLogLine("1/4", Env({{"SLURM_ARRAY_JOB_ID", "77"},
                                                    {"SLURM_ARRAY_TASK_ID", "1"},
                                                    {"SLURMD_NODENAME", "node7"}}));
  EXPECT_NE(line.find("shard 1/4"), std::string::npos) << line;
  EXPECT_NE(line.find("0..3"), std::string::npos) << line;
  EXPECT_NE(line.find("Slurm array job 77, task 1, node node7"), std::string::npos) << line;
  EXPECT_NE(ShardLogLine("0/2", Env({{"JOB_COMPLETION_INDEX", "0"}})).find("Kubernetes"),
            std::string::npos);
  EXPECT_EQ(ShardLogLine("0/2", Env({})).find("Slurm"), std::string::npos);
}

}  // namespace
}  // namespace shoal
