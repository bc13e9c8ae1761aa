// Reading back the records of a run: what resume and merge need of a line of
// results.jsonl, results.tsv or errors.jsonl is which input item it is
// about, its index and its item text.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace shoal {

struct RecordKey {
  uint64_t index = 0;      // the item's position in the input, from 1
  std::string item;        // its exact bytes ("item_b64" when not UTF-8); "" when only hashed
  uint64_t item_hash = 0;  // ItemHash(item), or "item_hash" of an output.records = "failures" line
  int64_t attempts = -1;   // "attempts"; -1 = the record has none (results.tsv)
};

// FNV-1a of the item text: what identifies an item beside its index.
uint64_t ItemHash(std::string_view item);

// Whether a failed item can run again (shoal retry) and be listed in
// failed.txt: it has its text, and it reached a worker. One that failed
// with 0 attempts never could: the input could not deliver it whole (too
// long, a missing or empty CSV column, a stray quote), and the same bytes
// fail the same way; its record says which line to fix.
inline bool CanRunAgain(std::string_view item, int64_t attempts) {
  return !item.empty() && attempts != 0;
}

// Parses record lines with simdjson, one parser and its buffers reused for
// every line: resume and merge read runs of many millions of records.
// Not thread-safe; one per reading thread.
class RecordKeyReader {
 public:
  RecordKeyReader();
  ~RecordKeyReader();
  RecordKeyReader(const RecordKeyReader&) = delete;
  RecordKeyReader& operator=(const RecordKeyReader&) = delete;

  // False unless `line` is one whole JSON object with a positive integer
  // "index" and an "item" string (or a valid "item_b64", or the 16 hex
  // digits of an "item_hash"): a torn or edited line is never taken for a
  // record. *key is undefined after false.
  bool Read(std::string_view line, RecordKey* key);

 private:
  struct Parser;
  std::unique_ptr<Parser> parser_;
};

// A line of results.tsv (not the sha256 handler's, which is sha256sum's
// format and has no index): "index \t item \t ok \t ...", with tab, newline,
// carriage return and backslash escaped. False without an index.
bool ReadTsvRecordKey(std::string_view line, RecordKey* key);

}  // namespace shoal
