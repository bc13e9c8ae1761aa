#include "common/shm_segment.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <cerrno>
#include <cstring>
#include <random>

namespace shoal {
namespace bip = boost::interprocess;

namespace {

std::string UniqueName() {
  std::random_device rd;
  uint64_t r = (uint64_t{rd()} << 32) ^ rd();
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%d-%016llx", kSegmentPrefix, static_cast<int>(::getpid()),
                static_cast<unsigned long long>(r));
  return buf;
}

}  // namespace

struct SharedSegment::Mapping {
  bip::mapped_region region;
};

SharedSegment::SharedSegment(std::string name, std::unique_ptr<Mapping> mapping, bool owner)
    : name_(std::move(name)),
      mapping_(std::move(mapping)),
      data_(mapping_->region.get_address()),
      size_(mapping_->region.get_size()),
      owner_(owner) {}

Result<std::unique_ptr<SharedSegment>> SharedSegment::Create(size_t size) {
  std::string name = UniqueName();
  try {
    bip::permissions owner_only(0600);
    bip::shared_memory_object shm(bip::create_only, name.c_str(), bip::read_write, owner_only);
    try {
      shm.truncate(static_cast<bip::offset_t>(size));
      // Reserve the memory itself: ftruncate reserves nothing on tmpfs, and
      // touching a page /dev/shm has no room for raises SIGBUS. So a full
      // /dev/shm is an error here, not a master killed mid-start.
      int err = ::posix_fallocate(shm.get_mapping_handle().handle, 0, static_cast<off_t>(size));
      if (err != 0) {
        bip::shared_memory_object::remove(name.c_str());
        Status why = Status::FromErrno("cannot create shared memory /dev/shm/" + name + " of " +
                                           std::to_string(size) + " bytes",
                                       err);
        return Status::IoError(why.message() +
                               "; check free memory and the size of /dev/shm (df -h /dev/shm)");
      }
      auto mapping = std::make_unique<Mapping>();
      mapping->region = bip::mapped_region(shm, bip::read_write, 0, size);
      // The pages are in place (posix_fallocate) and zero; the master maps
      // only those it uses, so its RSS does not count every worker's rings.
      return std::unique_ptr<SharedSegment>(new SharedSegment(name, std::move(mapping), true));
    } catch (...) {
      bip::shared_memory_object::remove(name.c_str());
      throw;
    }
  } catch (const bip::interprocess_exception& e) {
    return Status::IoError("cannot create shared memory /dev/shm/" + name + " of " +
                           std::to_string(size) + " bytes: " + e.what() +
                           "; check free memory and the size of /dev/shm");
  }
}

Result<std::unique_ptr<SharedSegment>> SharedSegment::Open(const std::string& name) {
  try {
    bip::shared_memory_object shm(bip::open_only, name.c_str(), bip::read_write);
    auto mapping = std::make_unique<Mapping>();
    mapping->region = bip::mapped_region(shm, bip::read_write);
    return std::unique_ptr<SharedSegment>(new SharedSegment(name, std::move(mapping), false));
  } catch (const bip::interprocess_exception& e) {
    return Status::IoError("cannot open shared memory /dev/shm/" + name + ": " + e.what());
  }
}

SharedSegment::~SharedSegment() {
  if (owner_) bip::shared_memory_object::remove(name_.c_str());
}

int RemoveStaleSegments() {
  DIR* dir = ::opendir("/dev/shm");
  if (dir == nullptr) return 0;
  int removed = 0;
  const size_t prefix_len = std::strlen(kSegmentPrefix);
  while (dirent* e = ::readdir(dir)) {
    if (std::strncmp(e->d_name, kSegmentPrefix, prefix_len) != 0) continue;
    char* end = nullptr;
    long pid = std::strtol(e->d_name + prefix_len, &end, 10);
    if (end == e->d_name + prefix_len || *end != '-' || pid <= 0) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    if (bip::shared_memory_object::remove(e->d_name)) ++removed;
  }
  ::closedir(dir);
  return removed;
}

}  // namespace shoal
