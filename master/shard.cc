#include "master/shard.h"

#include <charconv>

namespace shoal {

namespace {

bool ParseNumber(std::string_view text, uint64_t* out) {
  if (text.empty() || text.size() > 9) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

// MurmurHash3's fmix64.
uint64_t Mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

std::string Var(const GetEnvFn& getenv_fn, const char* name) {
  const char* v = getenv_fn(name);
  return v == nullptr ? "" : v;
}

}  // namespace

Result<ShardSpec> ParseShard(std::string_view text) {
  const size_t slash = text.find('/');
  uint64_t k = 0, n = 0;
  if (slash == std::string_view::npos || !ParseNumber(text.substr(0, slash), &k) ||
      !ParseNumber(text.substr(slash + 1), &n)) {
    return Status::Error("shard '" + std::string(text) + "' is not K/N, e.g. 0/4");
  }
  if (n < 1 || n > 1'000'000 || k >= n) {
    return Status::Error("shard '" + std::string(text) + "' does not exist: K/N needs N >= 1 " +
                         "and K from 0 to N-1");
  }
  return ShardSpec{static_cast<uint32_t>(k), static_cast<uint32_t>(n)};
}

std::string FormatShard(ShardSpec spec) {
  return std::to_string(spec.index) + "/" + std::to_string(spec.count);
}

uint64_t ShardHash(std::string_view text) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return Mix(h);
}

uint32_t ShardOfHash(uint64_t hash, uint32_t count) {
  return static_cast<uint32_t>((static_cast<unsigned __int128>(hash) * count) >> 64);
}

uint32_t ShardOfItem(const Item& item, uint32_t count) {
  if (item.text.empty()) return ShardOfHash(Mix(item.index), count);
  return ShardOfHash(ShardHash(item.text), count);
}

Result<EnvShard> ShardFromEnvironment(const GetEnvFn& getenv_fn) {
  EnvShard env;
  const std::string id = Var(getenv_fn, "SLURM_ARRAY_TASK_ID");
  if (!id.empty()) {
    const std::string count = Var(getenv_fn, "SLURM_ARRAY_TASK_COUNT");
    const std::string min = Var(getenv_fn, "SLURM_ARRAY_TASK_MIN");
    const std::string max = Var(getenv_fn, "SLURM_ARRAY_TASK_MAX");
    const std::string seen = "SLURM_ARRAY_TASK_ID=" + id +
                             ", SLURM_ARRAY_TASK_COUNT=" + (count.empty() ? "(unset)" : count) +
                             ", SLURM_ARRAY_TASK_MIN=" + (min.empty() ? "(unset)" : min) +
                             ", SLURM_ARRAY_TASK_MAX=" + (max.empty() ? "(unset)" : max);
    const std::string fix =
        "shoal takes the shard from a Slurm array numbered 0 to N-1 (sbatch --array=0-7 "
        "for 8 shards, as 'shoal slurm' writes it); otherwise name the shard with --shard K/N "
        "(--shard 0/1 for the whole input)";
    uint64_t k = 0, n = 0, lo = 0, hi = 0;
    if (!ParseNumber(id, &k) || !ParseNumber(count, &n) || !ParseNumber(min, &lo) ||
        !ParseNumber(max, &hi)) {
      return Status::Error("cannot tell the shard from the Slurm environment (" + seen + "); " +
                           fix);
    }
    if (n < 1 || lo != 0 || hi != n - 1 || k > hi) {
      return Status::Error("the Slurm array is not numbered 0 to COUNT-1 (" + seen + "), " +
                           "so its tasks are not the shards 0.." +
                           std::to_string(n == 0 ? 0 : n - 1) + " of one job; " + fix);
    }
    env.shard = std::to_string(k) + "/" + std::to_string(n);
    env.source = "SLURM_ARRAY_TASK_ID=" + id + " of SLURM_ARRAY_TASK_COUNT=" + count;
    return env;
  }

  const std::string index = Var(getenv_fn, "JOB_COMPLETION_INDEX");
  const std::string shards = Var(getenv_fn, "SHOAL_SHARDS");
  if (index.empty() && shards.empty()) return env;
  if (index.empty()) {
    return Status::Error("SHOAL_SHARDS=" + shards +
                         " is set but JOB_COMPLETION_INDEX is not (a Kubernetes Indexed Job "
                         "sets it); name the shard with --shard K/N instead");
  }
  if (shards.empty()) {
    env.note = "JOB_COMPLETION_INDEX=" + index +
               " is set but SHOAL_SHARDS is not: running the whole input; set SHOAL_SHARDS to "
               "the job's completions to run one shard per index";
    return env;
  }
  uint64_t k = 0, n = 0;
  if (!ParseNumber(index, &k) || !ParseNumber(shards, &n) || n < 1 || k >= n) {
    return Status::Error("JOB_COMPLETION_INDEX=" + index + " with SHOAL_SHARDS=" + shards +
                         " is not a shard: SHOAL_SHARDS must be the job's completions N >= 1 "
                         "and the index 0 to N-1");
  }
  env.shard = std::to_string(k) + "/" + std::to_string(n);
  env.source = "JOB_COMPLETION_INDEX=" + index + " of SHOAL_SHARDS=" + shards;
  return env;
}

std::string ShardLogLine(std::string_view shard, const GetEnvFn& getenv_fn) {
  Result<ShardSpec> spec = ParseShard(shard);
  std::string line = "shard " + std::string(shard);
  if (spec.ok()) {
    line += ": this run takes the items whose text hashes to shard " + std::to_string(spec->index) +
            " of 0.." + std::to_string(spec->count - 1) +
            "; item indices are those of the whole input";
  }
  const std::string job = Var(getenv_fn, "SLURM_ARRAY_JOB_ID");
  const std::string task = Var(getenv_fn, "SLURM_ARRAY_TASK_ID");
  const std::string index = Var(getenv_fn, "JOB_COMPLETION_INDEX");
  if (!job.empty() && !task.empty()) {
    line += " (Slurm array job " + job + ", task " + task;
    const std::string node = Var(getenv_fn, "SLURMD_NODENAME");
    if (!node.empty()) line += ", node " + node;
    line += ")";
  } else if (!index.empty()) {
    line += " (Kubernetes job completion index " + index + ")";
  }
  return line;
}

bool ShardFilter::Next(Item* item) {
  while (inner_->Next(item)) {
    if (ShardOfItem(*item, spec_.count) == spec_.index) {
      ++passed_;
      return true;
    }
    ++dropped_;
  }
  return false;
}

}  // namespace shoal
