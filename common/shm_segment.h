// The one shared-memory segment of a run (Boost.Interprocess
// shared_memory_object + mapped_region). The master creates it owner-only
// (0600) under a unique name "shoal-<master pid>-<random>", reserves its
// memory (posix_fallocate: tmpfs reserves nothing on ftruncate; the reserved
// pages are zero), so that a memory shortage fails the start with a message
// rather than a SIGBUS in the master or a worker mid-run, and removes the name when the
// SharedSegment is destroyed, however the run ends. Workers open it by name and
// never remove it. A master killed outright leaves the name behind; the next
// start removes names whose owner pid is gone (RemoveStaleSegments).
#pragma once

#include <memory>
#include <string>

#include "common/status.h"

namespace shoal {

inline constexpr char kSegmentPrefix[] = "shoal-";

class SharedSegment {
 public:
  // Creates, sizes, zeroes and maps a new segment. The caller owns the name.
  static Result<std::unique_ptr<SharedSegment>> Create(size_t size);
  // Maps an existing segment read-write (workers). Does not own the name.
  static Result<std::unique_ptr<SharedSegment>> Open(const std::string& name);

  ~SharedSegment();
  SharedSegment(const SharedSegment&) = delete;
  SharedSegment& operator=(const SharedSegment&) = delete;

  void* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& name() const { return name_; }  // without the leading '/'

 private:
  struct Mapping;  // the Boost mapped_region, kept out of this header
  SharedSegment(std::string name, std::unique_ptr<Mapping> mapping, bool owner);
  std::string name_;
  std::unique_ptr<Mapping> mapping_;
  void* data_;
  size_t size_;
  bool owner_;
};

// Removes shoal segments in /dev/shm whose owner pid no longer runs. Returns
// how many were removed. Segments of live processes are never touched.
int RemoveStaleSegments();

}  // namespace shoal
