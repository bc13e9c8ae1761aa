#include "config/capacity.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "config/toml_text.h"

namespace shoal {
namespace {

// Digits with at most one '.', nothing else (no sign, no exponent).
bool ParseDecimal(std::string_view text, double* out) {
  if (text.empty() || text.find_first_not_of("0123456789.") != std::string_view::npos) {
    return false;
  }
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out, std::chars_format::fixed);
  return ec == std::errc() && ptr == end;
}

bool ParseWhole(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

}  // namespace

Status CheckWorkerShare(std::string_view share) {
  double percent = 0;
  uint64_t n = 0;
  if (share.ends_with('%') && ParseDecimal(share.substr(0, share.size() - 1), &percent) &&
      percent > 0) {
    return Status::Ok();
  }
  if ((share.starts_with('+') || share.starts_with('-')) && ParseWhole(share.substr(1), &n) &&
      n <= static_cast<uint64_t>(kMaxWorkers)) {
    return Status::Ok();
  }
  return Status::Error(
      "job.workers " + Quote(share) +
      " is not a number of workers: a count, \"N%\" of the online cores, \"+N\" or \"-N\" "
      "(N up to " +
      std::to_string(kMaxWorkers) + ") more or fewer than them");
}

int ResolveWorkers(const JobSettings& job, int cores) {
  cores = std::max(cores, 1);
  const std::string_view share = job.workers_share;
  if (share.empty()) return job.workers > 0 ? job.workers : cores;
  double n = cores;
  double percent = 0;
  uint64_t delta = 0;
  if (share.ends_with('%') && ParseDecimal(share.substr(0, share.size() - 1), &percent)) {
    n = std::floor(cores * percent / 100.0);  // as parallel: 50% of 3 cores is 1
  } else if (ParseWhole(share.substr(1), &delta)) {
    n = share[0] == '+' ? n + static_cast<double>(delta) : n - static_cast<double>(delta);
  }
  return static_cast<int>(std::clamp<double>(n, 1, kMaxWorkers));
}

Result<uint64_t> ParseMemfree(std::string_view text) {
  if (text.empty() || text == "0") return uint64_t{0};
  std::string_view digits = text;
  for (std::string_view suffix : {"iB", "B"}) {
    if (digits.size() > suffix.size() && digits.ends_with(suffix)) {
      digits.remove_suffix(suffix.size());
      break;
    }
  }
  int shift = 0;
  switch (digits.empty() ? '\0' : digits.back()) {
    case 'K':
    case 'k':
      shift = 10;
      break;
    case 'M':
    case 'm':
      shift = 20;
      break;
    case 'G':
    case 'g':
      shift = 30;
      break;
    case 'T':
    case 't':
      shift = 40;
      break;
    default:
      break;
  }
  if (shift != 0) digits.remove_suffix(1);
  uint64_t n = 0;
  if (!ParseWhole(digits, &n) || (shift != 0 && n > (UINT64_MAX >> shift))) {
    return Status::Error("job.memfree " + Quote(text) +
                         " is not a size: a whole number with K, M, G or T, e.g. \"2G\"");
  }
  return n << shift;
}

Result<double> ParseLoad(std::string_view text, int cores) {
  double load = 0;
  if (text.empty() || text == "0") return 0.0;
  if (ParseDecimal(text, &load)) return load;
  if (text.ends_with('%') && ParseDecimal(text.substr(0, text.size() - 1), &load) && load > 0) {
    return std::max(cores, 1) * load / 100.0;
  }
  return Status::Error("job.load " + Quote(text) +
                       " is not a load average: a number, e.g. \"4\", or a share of the "
                       "online cores above 0%, e.g. \"100%\" for one per core");
}

}  // namespace shoal
