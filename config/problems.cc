#include "config/problems.h"

#include <algorithm>
#include <sstream>
#include <tuple>

#include "config/toml_text.h"

namespace shoal {

Loc Problems::At(const toml::source_region& region) const {
  return At(region.begin.line, region.begin.column);
}

Loc Problems::At(uint64_t line, uint64_t column) const {
  Loc loc;
  loc.line = line;
  loc.column = column;
  loc.text = source_;
  if (loc.line > 0) {
    loc.text += ':';
    loc.text += std::to_string(loc.line);
    loc.text += ':';
    loc.text += std::to_string(loc.column);
  }
  return loc;
}

void Problems::Add(const Loc& loc, const std::string& what, const std::string& fix) {
  problems_.push_back(Problem{loc, loc.text + ": " + what + "; " + fix});
}

Status Problems::ToStatus() {
  if (problems_.empty()) return Status::Ok();
  std::stable_sort(problems_.begin(), problems_.end(), [](const Problem& a, const Problem& b) {
    return std::tie(a.loc.group, a.loc.line, a.loc.column) <
           std::tie(b.loc.group, b.loc.line, b.loc.column);
  });
  std::string all;
  for (const Problem& p : problems_) {
    if (!all.empty()) all += "\n";
    all += p.message;
  }
  return Status::Error(all);
}

const char* TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::array:
      return "array";
    case toml::node_type::table:
      return "table";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// A value as the user wrote it, for "got ..." in messages.
std::string Shown(const toml::node& node) {
  if (const auto* s = node.as_string()) return std::string(TypeName(node)) + " " + Quote(s->get());
  if (node.is_array() || node.is_table()) return TypeName(node);
  std::ostringstream os;
  node.visit([&](const auto& v) { os << v; });
  return std::string(TypeName(node)) + " " + os.str();
}

std::string Join(const std::vector<std::string>& words, std::string_view sep) {
  std::string out;
  for (const std::string& w : words) {
    if (!out.empty()) out += sep;
    out += w;
  }
  return out;
}

}  // namespace shoal
