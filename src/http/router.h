// Router: maps (method, exact path) to a Handler and answers what no handler
// serves: 404 with a JSON error for an unknown path, 405 (with an Allow
// header) for a known path asked with another method.
//
// Thread rules: register every route with Handle() before the first
// Dispatch(); after that Dispatch() may run on many threads at once.
#pragma once

#include <map>
#include <string>

#include "http/handler.h"

namespace walship::http {

class Router {
 public:
  // Registers `handler` for `method` (e.g. "GET") on `path` (e.g. "/info").
  // A later registration of the same pair replaces the earlier one.
  void Handle(std::string method, std::string path, Handler handler);

  // Calls the matching handler, or sends the 404/405 JSON error.
  void Dispatch(Request& request, Response& response) const;

 private:
  // path -> method -> handler
  std::map<std::string, std::map<std::string, Handler>> routes_;
};

}  // namespace walship::http
