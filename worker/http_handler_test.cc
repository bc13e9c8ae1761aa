#include "worker/http_handler.h"

#include <curl/curl.h>

#include <cerrno>

#include <gtest/gtest.h>

namespace shoal {
namespace {

class NullLog : public LogSink {
 public:
  void Log(std::string_view) override {}
};

TEST(ClassifyCallErrorTest, Reasons) {
  EXPECT_EQ(ClassifyCallError(CURLE_OPERATION_TIMEDOUT, 0, true, "").reason, "timeout");
  EXPECT_TRUE(ClassifyCallError(CURLE_OPERATION_TIMEDOUT, 0, true, "").timeout);
  CallFailure connect = ClassifyCallError(CURLE_OPERATION_TIMEDOUT, 0, false, "");
  EXPECT_EQ(connect.reason, "connect timeout");
  EXPECT_TRUE(connect.connection);
  EXPECT_FALSE(connect.timeout);
  EXPECT_EQ(ClassifyCallError(CURLE_COULDNT_CONNECT, ECONNREFUSED, false, "").reason,
            "connect refused");
  EXPECT_EQ(ClassifyCallError(CURLE_COULDNT_CONNECT, EHOSTUNREACH, false, "").reason,
            "connect failed: No route to host");
  EXPECT_TRUE(ClassifyCallError(CURLE_GOT_NOTHING, 0, true, "").connection);
  EXPECT_EQ(ClassifyCallError(CURLE_RECV_ERROR, ECONNRESET, true, "").reason, "connection reset");
  CallFailure tls = ClassifyCallError(CURLE_PEER_FAILED_VERIFICATION, 0, true,
                                      "SSL certificate problem: self-signed certificate");
  EXPECT_EQ(tls.reason, "tls: SSL certificate problem: self-signed certificate");
  EXPECT_FALSE(tls.connection);
  EXPECT_FALSE(tls.timeout);
}

class HttpHandlerTest : public ::testing::Test {
 protected:
  Outcome RunOne(const std::string& item) {
    HandlerContext context{settings_, InputKind::kList, "/tmp", 1};
    Result<std::unique_ptr<Handler>> h = MakeHandler(context);
    EXPECT_TRUE(h.ok()) << h.status().message();
    if (!h.ok()) return {};
    EXPECT_NE((*h)->async(), nullptr);
    return (*h)->Run(MakeItemPaths(settings_, InputKind::kList, item, 1, 1, "/tmp"), log_);
  }
  Settings settings_;
  NullLog log_;
};

// Port 1 on the loopback has no listener: refused at once, no server needed.
TEST_F(HttpHandlerTest, RefusedConnectionIsRetriable) {
  settings_.job.handler = HandlerKind::kHttp;
  settings_.http.url = "http://127.0.0.1:1/x/{item}";
  Outcome o = RunOne("a");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.reason, "connect refused");
  EXPECT_FALSE(o.final);
  EXPECT_EQ(o.http_status, 0);
  settings_.http.retry_on = "429";
  o = RunOne("a");
  EXPECT_EQ(o.reason, "connect refused");
  EXPECT_TRUE(o.final);
}

TEST_F(HttpHandlerTest, ItemThatCannotMakeARequestFailsForGood) {
  settings_.job.handler = HandlerKind::kHttp;
  settings_.http.url = "http://127.0.0.1:1/x";
  settings_.http.headers = {{"X-Id", "{item}"}};
  Outcome o = RunOne("a\nInjected: 1");
  EXPECT_FALSE(o.ok);
  EXPECT_TRUE(o.final);
  EXPECT_NE(o.reason.find("line break"), std::string::npos) << o.reason;
}

TEST_F(HttpHandlerTest, UnsetVariableStopsTheHandler) {
  settings_.job.handler = HandlerKind::kHttp;
  settings_.http.url = "http://127.0.0.1:1/x";
  settings_.http.headers = {{"Authorization", "Bearer ${SHOAL_TEST_SURELY_UNSET}"}};
  HandlerContext context{settings_, InputKind::kList, "/tmp", 1};
  Result<std::unique_ptr<Handler>> h = MakeHandler(context);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("SHOAL_TEST_SURELY_UNSET"), std::string::npos);
}

}  // namespace
}  // namespace shoal
