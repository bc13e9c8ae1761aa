#include "job/command_program.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <optional>

#include "job/item_paths.h"
#include "job/template.h"

namespace shoal {

namespace {

// `word` as the worker will run it when it holds no placeholder ("{{" and
// "}}" are literal braces; "${HOME}" is literal too); nullopt when an item
// fills it in, or when it is no template at all (ArgvBuilder names why).
std::optional<std::string> Literal(const std::string& word) {
  if (word.find_first_of("{}") == std::string::npos) return word;
  Result<Template> parsed = Template::Parse(word);
  if (!parsed.ok() || parsed->fields() != 0) return std::nullopt;
  std::string text;
  if (!parsed->AppendTo(ItemPaths{}, false, /*make_out_dir=*/false, &text).ok())
    return std::nullopt;
  return text;
}

// What a shell would have expanded in a program's name: nothing does here.
bool HoldsShellExpansion(const std::string& prog) {
  return prog.find('$') != std::string::npos || prog.front() == '~';
}

std::string NoShellExpansion(const std::string& what) {
  return what +
         " names no program: shoal runs no shell, so nothing expands $VARIABLES or ~ in it. "
         "Write the path out, or ask for /bin/sh -c with --shell (command.shell = true)";
}

bool HoldsSpace(const std::string& word) {
  return word.find_first_of(" \t") != std::string::npos;
}

// What to do about a command line given as one word.
std::string ShellHint(const std::string& prog) {
  return "command.argv[0] \"" + prog +
         "\" is one word that holds spaces, run as the program of that name: shoal runs a "
         "command through a shell only when asked. Give the words apart (shoal grep -c x {} ::: "
         "...; in settings.toml argv = [\"grep\", \"-c\", \"x\", \"{}\"]), or ask for /bin/sh -c "
         "with --shell (command.shell = true)";
}

}  // namespace

int SearchPath(const std::string& prog, const std::string& path_list, std::string* found) {
  int err = ENOENT;
  size_t begin = 0;
  while (begin <= path_list.size()) {
    size_t end = std::min(path_list.find(':', begin), path_list.size());
    std::string dir = path_list.substr(begin, end - begin);
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + prog;
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (::access(candidate.c_str(), X_OK) == 0) {
        *found = std::move(candidate);
        return 0;
      }
      err = EACCES;
    }
    begin = end + 1;
  }
  return err;
}

const char* JobPath(const CommandSettings& command) {
  if (auto it = command.env.find("PATH"); it != command.env.end()) return it->second.c_str();
  return std::getenv("PATH");
}

Status CheckProgram(const CommandSettings& command) {
  if (command.shell || command.argv.empty()) return Status::Ok();
  if (command.argv.front().empty()) {
    return Status::Error("command.argv[0] is empty: name the program to run");
  }
  const std::optional<std::string> literal = Literal(command.argv.front());
  if (!literal) {
    // Items that name programs ("{}"): each is judged when it runs.
    return HoldsSpace(command.argv.front()) ? Status::Error(ShellHint(command.argv.front()))
                                            : Status::Ok();
  }
  const std::string& prog = *literal;
  const std::string what = "command.argv[0] \"" + prog + "\"";
  if (prog.find('/') == std::string::npos) {
    const char* path = JobPath(command);
    if (path == nullptr) return Status::Ok();  // the C library's default path, as spawn uses
    std::string found;
    const int err = SearchPath(prog, path, &found);
    if (err == 0) return Status::Ok();
    if (HoldsSpace(prog)) return Status::Error(ShellHint(prog));
    if (HoldsShellExpansion(prog)) return Status::Error(NoShellExpansion(what));
    if (err == EACCES) {
      return Status::Error(what + " is on PATH but not executable: chmod +x it, or fix PATH");
    }
    return Status::Error(what + " is a program on no directory of PATH (" + path +
                         "): install it, fix its name, or give its full path");
  }
  // A relative path starts from where the commands start: a fixed cwd.
  const std::optional<std::string> cwd = Literal(command.cwd);
  if (prog.front() != '/' && !cwd) return Status::Ok();
  const std::string file = prog.front() == '/' || cwd->empty() ? prog : *cwd + "/" + prog;
  struct stat st;
  if (::stat(file.c_str(), &st) != 0) {
    if (HoldsSpace(prog)) return Status::Error(ShellHint(prog));
    if (HoldsShellExpansion(prog)) return Status::Error(NoShellExpansion(what));
    if (errno == ENOENT || errno == ENOTDIR) {
      return Status::Error(what + " does not exist" +
                           (file != prog ? " (in command.cwd \"" + *cwd + "\")" : "") +
                           ": fix the path, or create the program");
    }
    return Status::FromErrno(what, errno, StatusCode::kUsage);
  }
  if (!S_ISREG(st.st_mode)) return Status::Error(what + " is not a file: name a program");
  if (::access(file.c_str(), X_OK) != 0) {
    return Status::Error(what + " is not executable: chmod +x it");
  }
  return Status::Ok();
}

}  // namespace shoal
