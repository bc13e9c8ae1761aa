#include "common/shell_quote.h"

#include <algorithm>
#include <cstdio>

namespace shoal {

namespace {

bool Safe(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("@%+=:,./_-").find(static_cast<char>(c)) != std::string_view::npos;
}

bool Control(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

}  // namespace

void AppendShellQuoted(std::string* out, std::string_view value) {
  out->push_back('\'');
  for (char c : value) {
    if (c == '\'') {
      out->append("'\\''");
    } else {
      out->push_back(c);
    }
  }
  out->push_back('\'');
}

void AppendShellWord(std::string* out, std::string_view word) {
  auto is = [&](bool (*pred)(unsigned char)) {
    return [pred](char c) { return pred(static_cast<unsigned char>(c)); };
  };
  if (!word.empty() && std::all_of(word.begin(), word.end(), is(Safe))) {
    out->append(word);
    return;
  }
  if (std::none_of(word.begin(), word.end(), is(Control))) {
    AppendShellQuoted(out, word);
    return;
  }
  out->append("$'");
  for (char c : word) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '\\' || c == '\'') {
      out->push_back('\\');
      out->push_back(c);
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '\t') {
      out->append("\\t");
    } else if (Control(u)) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out->append(buf);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('\'');
}

std::string ShellWords(const std::vector<std::string>& words) {
  std::string line;
  for (const std::string& w : words) {
    if (!line.empty()) line.push_back(' ');
    AppendShellWord(&line, w);
  }
  return line;
}

}  // namespace shoal
