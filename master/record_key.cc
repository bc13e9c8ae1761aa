#include "master/record_key.h"

#include <simdjson.h>

#include <cstdlib>

#include "common/json.h"

namespace shoal {

uint64_t ItemHash(std::string_view item) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : item) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

namespace {

// "item_hash" as RunDirectory::FormatSuccess writes it: exactly 16 lowercase hex digits.
bool ParseItemHash(std::string_view text, uint64_t* hash) {
  if (text.size() != 16) return false;
  uint64_t h = 0;
  for (char c : text) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return false;
    h = h << 4 | static_cast<uint64_t>(d);
  }
  *hash = h;
  return true;
}

}  // namespace

// simdjson's DOM parser rather than its On-Demand one, though On-Demand
// parses a record faster (6.2M against 4.3M records/s in a one-off test on
// the 2-core dev machine; nlohmann::json::parse managed 0.28M): the DOM
// parser validates the whole line (On-Demand takes `{...}{...}`, two records
// run together, for the first), and it picks the CPU's SIMD kernel at run
// time where On-Demand is fixed at the build's baseline (x86-64: none).
struct RecordKeyReader::Parser {
  simdjson::dom::parser parser;
  // simdjson reads up to SIMDJSON_PADDING bytes past the end of its input:
  // each line is copied here first (a record is some 150 bytes).
  std::string padded;
};

RecordKeyReader::RecordKeyReader() : parser_(std::make_unique<Parser>()) {}
RecordKeyReader::~RecordKeyReader() = default;

bool RecordKeyReader::Read(std::string_view line, RecordKey* key) {
  std::string& buf = parser_->padded;
  buf.assign(line);
  buf.resize(line.size() + simdjson::SIMDJSON_PADDING);
  simdjson::dom::object object;
  if (parser_->parser.parse(buf.data(), line.size(), /*realloc_if_needed=*/false).get(object) !=
      simdjson::SUCCESS) {
    return false;
  }
  bool have_index = false, have_item = false, have_b64 = false, have_hash = false;
  key->attempts = -1;
  key->item.clear();
  for (auto [name, value] : object) {
    if (name == "index") {
      if (value.get(key->index) != simdjson::SUCCESS || key->index == 0) return false;
      have_index = true;
    } else if (name == "item" || name == "item_b64") {
      std::string_view text;
      if (value.get(text) != simdjson::SUCCESS) return false;
      if (name == "item_b64") {
        if (!DecodeBase64(text, &key->item)) return false;
        have_b64 = true;
      } else if (!have_b64) {
        key->item.assign(text);
      }
      have_item = true;
    } else if (name == "item_hash") {
      std::string_view text;
      if (value.get(text) != simdjson::SUCCESS || !ParseItemHash(text, &key->item_hash)) {
        return false;
      }
      have_hash = true;
    } else if (name == "attempts") {
      if (value.get(key->attempts) != simdjson::SUCCESS) key->attempts = -1;
    }
  }
  if (have_item) key->item_hash = ItemHash(key->item);
  return have_index && (have_item || have_hash);
}

bool ReadTsvRecordKey(std::string_view line, RecordKey* key) {
  size_t tab = line.find('\t');
  if (tab == std::string_view::npos) return false;
  std::string idx(line.substr(0, tab));
  char* end = nullptr;
  key->index = std::strtoull(idx.c_str(), &end, 10);
  if (end == idx.c_str() || *end != '\0' || key->index == 0) return false;
  size_t tab2 = line.find('\t', tab + 1);
  std::string_view field = line.substr(tab + 1, tab2 - tab - 1);
  key->item.clear();
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 1 < field.size()) {
      char c = field[++i];
      key->item.push_back(c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c);
    } else {
      key->item.push_back(field[i]);
    }
  }
  key->item_hash = ItemHash(key->item);
  return true;
}

}  // namespace shoal
