// Resume's check that the input is the one the run had: every recorded item
// must be, at its position, the item the input holds there now. Otherwise
// resume would skip items it never ran and run others twice.
#pragma once

#include <string>

#include "common/status.h"
#include "config/settings.h"
#include "master/resume.h"

namespace shoal {

// One pass over the input, comparing the sum of RecordTerm(index, item) over
// the recorded positions with RunRecords::digest: no memory beyond the
// DoneSet, whatever the number of items. A mismatch is missed with
// probability about 2^-64. When they differ, a few more passes over the
// records and the input (each narrowing the range of positions 4096-fold,
// 64 KB of sums) name the first position that differs.
Status CheckRecordedInput(const std::string& run_dir, const Settings& settings,
                          const RunRecords& records);

}  // namespace shoal
