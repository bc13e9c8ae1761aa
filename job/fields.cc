#include "job/fields.h"

#include <string.h>

#include <boost/regex.hpp>
#include <stdexcept>

namespace shoal {

// Boost.Regex rather than std::regex: its syntax is Perl's, as GNU
// parallel's --colsep is; its matcher is not recursive, so a long record
// (up to 128 KiB) cannot overflow the worker's stack as libstdc++'s can, and
// a pattern too complex for a record throws, which fails that one item.
struct FieldSplitter::Regex {
  boost::regex re;
};

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
    try {
      regex->re.assign(input.colsep, boost::regex::perl);
    } catch (const boost::regex_error& e) {
      return Status::Error("input.colsep \"" + input.colsep + "\" is not a regular expression (" +
                           e.what() + "); write e.g. \"\\\\s+\" for runs of blanks or \"[,;]\"");
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
      const char* const begin = record.data();
      const char* const end = begin + record.size();
      const char* from = begin;
      try {
        boost::cmatch m;
        // match_not_null: a pattern that can match nothing ("x*") splits only
        // where it matches something, never between every byte.
        // match_prev_avail past the start: "^" and "\b" see the byte before.
        while (boost::regex_search(
            from, end, m, regex_->re,
            boost::match_not_null |
                (from == begin ? boost::match_default : boost::match_prev_avail))) {
          next().assign(from, m[0].first);
          from = m[0].second;
        }
      } catch (const std::runtime_error& e) {
        *count = 0;
        return Status::Error(std::string("input.colsep cannot split this record: ") + e.what());
      }
      next().assign(from, end);
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
