#include "job/command_cwd.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace shoal {

bool CwdIsTemplate(const CommandSettings& command) {
  return command.cwd.find_first_of("{}") != std::string::npos;
}

Status CheckFixedCwd(const CommandSettings& command) {
  if (command.cwd.empty() || CwdIsTemplate(command)) return Status::Ok();
  const std::string what = "command.cwd \"" + command.cwd + "\"";
  struct stat st;
  if (::stat(command.cwd.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return Status::Error(what +
                           " does not exist: create the directory, or fix cwd under [command] "
                           "(or --set command.cwd=DIR)");
    }
    return Status::FromErrno(what, errno, StatusCode::kUsage);
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::Error(what + " is not a directory: set cwd under [command] to a directory");
  }
  // The commands chdir there: they need search permission.
  if (::access(command.cwd.c_str(), X_OK) != 0) {
    return Status::FromErrno(what + " cannot be entered", errno, StatusCode::kUsage);
  }
  return Status::Ok();
}

}  // namespace shoal
