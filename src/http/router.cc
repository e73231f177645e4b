#include "http/router.h"

namespace walship::http {

void Router::Handle(std::string method, std::string path, Handler handler) {
  routes_[std::move(path)][std::move(method)] = std::move(handler);
}

void Router::Dispatch(Request& request, Response& response) const {
  auto by_path = routes_.find(request.path());
  if (by_path == routes_.end()) {
    response.SendJsonError(404, "no such endpoint: " + request.path());
    return;
  }
  auto by_method = by_path->second.find(request.method());
  if (by_method == by_path->second.end()) {
    std::string allow;
    for (const auto& [method, handler] : by_path->second) {
      allow += (allow.empty() ? "" : ", ") + method;
    }
    response.SetHeader("Allow", allow);
    response.SendJsonError(405, "method " + request.method() + " not allowed on " +
                                    request.path() + " (allowed: " + allow + ")");
    return;
  }
  by_method->second(request, response);
}

}  // namespace walship::http
