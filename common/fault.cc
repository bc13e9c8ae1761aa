#include "common/fault.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace shoal {

namespace {

struct Armed {
  std::string point;
  long remaining;
};

std::vector<Armed>* Parse() {
  auto* armed = new std::vector<Armed>();  // lives for the process
  const char* env = std::getenv("SHOAL_FAULT");
  if (env == nullptr) return armed;
  std::string spec(env);
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t comma = spec.find(',', pos);
    std::string one =
        spec.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t colon = one.find(':');
    if (colon != std::string::npos) {
      armed->push_back({one.substr(0, colon), std::strtol(one.c_str() + colon + 1, nullptr, 10)});
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return armed;
}

std::vector<Armed>& ArmedPoints() {
  static std::vector<Armed>* armed = Parse();
  return *armed;
}

// True the N-th time `point` is reached.
bool Reached(const char* point) {
  std::vector<Armed>& armed = ArmedPoints();
  if (armed.empty()) return false;
  bool hit = false;
  for (Armed& a : armed) {
    if (a.point == point && --a.remaining == 0) hit = true;
  }
  return hit;
}

}  // namespace

void FaultPoint(const char* point) {
  if (Reached(point)) ::kill(::getpid(), SIGKILL);
}

bool FaultFail(const char* point) {
  return Reached(point);
}

}  // namespace shoal
