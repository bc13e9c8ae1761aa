#include "worker/http_handler.h"

#include <curl/curl.h>
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "common/fd.h"
#include "common/wire.h"
#include "config/http_status.h"
#include "job/fields.h"
#include "job/http_request.h"
#include "job/output_file.h"
#include "job/template.h"

namespace shoal {
namespace {

// Of a failed call's body, this much goes to stderr_tail.
constexpr size_t kBodyInTail = 1024;

int64_t NowUnix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class HttpHandler final : public Handler, public AsyncHandler {
 public:
  HttpHandler(const HandlerContext& context, HttpRequestTemplate request, Template response_path,
              HttpStatusSet success, HttpStatusSet retry_on)
      : s_(context.settings),
        run_dir_(context.run_dir),
        request_(std::move(request)),
        response_path_(std::move(response_path)),
        success_(success),
        retry_on_(retry_on),
        capacity_(static_cast<size_t>(std::max(context.settings.http.concurrency, 1))),
        max_body_(static_cast<size_t>(std::max(context.settings.http.max_body, 0))) {}

  ~HttpHandler() override {
    for (auto& call : calls_) {
      if (call->active) curl_multi_remove_handle(multi_, call->easy);
      curl_slist_free_all(call->headers);
      curl_easy_cleanup(call->easy);
    }
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
  }

  Status Init() {
    multi_ = curl_multi_init();
    if (multi_ == nullptr) return Status::Internal("curl_multi_init failed");
    // One connection per call in flight is kept for reuse (keep-alive).
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(capacity_));
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    https_ = s_.http.url.rfind("https:", 0) == 0;
    return Status::Ok();
  }

  unsigned fields() const override {
    unsigned f = request_.fields();
    if (s_.http.response == StdoutMode::kFile) f |= response_path_.fields();
    return f;
  }
  AsyncHandler* async() override { return this; }
  size_t capacity() const override { return capacity_; }
  size_t in_flight() const override { return in_flight_; }

  Outcome Run(const ItemPaths& paths, LogSink& log) override {
    std::vector<Completion> done;
    Start(0, paths, log);
    while (done.empty()) Poll(1000, &done);
    return std::move(done.front().outcome);
  }

