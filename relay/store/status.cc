#include "relay/store/status.h"

#include <cstring>

namespace faultline::relay::store {

Status Status::from_errno(const std::string& what, int err) {
  return Status(Code::kIoError, what + ": " + std::strerror(err));
}

std::string Status::to_string() const {
  const char* name = "OK";
  switch (code_) {
    case Code::kOk:
      return "OK";
    case Code::kInvalidArgument:
      name = "invalid argument";
      break;
    case Code::kNotFound:
      name = "not found";
      break;
    case Code::kCorruption:
      name = "corruption";
      break;
    case Code::kIoError:
      name = "I/O error";
      break;
    case Code::kDbError:
      name = "database error";
      break;
    case Code::kBusy:
      name = "busy";
      break;
  }
  return std::string(name) + ": " + message_;
}

}  // namespace faultline::relay::store
