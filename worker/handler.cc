#include "worker/handler.h"

#include "worker/command_handler.h"
#include "worker/http_handler.h"
#include "worker/plugin_handler.h"
#include "worker/sha256_handler.h"

namespace shoal {

Result<std::unique_ptr<Handler>> MakeHandler(const HandlerContext& context) {
  switch (context.settings.job.handler) {
    case HandlerKind::kCommand:
      return MakeCommandHandler(context);
    case HandlerKind::kSha256:
      return MakeSha256Handler(context);
    case HandlerKind::kPlugin:
      return MakePluginHandler(context);
    case HandlerKind::kHttp:
      return MakeHttpHandler(context);
    case HandlerKind::kPython:
      return MakePythonHandler(context);
  }
  return Status::Error("unknown job.handler");
}

}  // namespace shoal
