#include "master/resume.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "common/fd.h"
#include "common/json.h"
#include "master/item_source.h"
#include "master/run_dir.h"

namespace shoal {

namespace {

constexpr size_t kSampleSize = 4096;

struct RecordKey {
  bool ok = false;
  uint64_t index = 0;
  std::string item;
};

RecordKey KeyOfJson(std::string_view line) {
  thread_local std::vector<std::pair<std::string, std::string>> fields;
  RecordKey key;
  if (!ParseFlatJsonObject(line, &fields)) return key;
  bool have_index = false, have_item = false;
  for (auto& [k, v] : fields) {
    if (k == "index") {
      char* end = nullptr;
      key.index = std::strtoull(v.c_str(), &end, 10);
      have_index = end != v.c_str() && *end == '\0' && key.index > 0;
    } else if (k == "item" && !have_item) {
      key.item = v;
      have_item = true;
    } else if (k == "item_b64") {
      have_item = DecodeBase64(v, &key.item);
    }
  }
  key.ok = have_index && have_item;
  return key;
}

// results.tsv of a non-sha256 job: "index \t item \t ok \t ...", escaped.
RecordKey KeyOfTsv(std::string_view line) {
  RecordKey key;
  size_t tab = line.find('\t');
  if (tab == std::string_view::npos) return key;
  std::string idx(line.substr(0, tab));
  char* end = nullptr;
  key.index = std::strtoull(idx.c_str(), &end, 10);
  if (end == idx.c_str() || *end != '\0' || key.index == 0) return key;
  size_t tab2 = line.find('\t', tab + 1);
  std::string_view field = line.substr(tab + 1, tab2 - tab - 1);
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 1 < field.size()) {
      char c = field[++i];
      key.item.push_back(c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c);
    } else {
      key.item.push_back(field[i]);
    }
  }
  key.ok = true;
  return key;
}

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
  bool bad_line = false;
  std::string bad_file;
  auto add = [&](const RecordKey& key, bool ok, const std::string& file) {
    if (!key.ok) {
      bad_line = true;
      bad_file = file;
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
    add(tsv ? KeyOfTsv(line) : KeyOfJson(line), true, results);
  });
  if (!st.ok()) return st;
  records.torn += torn;
  std::string errors = run_dir + "/errors.jsonl";
  st = ForEachLine(errors, '\n', /*cut_torn=*/true, &torn,
                   [&](std::string_view line) { add(KeyOfJson(line), false, errors); });
  if (!st.ok()) return st;
  records.torn += torn;
  if (bad_line) {
    return Status::Error(bad_file +
                         ": a record without a readable index and item; "
                         "was this file edited? fix or remove that line, then resume");
  }
  return records;
}

Result<int> ResumeJob(const std::string& run_dir, const std::vector<Override>& overrides,
                      RunOptions options) {
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
