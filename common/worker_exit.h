// The exit status of a shoal-worker process, as the master reads it from
// waitpid. It is part of the master-worker protocol like the records of
// common/wire.h, but it travels through the kernel rather than the segment
// (a worker that failed to start may never have mapped it), so it lives in
// its own header that both sides include and that depends on nothing.
#pragma once

namespace shoal {

// 0: an orderly shutdown (the master closed the task ring).
// The worker could not start (settings copy, handler, segment) or read a
// corrupt task ring. Before the worker was ready, the master stops the run
// rather than start a replacement that would fail the same way.
inline constexpr int kWorkerStartFailed = 3;
// The worker noticed that its master is gone and stopped on its own.
inline constexpr int kWorkerMasterGone = 4;

}  // namespace shoal
