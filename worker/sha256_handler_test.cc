#include "worker/sha256_handler.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <gtest/gtest.h>

namespace shoal {
namespace {

namespace fs = std::filesystem;

class NullLog : public LogSink {
 public:
  void Log(std::string_view) override {}
};

class Sha256HandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "shoal-sha-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
    settings_.job.handler = HandlerKind::kSha256;
    settings_.input.path = dir_;
    HandlerContext context{settings_, InputKind::kTree, dir_, 1};
    Result<std::unique_ptr<Handler>> h = MakeHandler(context);
    ASSERT_TRUE(h.ok()) << h.status().message();
    handler_ = std::move(h).value();
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  Outcome Hash(const std::string& rel) {
    return handler_->Run(MakeItemPaths(settings_, InputKind::kTree, rel, 1, 1, dir_), log_);
  }

  void WriteFile(const std::string& rel, size_t size) {
    std::mt19937 rng(static_cast<unsigned>(size));
    std::string data(size, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    std::ofstream(dir_ + "/" + rel, std::ios::binary)
        .write(data.data(), static_cast<std::streamsize>(size));
  }

  std::string Sha256sum(const std::string& rel) {
    std::string command = "sha256sum '" + dir_ + "/" + rel + "'";
    FILE* f = ::popen(command.c_str(), "r");
    char buf[65] = {};
    size_t n = fread(buf, 1, 64, f);
    ::pclose(f);
    return std::string(buf, n);
  }

  Settings settings_;
  std::string dir_;
  std::unique_ptr<Handler> handler_;
  NullLog log_;
};

TEST_F(Sha256HandlerTest, MatchesSha256sum) {
  // Around the 1 MiB read size, where the last piece is cut to the size
  // fstat saw: one byte short, exact, one byte over, exact multiples.
  const size_t sizes[] = {0, 1, 55, 64, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 2 << 20, 3 << 20};
  for (size_t size : sizes) {
    std::string name = "f";
    name += std::to_string(size);
    WriteFile(name, size);
    Outcome o = Hash(name);
    ASSERT_TRUE(o.ok) << o.reason;
    EXPECT_EQ(o.output, Sha256sum(name)) << size;
    EXPECT_EQ(o.output.size(), 64u);
  }
  EXPECT_EQ(Hash("f0").output, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_F(Sha256HandlerTest, FailureReasons) {
  fs::create_directory(dir_ + "/sub");
  EXPECT_EQ(Hash("sub").reason, "is a directory");
  EXPECT_EQ(Hash("missing").reason, "not found");
  EXPECT_FALSE(Hash("missing").ok);
  ASSERT_EQ(::mkfifo((dir_ + "/fifo").c_str(), 0600), 0);
  EXPECT_EQ(Hash("fifo").reason, "not a regular file");  // and does not block
  if (::geteuid() != 0) {
    WriteFile("secret", 10);
    ::chmod((dir_ + "/secret").c_str(), 0);
    EXPECT_EQ(Hash("secret").reason, "permission denied");
  }
  // The handler keeps working after failures.
  WriteFile("ok", 100);
  EXPECT_EQ(Hash("ok").output, Sha256sum("ok"));
}

// A file that ends before the size fstat saw fails alone; the handler goes
// on. A sysfs attribute stands in for a file truncated while it is read: it
// says 4096 bytes and holds a line.
TEST_F(Sha256HandlerTest, FileShorterThanItsSizeFails) {
  const char* attribute = "/sys/kernel/uevent_seqnum";
  struct stat st;
  if (::stat(attribute, &st) != 0 || st.st_size == 0) GTEST_SKIP() << "no " << attribute;
  fs::create_symlink(attribute, dir_ + "/short");
  Outcome o = Hash("short");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.reason, "file shrank while being read");
  WriteFile("ok", 100);
  EXPECT_EQ(Hash("ok").output, Sha256sum("ok"));
}

// A file whose size says 0 is read to its end, as sha256sum does: /proc
// files hold text behind a size of 0.
TEST_F(Sha256HandlerTest, SizeZeroFileIsReadToItsEnd) {
  const char* pseudo = "/proc/version";
  struct stat st;
  if (::stat(pseudo, &st) != 0 || st.st_size != 0) GTEST_SKIP() << "no " << pseudo;
  fs::create_symlink(pseudo, dir_ + "/version");
  Outcome o = Hash("version");
  ASSERT_TRUE(o.ok) << o.reason;
  EXPECT_EQ(o.output, Sha256sum("version"));
  EXPECT_NE(o.output, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace shoal
