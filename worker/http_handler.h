// The `http` handler: one call per item, in process, on libcurl's multi
// interface: up to http.concurrency calls in flight per worker on one thread,
// over connections the multi handle keeps alive and reuses (HTTP/2
// multiplexed where the server offers it). The worker loop drives it through
// AsyncHandler; Run (one item, start to end) is there for tests.
//
// An item succeeds when the status is in http.success; its output is the
// response body (http.response): in the record, marked output_json
// (minified) when it parses as JSON, or spilled to {run}/spill/<index>.output
// past what a record holds; or in http.response_path's file, renamed there
// from a temporary name only when the call succeeds; or dropped. A
// failed item's reason is "http 500", "timeout", "connect timeout",
// "connect refused", "connection closed", "tls: ...", "body over
// http.max_body ..." with the first bytes of the body in stderr_tail. Only
// failures in http.retry_on may use job.retries (the others are final); the
// master retries them, not the worker, after at least the Retry-After the
// service sent, so attempts are counted in one place.
#pragma once

#include <memory>

#include "common/status.h"
#include "worker/handler.h"

namespace shoal {

Result<std::unique_ptr<Handler>> MakeHttpHandler(const HandlerContext& context);

// How a call that got no usable response is reported. Pure, for tests.
struct CallFailure {
  std::string reason;
  bool connection = false;  // "connection" in http.retry_on covers it
  bool timeout = false;     // "timeout" in http.retry_on covers it
};
// curl_code is a CURLcode; os_errno is CURLINFO_OS_ERRNO; connected: the
// connection was up (CURLINFO_CONNECT_TIME > 0 or a reused one).
CallFailure ClassifyCallError(int curl_code, long os_errno, bool connected,
                              std::string_view error_text);

}  // namespace shoal
