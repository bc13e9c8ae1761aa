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
//   master-between-files   the master flushed one record file of a batch
//                          (results, errors, failed.txt: hits 1, 2, 3 of each
//                          batch that has records; with times.tsv, the sha256
//                          handler's tsv: results, times, errors, failed.txt,
//                          hits 1-4), not yet the next
//   retry-step             'shoal retry' moving failures aside: hits 1-4
//                          between its steps (master/resume.h, RetryJob)
//   merge-join             'shoal merge -o RUN' joining a retry's shards:
//                          hits 1-3 between its steps (master/merge.cc)
// FaultFail(point) instead returns true the N-th time, once, so a test can make
// an operation fail as if the OS refused it:
//   record-write-fail      the flush of a record file (results, errors,
//                          failed.txt; one that has data) writes half its
//                          buffer, then fails with ENOSPC
#pragma once

namespace shoal {

void FaultPoint(const char* point);
bool FaultFail(const char* point);

}  // namespace shoal
