#include "job/fields.h"

#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace shoal {

// PCRE2 rather than std::regex: its syntax is Perl's, as GNU parallel's
// --colsep is (and so are "^", "$" and an empty match: Perl's defaults); its
// matcher keeps its backtracking on the heap, so a long record (up to
// 128 KiB) cannot overflow the worker's stack as libstdc++'s can, and a
// pattern too costly for a record stops at PCRE2's match limit, which fails
// that one item. Bytes, not UTF-8: an item may be any bytes.
struct FieldSplitter::Regex {
  pcre2_code* code = nullptr;
  ~Regex() { pcre2_code_free(code); }
};

namespace {

std::string Pcre2Message(int error) {
  PCRE2_UCHAR text[256];
  if (pcre2_get_error_message(error, text, sizeof text) < 0)
    return "error " + std::to_string(error);
  return reinterpret_cast<const char*>(text);
}

}  // namespace

FieldMode FieldModeOf(const InputSettings& input) {
  if (!input.colsep.empty()) return FieldMode::kRegex;
  if (!input.delimiter.empty() && input.column == 0) return FieldMode::kCsv;
  return FieldMode::kWhole;
}

char CsvDelimiter(const InputSettings& input) {
  return input.delimiter.empty() ? ',' : input.delimiter[0];
}

FieldContext FieldContextOf(const Settings& settings) {
  FieldContext c;
  c.split = FieldModeOf(settings.input) != FieldMode::kWhole;
  c.names = settings.input.field_names;
  c.unit = settings.input.separator == Separator::kNul ? "record" : "line";
  return c;
}

Result<FieldSplitter> FieldSplitter::Make(const InputSettings& input) {
  FieldSplitter s;
  if (!input.delimiter.empty() && !input.colsep.empty()) {
    return Status::Error(
        "input.delimiter and input.colsep are both set: a record is either CSV with a one-byte "
        "delimiter or split where a regular expression matches; remove one of them");
  }
  if (input.column > 0 && !input.colsep.empty()) {
    return Status::Error(
        "input.column takes a CSV column, but input.colsep splits with a regular expression: "
        "remove input.column and write {" +
        std::to_string(input.column) + "} where the field goes");
  }
  s.mode_ = FieldModeOf(input);
  s.delimiter_ = CsvDelimiter(input);
  if (s.mode_ == FieldMode::kRegex) {
    auto regex = std::make_shared<Regex>();
    int error = 0;
    PCRE2_SIZE offset = 0;
    regex->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(input.colsep.data()),
                                input.colsep.size(), 0, &error, &offset, nullptr);
    if (regex->code == nullptr) {
      return Status::Error("input.colsep \"" + input.colsep + "\" is not a regular expression (" +
                           Pcre2Message(error) + " at offset " + std::to_string(offset) +
                           "); write e.g. \"\\\\s+\" for runs of blanks or \"[,;]\"");
    }
    s.regex_ = std::move(regex);
  }
  return s;
}

Status FieldSplitter::Split(std::string_view record, std::vector<std::string>* fields,
                            size_t* count) const {
  size_t n = 0;
  auto next = [&]() -> std::string& {
    if (fields->size() <= n) fields->emplace_back();
    std::string& f = (*fields)[n++];
    f.clear();
    return f;
  };
  switch (mode_) {
    case FieldMode::kWhole:
      next().assign(record);
      break;
    case FieldMode::kRegex: {
      // One match data per record: a splitter may be copied to several
      // threads, and the pattern's code is only read by pcre2_match.
      std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> match(
          pcre2_match_data_create_from_pattern(regex_->code, nullptr), &pcre2_match_data_free);
      if (match == nullptr) {
        *count = 0;
        return Status::Error("input.colsep cannot split this record: out of memory");
      }
      const auto subject = reinterpret_cast<PCRE2_SPTR>(record.data());
      size_t from = 0;
      for (;;) {
        // PCRE2_NOTEMPTY: a pattern that can match nothing ("x*") splits only
        // where it matches something, never between every byte. The whole
        // record is the subject, so "^" and "\b" see the bytes before `from`.
        const int rc = pcre2_match(regex_->code, subject, record.size(), from, PCRE2_NOTEMPTY,
                                   match.get(), nullptr);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
          *count = 0;
          return Status::Error("input.colsep cannot split this record: " + Pcre2Message(rc));
        }
        const PCRE2_SIZE* span = pcre2_get_ovector_pointer(match.get());
        next().assign(record.substr(from, span[0] - from));
        from = span[1];
      }
      next().assign(record.substr(from));
      break;
    }
    case FieldMode::kCsv: {
      // Most records hold no quote: fields are the spans between delimiters.
      if (memchr(record.data(), '"', record.size()) == nullptr) {
        size_t start = 0;
        for (;;) {
          const size_t d = record.find(delimiter_, start);
          next().assign(record.substr(start, d == std::string_view::npos ? d : d - start));
          if (d == std::string_view::npos) break;
          start = d + 1;
        }
        break;
      }
      // As ListReader::ReadCsv reads them: a quote inside an unquoted field
      // is data, text after a closing quote joins the field.
      enum class State { kFieldStart, kUnquoted, kQuoted, kQuoteSeen };
      State state = State::kFieldStart;
      std::string* f = &next();
      for (char c : record) {
        if (state == State::kQuoted) {
          if (c == '"') {
            state = State::kQuoteSeen;
          } else {
            f->push_back(c);
          }
        } else if (c == delimiter_) {
          f = &next();
          state = State::kFieldStart;
        } else if (c == '"' && state == State::kFieldStart) {
          state = State::kQuoted;
        } else if (c == '"' && state == State::kQuoteSeen) {
          f->push_back('"');
          state = State::kQuoted;
        } else {
          f->push_back(c);
          state = State::kUnquoted;
        }
      }
      break;
    }
  }
  *count = n;
  return Status::Ok();
}

Result<std::vector<std::string>> HeaderNames(const FieldSplitter& splitter,
                                             std::string_view header) {
  std::vector<std::string> names;
  size_t count = 0;
  Status s = splitter.Split(header, &names, &count);
  if (!s.ok()) return s;
  names.resize(count);
  return names;
}

}  // namespace shoal