  void Start(uint64_t tag, const ItemPaths& paths, LogSink& log) override {
    if (!said_insecure_ && s_.http.insecure) {
      said_insecure_ = true;
      log.Log("http.insecure = true: TLS certificates are not verified");
    }
    ++in_flight_;
    Call* call = FreeCall();
    if (call == nullptr) return Early(tag, "out of memory: cannot start a call", true);
    call->tag = tag;
    call->index = paths.index;
    call->response.clear();
    call->received = 0;
    call->retry_after.clear();
    call->over_cap = false;
    call->write_error = Status::Ok();
    call->spill.Reset();
    call->spill_rel.clear();
    call->file.reset();
    call->error[0] = '\0';
    Status built = request_.Build(paths, &call->url, &call->header_lines, &call->body);
    if (built.ok() && s_.http.response == StdoutMode::kFile) built = OpenResponseFile(paths, call);
    if (!built.ok()) {
      call->file.reset();
      free_.push_back(call);
      return Early(tag, built.message(), true);
    }
    curl_slist_free_all(call->headers);
    call->headers = nullptr;
    // Without this, curl waits for "100 Continue" before sending a body.
    call->headers = curl_slist_append(call->headers, "Expect:");
    for (const std::string& line : call->header_lines) {
      call->headers = curl_slist_append(call->headers, line.c_str());
    }
    CURL* e = call->easy;
    curl_easy_setopt(e, CURLOPT_URL, call->url.c_str());
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->headers);
    if (request_.has_body()) {
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call->body.size()));
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->body.data());
    }
    CURLMcode added = curl_multi_add_handle(multi_, e);
    if (added != CURLM_OK) {
      free_.push_back(call);
      return Early(tag, std::string("cannot start a call: ") + curl_multi_strerror(added), false);
    }
    call->active = true;
  }

  void Poll(int timeout_ms, std::vector<Completion>* done) override {
    const size_t before = done->size();
    Collect(done);
    if (done->size() > before || in_flight_ == 0) return;
    // Waits on the calls' sockets and curl's own timers (job.timeout,
    // connect_timeout), at most timeout_ms: no spinning.
    curl_multi_poll(multi_, nullptr, 0, std::max(timeout_ms, 0), nullptr);
    Collect(done);
  }

  // curl_multi_wakeup is libcurl's one thread-safe call on a multi handle.
  void Wake() override { curl_multi_wakeup(multi_); }

 private:
  struct Call {
    CURL* easy = nullptr;
    bool active = false;
    uint64_t tag = 0;
    std::string url;
    std::string body;
    std::vector<std::string> header_lines;
    curl_slist* headers = nullptr;
    uint64_t index = 0;
    // The body: all of it in `response` while it fits the record
    // (kInlineOutput), else its first kBodyInTail bytes there and the whole
    // of it in `spill` (response = "result") or `file` (response = "file").
    std::string response;
    uint64_t received = 0;
    std::string retry_after;
    bool over_cap = false;
    Status write_error;
    UniqueFd spill;
    std::string spill_rel;
    std::optional<PendingOutputFile> file;
    HttpHandler* handler = nullptr;
    char error[CURL_ERROR_SIZE] = {};
  };

  static size_t OnBody(char* data, size_t size, size_t n, void* user) {
    auto* call = static_cast<Call*>(user);
    const size_t bytes = size * n;
    if (call->received + bytes > call->handler->max_body_) {
      call->over_cap = true;
      return 0;  // curl ends the call with CURLE_WRITE_ERROR
    }
    call->received += bytes;
    call->write_error = call->handler->Keep(call, std::string_view(data, bytes));
    return call->write_error.ok() ? bytes : 0;  // an error ends the call, as over_cap does
  }

  // Keeps a piece of the body where http.response says it goes.
  Status Keep(Call* call, std::string_view data) {
    const StdoutMode mode = s_.http.response;
    if (mode == StdoutMode::kResult && !call->spill.valid() &&
        call->response.size() + data.size() <= kInlineOutput) {
      call->response.append(data);
      return Status::Ok();
    }
    if (call->response.size() < kBodyInTail) {
      call->response.append(data.substr(0, kBodyInTail - call->response.size()));
    }
    if (mode == StdoutMode::kFile) return WriteAll(call->file->fd.get(), data, call->file->rel);
    if (mode == StdoutMode::kDiscard) return Status::Ok();
    if (!call->spill.valid()) {
      // Past what a record holds: the body so far and the rest go to a file.
      Result<OutputFile> file =
          CreateOutputFile(run_dir_, "spill/" + std::to_string(call->index) + ".output");
      if (!file.ok()) return file.status();
      call->spill = std::move(file->fd);
      call->spill_rel = std::move(file->rel);
      Status s = WriteAll(call->spill.get(), call->response, call->spill_rel);
      if (!s.ok()) return s;
      call->response.resize(std::min(call->response.size(), kBodyInTail));
    }
    return WriteAll(call->spill.get(), data, call->spill_rel);
  }

  // response = "file": the body goes to a temporary file beside
  // http.response_path's, renamed to it only when the call succeeds.
  Status OpenResponseFile(const ItemPaths& paths, Call* call) {
    std::string path;
    Status expanded = response_path_.AppendTo(paths, false, /*make_out_dir=*/true, &path);
    if (!expanded.ok()) return expanded;
    Result<PendingOutputFile> file =
        CreatePendingOutputFile(run_dir_, path, paths.index, s_.output.tree);
    if (!file.ok()) return file.status();
    call->file.emplace(std::move(file).value());
    return Status::Ok();
  }

  static size_t OnHeader(char* data, size_t size, size_t n, void* user) {
    auto* call = static_cast<Call*>(user);
    const size_t bytes = size * n;
    std::string_view line(data, bytes);
    static constexpr std::string_view kName = "retry-after:";
    if (line.size() > kName.size() && strncasecmp(line.data(), kName.data(), kName.size()) == 0) {
      call->retry_after.assign(line.substr(kName.size()));
    } else if (line.starts_with("HTTP/")) {
      call->retry_after.clear();  // a new response (after 100 Continue)
    }
    return bytes;
  }

  Call* FreeCall() {
    if (!free_.empty()) {
      Call* c = free_.back();
      free_.pop_back();
      return c;
    }
    auto call = std::make_unique<Call>();
    call->easy = curl_easy_init();
    if (call->easy == nullptr) return nullptr;
    Configure(call.get());
    calls_.push_back(std::move(call));
    return calls_.back().get();
  }

  // What every call of the job shares, set once per easy handle: a handle
  // is reused for call after call (its connection stays in the multi's cache).
  void Configure(Call* call) {
    CURL* e = call->easy;
    call->handler = this;
    curl_easy_setopt(e, CURLOPT_PRIVATE, call);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, call);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, call->error);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "shoal/0.1");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(s_.job.timeout.count()));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(s_.http.connect_timeout.count()));
    if (s_.http.idle_timeout.count() > 0) {
      // Less than a byte a second for that long: a server that accepted the
      // call and went silent does not hold its slot (and the run) forever.
      curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
      curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME,
                       static_cast<long>((s_.http.idle_timeout.count() + 999) / 1000));
    }
    const bool verify = !s_.http.insecure;
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
    if (!s_.http.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, s_.http.ca_file.c_str());
    // Over TLS, wait for a connection that may multiplex (HTTP/2) rather
    // than open one per call.
    if (https_) curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    const std::string& m = s_.http.method;
    if (m == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (m == "POST" && request_.has_body()) {
      curl_easy_setopt(e, CURLOPT_POST, 1L);
    } else if (m != "GET" || request_.has_body()) {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m.c_str());
    }
  }

  void Early(uint64_t tag, std::string reason, bool final) {
    Completion c;
    c.tag = tag;
    c.outcome.reason = std::move(reason);
    c.outcome.final = final;
    early_.push_back(std::move(c));
  }

  void Collect(std::vector<Completion>* done) {
    for (Completion& c : early_) {
      --in_flight_;
      done->push_back(std::move(c));
    }
    early_.clear();
    if (in_flight_ == 0) return;
    int running = 0;
    curl_multi_perform(multi_, &running);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Call* call = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &call);
      const CURLcode code = msg->data.result;
      curl_multi_remove_handle(multi_, msg->easy_handle);
      call->active = false;
      Completion c;
      c.tag = call->tag;
      Finish(call, code, &c.outcome);
      Release(call, c.outcome.ok);
      free_.push_back(call);
      --in_flight_;
      done->push_back(std::move(c));
    }
  }

  // After a call: a failed item leaves no body behind (its first bytes are
  // in stderr_tail); the temporary file of response = "file" goes with it.
  void Release(Call* call, bool ok) {
    call->file.reset();
    call->spill.Reset();
    if (!ok && !call->spill_rel.empty()) ::unlink((run_dir_ + "/" + call->spill_rel).c_str());
    call->spill_rel.clear();
  }

  void Finish(Call* call, CURLcode code, Outcome* o) {
    long status = 0;
    curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &status);
    o->http_status = static_cast<int>(status);
    o->bytes = call->received;
    if (code == CURLE_OK) {
      if (success_.Contains(o->http_status)) {
        SetResponse(call, o);
        return;
      }
      o->reason = "http " + std::to_string(status);
      o->final = !retry_on_.Contains(o->http_status);
      if (!call->retry_after.empty()) {
        if (auto ms = ParseRetryAfter(call->retry_after, NowUnix())) {
          o->retry_after_ms = static_cast<uint32_t>(std::min<uint64_t>(*ms, UINT32_MAX));
        }
      }
      o->stderr_tail.assign(call->response, 0, std::min(call->response.size(), kBodyInTail));
      return;
    }
    if (code == CURLE_WRITE_ERROR && call->over_cap) {
      o->reason = "body over http.max_body (" + std::to_string(max_body_) + " bytes)";
      o->final = true;
      o->stderr_tail.assign(call->response, 0, std::min(call->response.size(), kBodyInTail));
      return;
    }
    if (code == CURLE_WRITE_ERROR && !call->write_error.ok()) {
      o->reason = "cannot keep the body: " + call->write_error.message();
      o->final = true;
      return;
    }
    long os_errno = 0;
    curl_off_t pretransfer = 0;
    curl_easy_getinfo(call->easy, CURLINFO_OS_ERRNO, &os_errno);
    // The request was about to go out: connected (TLS included), new or reused.
    curl_easy_getinfo(call->easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
    const bool connected = pretransfer > 0 || status != 0;
    CallFailure f = ClassifyCallError(code, os_errno, connected, call->error);
    o->reason = std::move(f.reason);
    o->final = !((f.connection && retry_on_.connection()) || (f.timeout && retry_on_.timeout()));
    o->stderr_tail.assign(call->response, 0, std::min(call->response.size(), kBodyInTail));
  }

  // A successful call's body into the outcome: the output file it went to,
  // or the body itself.
  void SetResponse(Call* call, Outcome* o) {
    switch (s_.http.response) {
      case StdoutMode::kFile: {
        Status committed = call->file->Commit();
        if (!committed.ok()) {
          o->reason = "cannot keep the body: " + committed.message();
          o->final = true;
          return;
        }
        o->output_file = call->file->rel;
        break;
      }
      case StdoutMode::kResult:
        if (call->spill.valid()) {
          o->output_file = std::move(call->spill_rel);
        } else {
          SetOutput(call->response, o);
        }
        break;
      case StdoutMode::kDiscard:
        break;
    }
    call->spill.Reset();
    o->ok = true;
  }

  // A body that is JSON goes into the record as JSON: minified, so that it
  // stays one line of results.jsonl. Anything else is a string.
  void SetOutput(const std::string& body, Outcome* o) {
    o->output = body;
    if (body.empty()) return;
    padded_.assign(body);
    padded_.resize(body.size() + simdjson::SIMDJSON_PADDING);
    simdjson::dom::element element;
    if (parser_.parse(padded_.data(), body.size(), false).get(element) != simdjson::SUCCESS) {
      return;
    }
    minified_.resize(body.size());
    size_t n = 0;
    if (simdjson::minify(body.data(), body.size(), minified_.data(), n) != simdjson::SUCCESS) {
      return;
    }
    o->output.assign(minified_.data(), n);
    o->output_json = true;
  }

  const Settings& s_;
  const std::string run_dir_;
  HttpRequestTemplate request_;
  Template response_path_;  // response = 'file'
  const HttpStatusSet success_;
  const HttpStatusSet retry_on_;
  const size_t capacity_;
  const size_t max_body_;
  bool https_ = false;
  bool said_insecure_ = false;
  CURLM* multi_ = nullptr;
  std::vector<std::unique_ptr<Call>> calls_;  // at most capacity_, reused
  std::vector<Call*> free_;
  std::vector<Completion> early_;  // items that failed before a call started
  size_t in_flight_ = 0;
  simdjson::dom::parser parser_;
  std::string padded_;
  std::string minified_;
};

}  // namespace

