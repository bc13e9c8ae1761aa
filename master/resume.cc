#include "master/resume.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "common/fd.h"
#include "master/item_source.h"
#include "master/record_key.h"
#include "master/run_dir.h"

namespace shoal {

namespace {

constexpr size_t kSampleSize = 4096;

}  // namespace

bool DoneSet::Add(uint64_t index) {
  uint64_t w = index / 64;
  if (w >= bits_.size()) bits_.resize(std::max<size_t>(w + 1, bits_.size() * 2), 0);
  uint64_t bit = uint64_t{1} << (index % 64);
  if (bits_[w] & bit) return false;
  bits_[w] |= bit;
  ++count_;
  max_ = std::max(max_, index);
  return true;
}

uint64_t ItemHash(std::string_view item) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : item) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

Result<RunRecords> ReadRunRecords(const std::string& run_dir, const Settings& settings) {
  RunRecords records;
  if (settings.output.format == OutputFormat::kTsv &&
      settings.job.handler == HandlerKind::kSha256) {
    return Status::Error(run_dir +
                         ": a run with output.format = \"tsv\" and the sha256 handler "
                         "has no item positions in its results, so it cannot be resumed; "
                         "retry its failed items or start a new run");
  }
  std::string bad_line;  // "file:line" of the first line that is not a record
  uint64_t line_no = 0;
  RecordKeyReader reader;
  RecordKey key;
  auto add = [&](bool read, bool ok, const std::string& file) {
    ++line_no;
    if (!read) {
      if (bad_line.empty()) bad_line = file + ":" + std::to_string(line_no);
      return;
    }
    if (!records.done.Add(key.index)) {
      ++records.duplicates;
      return;
    }
    (ok ? records.ok : records.failed)++;
    if (records.sample.size() < kSampleSize || key.index < records.sample.rbegin()->first) {
      records.sample[key.index] = ItemHash(key.item);
      if (records.sample.size() > kSampleSize)
        records.sample.erase(std::prev(records.sample.end()));
    }
  };
  std::string results = run_dir + "/" + ResultsFileName(settings.output.format);
  bool tsv = settings.output.format == OutputFormat::kTsv;
  bool torn = false;
  Status st = ForEachLine(results, '\n', /*cut_torn=*/true, &torn, [&](std::string_view line) {
    add(tsv ? ReadTsvRecordKey(line, &key) : reader.Read(line, &key), true, results);
  });
  if (!st.ok()) return st;
  records.torn += torn;
  std::string errors = run_dir + "/errors.jsonl";
  line_no = 0;
  st = ForEachLine(errors, '\n', /*cut_torn=*/true, &torn,
                   [&](std::string_view line) { add(reader.Read(line, &key), false, errors); });
  if (!st.ok()) return st;
  records.torn += torn;
  if (!bad_line.empty()) {
    return Status::Error(bad_line +
                         ": a record without a readable index and item; "
                         "was this file edited? fix or remove that line, then resume");
  }
  return records;
}

std::string ResolveRunDir(const std::string& run_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path resolved = fs::canonical(run_dir, ec);
  if (ec) resolved = fs::absolute(run_dir, ec).lexically_normal();
  std::string s = ec ? run_dir : resolved.string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

Result<int> ResumeJob(const std::string& given_dir, const std::vector<Override>& overrides,
                      RunOptions options) {
  const std::string run_dir = ResolveRunDir(given_dir);
  auto fail = [](const std::string& message) { return Status::Error(message); };
  struct stat st;
  if (::stat((run_dir + "/settings.toml").c_str(), &st) != 0) {
    return fail(run_dir + " is not a shoal run directory (no settings.toml)");
  }
  auto settings = LoadSettings(run_dir + "/settings.toml", overrides);
  if (!settings.ok()) return settings.status();
  auto records = ReadRunRecords(run_dir, *settings);
  if (!records.ok()) return records.status();

  // The input must be the one the run had: compare the recorded items with
  // what the input holds at the same positions, before anything runs.
  auto source = OpenItemSource(*settings, settings->input.items);
  if (!source.ok()) return source.status();
  auto next_sample = records->sample.begin();
  Item item;
  while (next_sample != records->sample.end() && (*source)->Next(&item)) {
    if (item.index < next_sample->first) continue;
    if (item.index > next_sample->first || ItemHash(item.text) != next_sample->second) {
      return fail("the input changed since " + run_dir + " ran: item " +
                  std::to_string(next_sample->first) +
                  " is not the one recorded there; resume needs the same input "
                  "(start a new run, or 'shoal retry' its failed items)");
    }
    ++next_sample;
  }
  if (next_sample != records->sample.end()) {
    return fail("the input changed since " + run_dir + " ran: it ends before item " +
                std::to_string(next_sample->first) + ", which has a record");
  }
  options.resume_dir = run_dir;
  options.resume = std::make_shared<RunRecords>(std::move(*records));
  return RunJob(*settings, options);
}

}  // namespace shoal
