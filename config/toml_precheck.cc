#include "config/toml_precheck.h"

#include <algorithm>
#include <cstdio>

namespace shoal {
namespace {

bool IsControl(unsigned char c) {
  return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f;
}

bool IsBlank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool IsBareKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// Where TOML++ ends a number, date or boolean (is_value_terminator).
bool IsValueTerminator(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ']' || c == '}' || c == ',' ||
         c == '#';
}

// Where the scan is: in TOML proper, or in a comment or a string.
enum class In { kToml, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral };

class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  std::optional<TomlTextProblem> Run() {
    // TOML++ skips a byte order mark; so does this.
    if (text_.starts_with("\xEF\xBB\xBF")) line_start_ = i_ = 3;
    while (i_ < text_.size()) {
      const unsigned char c = static_cast<unsigned char>(text_[i_]);
      if (c == '\n') {
        NewLine(i_);
        if (in_ == In::kComment || in_ == In::kBasic || in_ == In::kLiteral) in_ = In::kToml;
        if (in_ == In::kToml) {
          bare_ = in_header_ = false;
          if (open_.empty()) value_ = false;
        }
        ++i_;
        continue;
      }
      switch (in_) {
        case In::kToml:
          if (bare_ && !IsValueTerminator(c)) {
            // Inside a number, date or boolean quotes start no string.
            if (c >= 0x80) return NonAscii();
            if (IsControl(c)) return Control(c, "outside a string");
            break;
          }
          bare_ = false;
          if (c == '#') {
            in_ = In::kComment;
          } else if (c == '"' || c == '\'') {
            const bool multi = text_.substr(i_, 3) == std::string(3, static_cast<char>(c));
            in_ = c == '"' ? (multi ? In::kMultiBasic : In::kBasic)
                           : (multi ? In::kMultiLiteral : In::kLiteral);
            if (multi) i_ += 2;
          } else if (c == '[' || c == ']' || c == '{' || c == '}') {
            std::optional<TomlTextProblem> p = Bracket(c);
            if (p) return p;
          } else if (c == '=') {
            value_ = true;
          } else if (c == ',') {
            value_ = open_.empty() || open_.back() == '[';
          } else if (c >= 0x80) {
            return NonAscii();
          } else if (IsControl(c)) {
            return Control(c, "outside a string");
          } else if (value_ && c != ' ' && c != '\t' && c != '\r') {
            bare_ = true;
          }
          break;
        case In::kComment:
          if (IsControl(c)) return Control(c, "in a comment");
          break;
        case In::kBasic:
          if (c == '"') {
            in_ = In::kToml;
          } else if (c == '\\' && i_ + 1 < text_.size() && text_[i_ + 1] != '\n') {
            ++i_;  // an escaped quote does not end the string
          }
          break;
        case In::kLiteral:
          if (c == '\'') in_ = In::kToml;
          break;
        case In::kMultiBasic:
          if (c == '\\') {
            std::optional<TomlTextProblem> p = Escape();
            if (p) return p;
            continue;
          }
          if (c == '"') {
            Delimiter('"');
            continue;
          }
          break;
        case In::kMultiLiteral:
          if (c == '\'') {
            Delimiter('\'');
            continue;
          }
          break;
      }
      ++i_;
    }
    return std::nullopt;
  }

 private:
  void NewLine(size_t at) {
    ++line_;
    line_start_ = at + 1;
  }

