// The master's threads besides its loop: the input read ahead (ReadAhead)
// and the background writes of the run directory (RunDirectory).
#pragma once

#include <functional>
#include <string>
#include <thread>

#include "common/status.h"

namespace shoal {

// Starts `body` on a thread of its own with every signal blocked. Signals
// belong to the master's signalfd and the thread that waits on it; one
// delivered to another thread would take its default action and end the
// run. The thread inherits the mask it is created with, so no signal can
// reach it even before it runs. `what` names the thread in the error.
Result<std::thread> StartThread(std::function<void()> body, const std::string& what);

}  // namespace shoal
