// Fault injection for tests: SHOAL_FAULT="point:N[,point:N...]" makes the
// process SIGKILL itself the N-th time (1-based) it reaches `point`. Reading
// the variable happens once; a process without it pays one predictable
// branch per point. Points in use:
//   worker-start           a worker is set up but not yet ready
//   worker-after-take      a task was taken off the ring, not yet started
//   worker-before-publish  an outcome is written into the ring, not published
//   worker-mid-log         a log record is written, not published
//   worker-idle            the worker is about to sleep waiting for work
//   master-drain           the master read records it has not yet written out
#pragma once

namespace shoal {

void FaultPoint(const char* point);

}  // namespace shoal