  // Brackets outside strings, for two assertions of TOML++ (no-ops in
  // release builds): a table header must start with a key, and an array
  // cannot be closed by '}'. Also what may come next: a key or a value.
  std::optional<TomlTextProblem> Bracket(unsigned char c) {
    if (c == '[' && open_.empty() && !in_header_ &&
        text_.substr(line_start_, i_ - line_start_).find_first_not_of(" \t") ==
            std::string_view::npos) {
      in_header_ = true;
      size_t j = i_ + 1;
      if (j < text_.size() && text_[j] == '[') ++j;
      while (j < text_.size() && (text_[j] == ' ' || text_[j] == '\t')) ++j;
      if (j == text_.size() || !(IsBareKeyChar(text_[j]) || text_[j] == '"' || text_[j] == '\'')) {
        return At(j, "table header without a name", "write the section's name, e.g. [job]");
      }
      return std::nullopt;
    }
    if (c == ']' && in_header_) {
      in_header_ = false;
      if (i_ + 1 < text_.size() && text_[i_ + 1] == ']') ++i_;
      return std::nullopt;
    }
    if (c == '[' || c == '{') {
      open_.push_back(static_cast<char>(c));
      value_ = c == '[';  // an inline table starts with a key
      return std::nullopt;
    }
    if (c == '}' && !open_.empty() && open_.back() == '[') {
      return At(i_, "'}' inside an array", "close the array with ']'");
    }
    if (!open_.empty()) open_.pop_back();
    value_ = true;  // what was closed is a value
    return std::nullopt;
  }

  // A backslash in a """ string: TOML++ asks whether the next character is
  // whitespace, and after a line-ending backslash whether each next one is.
  std::optional<TomlTextProblem> Escape() {
    size_t j = i_ + 1;
    while (j < text_.size() && IsBlank(text_[j])) {
      if (text_[j] == '\n') NewLine(j);
      ++j;
    }
    if (j < text_.size() && static_cast<unsigned char>(text_[j]) >= 0x80) {
      if (j == i_ + 1) {
        return At(j, "non-ASCII character after a backslash in a \"\"\" string",
                  "remove the backslash, or write the character as \\uXXXX");
      }
      return At(j, "non-ASCII character first after a line-ending backslash in a \"\"\" string",
                "write the character as \\uXXXX, or end the line without a backslash");
    }
    i_ = j == i_ + 1 ? std::min(j + 1, text_.size()) : j;  // an escaped quote ends nothing
    return std::nullopt;
  }

  // A run of quotes in a multi-line string: three to five end it (up to two
  // being the string's last characters), fewer are text.
  void Delimiter(char quote) {
    size_t run = 0;
    while (i_ + run < text_.size() && text_[i_ + run] == quote) ++run;
    if (run >= 3) {
      in_ = In::kToml;
      run = std::min<size_t>(run, 5);
    }
    i_ += run;
  }

  std::optional<TomlTextProblem> NonAscii() const {
    return At(i_, "non-ASCII character outside a string or comment",
              "quote it (\"...\") or remove it: TOML allows it only in strings and comments");
  }

  std::optional<TomlTextProblem> Control(unsigned char c, const char* where) {
    char code[8];
    std::snprintf(code, sizeof code, "%04X", c);
    return At(i_, std::string("control character U+") + code + " " + where,
              std::string("remove it (in a string, write it as \\u") + code + ")");
  }

  TomlTextProblem At(size_t at, std::string what, std::string fix) const {
    // Columns count characters, as TOML++'s do: UTF-8 continuation bytes add none.
    uint64_t column = 1;
    for (size_t k = line_start_; k < at; ++k) {
      if ((static_cast<unsigned char>(text_[k]) & 0xC0) != 0x80) ++column;
    }
    return TomlTextProblem{line_, column, std::move(what), std::move(fix)};
  }

  std::string_view text_;
  size_t i_ = 0;
  uint64_t line_ = 1;
  size_t line_start_ = 0;
  In in_ = In::kToml;
  bool in_header_ = false;  // between a table header's [ and ]
  bool value_ = false;      // a value may start here (after '=', in an array), not a key
  bool bare_ = false;       // in a value that is no string, array or table: TOML++ reads it
                            // up to a value terminator
  std::string open_;        // the arrays and inline tables open here, innermost last
};

}  // namespace

std::optional<TomlTextProblem> PrecheckToml(std::string_view text) {
  return Scanner(text).Run();
}

}  // namespace shoal