CallFailure ClassifyCallError(int curl_code, long os_errno, bool connected,
                              std::string_view error_text) {
  CallFailure f;
  const std::string detail(error_text);
  switch (static_cast<CURLcode>(curl_code)) {
    case CURLE_OPERATION_TIMEDOUT:
      if (connected) {
        f.reason = "timeout";
        f.timeout = true;
      } else {
        f.reason = "connect timeout";
        f.connection = true;
      }
      return f;
    case CURLE_COULDNT_CONNECT:
      f.connection = true;
      f.reason = os_errno == ECONNREFUSED || os_errno == 0
                     ? "connect refused"
                     : std::string("connect failed: ") + std::strerror(static_cast<int>(os_errno));
      return f;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      f.connection = true;
      f.reason = "dns: " + (detail.empty() ? std::string("host not found") : detail);
      return f;
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      f.connection = true;
      f.reason = "connection closed";
      return f;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
      f.connection = true;
      f.reason = os_errno == ECONNRESET ? "connection reset" : "connection closed";
      return f;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
      f.reason = "tls: " + (detail.empty()
                                ? std::string(curl_easy_strerror(static_cast<CURLcode>(curl_code)))
                                : detail);
      return f;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      f.reason = "bad url: " +
                 (detail.empty() ? std::string(curl_easy_strerror(static_cast<CURLcode>(curl_code)))
                                 : detail);
      return f;
    default:
      f.reason = std::string(curl_easy_strerror(static_cast<CURLcode>(curl_code)));
      if (!detail.empty()) f.reason += ": " + detail;
      return f;
  }
}

