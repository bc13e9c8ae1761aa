// Fuzzes the command line: ParseCommandLine on arbitrary words, the one-line
// form above all (its options end at the first word that is not one, a
// command quoted as one word may be split, the job's name is made from the
// program). Besides not crashing:
//   - an error is a usage error (exit 2) with a message;
//   - a one-line form has a command, its first word is not empty when it
//     was split, and it names the job with letters, digits and ._+- only;
//   - PlainCommandWords never gives an empty word, and its words joined by
//     single spaces are the word with its runs of blanks made single.
//
// Input: the words, NUL between them (argv[0] is "shoal").
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "config/cli.h"

namespace {

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "cli_fuzzer: %s\n", what.c_str());
  std::abort();
}

bool NameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '+' || c == '-';
}

std::string SingleBlanks(std::string_view word) {
  std::string out;
  for (char c : word) {
    const bool blank = c == ' ' || c == '\t';
    if (blank && (out.empty() || out.back() == ' ')) continue;
    out.push_back(blank ? ' ' : c);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> words{"shoal"};
  while (!rest.empty() && words.size() < 64) {
    const size_t nul = rest.find('\0');
    words.emplace_back(rest.substr(0, nul));
    rest.remove_prefix(nul == std::string_view::npos ? rest.size() : nul + 1);
  }
  std::vector<const char*> argv;
  for (const std::string& w : words) argv.push_back(w.c_str());

  for (size_t i = 1; i < words.size(); ++i) {
    const std::vector<std::string> split = shoal::PlainCommandWords(words[i]);
    std::string joined;
    for (const std::string& w : split) {
      if (w.empty()) Fail("PlainCommandWords gave an empty word of \"" + words[i] + "\"");
      joined += (joined.empty() ? "" : " ") + w;
    }
    if (!split.empty() && joined != SingleBlanks(words[i])) {
      Fail("PlainCommandWords lost or added text of \"" + words[i] + "\"");
    }
    const std::string name = shoal::OneLineJobName(words[i]);
    if (name.empty() || name.size() > 64 || name.front() == '-') {
      Fail("OneLineJobName(\"" + words[i] + "\") is \"" + name + "\"");
    }
    for (char c : name) {
      if (!NameChar(c)) Fail("OneLineJobName(\"" + words[i] + "\") is \"" + name + "\"");
    }
  }

  shoal::Result<shoal::CommandLine> cl =
      shoal::ParseCommandLine(static_cast<int>(argv.size()), argv.data());
  if (!cl.ok()) {
    if (cl.status().code() != shoal::StatusCode::kUsage || cl.status().message().empty()) {
      Fail("an error that is not a usage error: " + cl.status().message());
    }
    return 0;
  }
  if (cl->one_line) {
    if (cl->command.empty()) Fail("a one-line form without a command");
    for (const shoal::Override& o : cl->overrides) {
      if (o.key != "job.name" || o.origin != "the one-line form") continue;
      for (char c : o.value) {
        if (!NameChar(c)) Fail("the one-line form named the job \"" + o.value + "\"");
      }
    }
  }
  return 0;
}
