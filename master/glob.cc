#include "master/glob.h"

#include <limits>

namespace shoal {

namespace {

Status BadGlob(std::string_view pattern, const char* why) {
  return Status::Error("glob '" + std::string(pattern) + "': " + why);
}

}  // namespace

Result<Glob> Glob::Compile(std::string_view pattern) {
  Glob g;
  g.pattern_ = std::string(pattern);
  std::string_view p = pattern;
  if (!p.empty() && p.back() == '/') {
    g.dir_only_ = true;
    while (!p.empty() && p.back() == '/') p.remove_suffix(1);
  }
  bool anchored = false;
  while (p.starts_with("/") || p.starts_with("./")) {
    anchored = true;
    p.remove_prefix(p[0] == '/' ? 1 : 2);
  }
  if (p.empty()) return BadGlob(pattern, "matches nothing (empty pattern)");

  auto& tokens = g.tokens_;
  Component comp;
  // Consecutive stars are one star token; a component of exactly "**" is the
  // globstar, of any other run of stars a plain star (as in .gitignore).
  int comp_stars = 0;
  bool comp_other = false;
  auto finish_component = [&] {
    comp.end = static_cast<uint32_t>(tokens.size());
    if (comp_stars == 2 && !comp_other) {
      tokens.resize(comp.begin);
      comp.end = comp.begin;
      comp.globstar = true;
    }
    if (comp.begin != comp.end || comp.globstar) g.components_.push_back(comp);  // "a//b" = "a/b"
    comp = Component();
    comp.begin = static_cast<uint32_t>(tokens.size());
    comp_stars = 0;
    comp_other = false;
  };

  for (size_t i = 0; i < p.size(); ++i) {
    unsigned char ch = static_cast<unsigned char>(p[i]);
    if (ch == '/') {
      anchored = true;
      finish_component();
      continue;
    }
    if (ch == '*') {
      ++comp_stars;
      if (tokens.size() > comp.begin && tokens.back().op == Op::kStar) continue;
      tokens.push_back({Op::kStar, 0, 0});
      continue;
    }
    comp_other = true;
    if (ch == '?') {
      tokens.push_back({Op::kAnyByte, 0, 0});
    } else if (ch == '\\') {
      if (i + 1 == p.size()) return BadGlob(pattern, "ends with a lone '\\'");
      tokens.push_back({Op::kByte, static_cast<uint8_t>(p[++i]), 0});
    } else if (ch == '[') {
      std::bitset<256> set;
      size_t j = i + 1;
      bool negate = j < p.size() && (p[j] == '!' || p[j] == '^');
      if (negate) ++j;
      bool closed = false;
      for (bool first = true; j < p.size(); first = false) {
        unsigned char lo = static_cast<unsigned char>(p[j]);
        if (lo == ']' && !first) {
          closed = true;
          break;
        }
        if (lo == '/') break;  // a class never spans components
        if (lo == '\\') {
          if (++j == p.size()) break;
          lo = static_cast<unsigned char>(p[j]);
        }
        ++j;
        unsigned char hi = lo;
        if (j + 1 < p.size() && p[j] == '-' && p[j + 1] != ']') {
          ++j;
          hi = static_cast<unsigned char>(p[j]);
          if (hi == '\\') {
            if (++j == p.size()) break;
            hi = static_cast<unsigned char>(p[j]);
          }
          ++j;
        }
        for (unsigned c = lo; c <= hi; ++c) set.set(c);
      }
      if (!closed) return BadGlob(pattern, "'[' without a closing ']'");
      if (negate) set.flip();
      set.reset('/');
      tokens.push_back({Op::kClass, 0, static_cast<uint32_t>(g.classes_.size())});
      g.classes_.push_back(set);
      i = j;  // at the ']'
    } else {
      tokens.push_back({Op::kByte, ch, 0});
    }
  }
  finish_component();
  if (g.components_.empty()) return BadGlob(pattern, "matches nothing (empty pattern)");

  // "**" alone matches every path, so it is a whole-path pattern.
  g.basename_only_ = !anchored && g.components_.size() == 1 && !g.components_[0].globstar;
  return g;
}

// The classic wildcard match with one backtrack point: on a mismatch, let the
// last star swallow one more byte. Linear for the usual patterns, O(n*m) worst.
bool Glob::MatchComponent(const Component& c, std::string_view name) const {
  const Token* t = tokens_.data() + c.begin;
  const size_t m = c.end - c.begin;
  const size_t n = name.size();
  constexpr size_t kNone = std::numeric_limits<size_t>::max();
  size_t ti = 0, si = 0, star_ti = kNone, star_si = 0;
  while (si < n) {
    if (ti < m) {
      const Token& tok = t[ti];
      const unsigned char ch = static_cast<unsigned char>(name[si]);
      bool ok = false;
      switch (tok.op) {
        case Op::kStar:
          star_ti = ti++;
          star_si = si;
          continue;
        case Op::kByte:
          ok = tok.byte == ch;
          break;
        case Op::kAnyByte:
          ok = true;
          break;
        case Op::kClass:
          ok = classes_[tok.klass].test(ch);
          break;
      }
      if (ok) {
        ++ti;
        ++si;
        continue;
      }
    }
    if (star_ti == kNone) return false;
    ti = star_ti + 1;
    si = ++star_si;
  }
  while (ti < m && t[ti].op == Op::kStar) ++ti;
  return ti == m;
}

// The same algorithm one level up: path components are the symbols, "**" the
// star, and every other pattern component matches exactly one path component.
bool Glob::MatchComponents(std::string_view path) const {
  const size_t m = components_.size();
  const size_t end_of_path = path.size() + 1;  // "no component left"
  constexpr size_t kNone = std::numeric_limits<size_t>::max();
  auto component_end = [&](size_t pos) {
    size_t e = path.find('/', pos);
    return e == std::string_view::npos ? path.size() : e;
  };
  size_t ci = 0, pos = 0, star_ci = kNone, star_pos = 0;
  while (pos < end_of_path) {
    if (ci < m) {
      const Component& c = components_[ci];
      if (c.globstar) {
        star_ci = ci++;
        star_pos = pos;
        continue;
      }
      size_t e = component_end(pos);
      if (MatchComponent(c, path.substr(pos, e - pos))) {
        ++ci;
        pos = e + 1;
        continue;
      }
    }
    if (star_ci == kNone) return false;
    ci = star_ci + 1;
    star_pos = component_end(star_pos) + 1;
    pos = star_pos;
  }
  while (ci < m && components_[ci].globstar) ++ci;
  return ci == m;
}

bool Glob::Matches(std::string_view path, bool is_dir) const {
  if (dir_only_ && !is_dir) return false;
  if (basename_only_) {
    size_t slash = path.rfind('/');
    std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
    return MatchComponent(components_[0], name);
  }
  return MatchComponents(path);
}

Result<GlobSet> GlobSet::Compile(const std::vector<std::string>& patterns,
                                 std::string_view setting) {
  GlobSet set;
  set.globs_.reserve(patterns.size());
  for (const std::string& p : patterns) {
    Result<Glob> g = Glob::Compile(p);
    if (!g.ok()) return Status::Error(std::string(setting) + ": " + g.status().message());
    set.globs_.push_back(std::move(g).value());
  }
  return set;
}

}  // namespace shoal