Result<std::unique_ptr<Handler>> MakeHttpHandler(const HandlerContext& context) {
  // curl_global_init is not thread-safe: once per process, before any handle.
  static const CURLcode global = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (global != CURLE_OK) {
    return Status::Internal(std::string("curl_global_init: ") + curl_easy_strerror(global));
  }
  const HttpSettings& http = context.settings.http;
  Result<HttpRequestTemplate> request =
      HttpRequestTemplate::Compile(http, nullptr, FieldContextOf(context.settings));
  if (!request.ok()) return request.status();
  Result<HttpStatusSet> success = HttpStatusSet::Parse(http.success, false);
  if (!success.ok()) return Status::Error("http.success: " + success.status().message());
  Result<HttpStatusSet> retry_on = HttpStatusSet::Parse(http.retry_on, true);
  if (!retry_on.ok()) return Status::Error("http.retry_on: " + retry_on.status().message());
  Template response_path;
  if (http.response == StdoutMode::kFile) {
    Result<Template> t = Template::Parse(http.response_path, FieldContextOf(context.settings));
    if (!t.ok()) return Status::Error("http.response_path: " + t.status().message());
    response_path = std::move(t).value();
  }
  auto handler = std::make_unique<HttpHandler>(context, std::move(request).value(),
                                               std::move(response_path), *success, *retry_on);
  Status st = handler->Init();
  if (!st.ok()) return st;
  return std::unique_ptr<Handler>(std::move(handler));
}

}  // namespace shoal
