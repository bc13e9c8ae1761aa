// Writes the wire fuzzer's seed corpus: a few real records from the encoders,
// one file each, into the directory given (tests/fuzz/corpus/wire_fuzzer).
#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>

#include "common/wire.h"

namespace {

void Write(const std::string& dir, const char* name, const std::string& payload) {
  std::ofstream(dir + "/" + name, std::ios::binary) << payload;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: wire_seeds DIR\n");
    return 2;
  }
  using namespace std::string_view_literals;
  const std::string dir = argv[1];
  std::string p;
  shoal::EncodeTask({1, 1, 1, "data/a.txt"}, &p);
  Write(dir, "task", p);
  shoal::EncodeTask({7, 42, 3, "nul\0inside"sv}, &p);
  Write(dir, "task-retry", p);
  shoal::OutcomeRecord ok;
  ok.seq = 1;
  ok.ok = true;
  ok.exit_code = 0;
  ok.ms = 12.5;
  shoal::EncodeOutcome(ok, &p);
  Write(dir, "outcome-ok", p);
  shoal::OutcomeRecord failed;
  failed.seq = 2;
  failed.exit_code = 1;
  failed.ms = 1500;
  failed.reason = "exit 1";
  failed.output = "partial";
  failed.output_file = "runs/x/out/a.out";
  failed.stderr_tail = "gzip: a.txt: No such file";
  shoal::EncodeOutcome(failed, &p);
  Write(dir, "outcome-failed", p);
  shoal::OutcomeRecord killed;
  killed.seq = 3;
  killed.signal = 9;
  killed.reason = "timeout";
  shoal::EncodeOutcome(killed, &p);
  Write(dir, "outcome-signal", p);
  shoal::EncodeLog({5, 9, "retrying in 1s"}, &p);
  Write(dir, "log", p);
  shoal::EncodeLog({0, 0, ""}, &p);
  Write(dir, "log-worker", p);
  return 0;
}
