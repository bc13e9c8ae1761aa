#include "master/threads.h"

#include <signal.h>

#include <system_error>
#include <utility>

namespace shoal {

Result<std::thread> StartThread(std::function<void()> body, const std::string& what) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  std::thread thread;
  std::string error;
  try {
    thread = std::thread(std::move(body));
  } catch (const std::system_error& e) {
    error = e.what();
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (!thread.joinable())
    return Status::Error("cannot start the thread that " + what + ": " + error);
  return thread;
}

}  // namespace shoal
