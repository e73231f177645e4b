// walship-test-app: a small real HTTP application for the proxy tests. It
// reads and writes SQLite in a walship mount, one connection per request.
//
//   walship-test-app ADDR DB
//     POST /rows          body: a value; INSERT; 201, body: the new row id
//     GET  /rows/ID       200 with the value, 404 when the row is not here
//     GET  /count         200, body: the number of rows
//     GET  /ws            WebSocket: echoes every message
//     anything else       404
// The table is `rows(id INTEGER PRIMARY KEY, v TEXT)`; the test creates it.
// A thread per connection; runs until killed.
#include <sqlite3.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cstdio>
#include <string>
#include <thread>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

std::string g_db;

// Runs `sql` with one optional text parameter; the first column of the first
// row (or the last insert id for an INSERT) in *out. SQLite's error on failure.
bool Query(const std::string& sql, const std::string* param, std::string* out, std::string* error) {
  sqlite3* db = nullptr;
  bool ok = sqlite3_open_v2(g_db.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK;
  sqlite3_stmt* stmt = nullptr;
  if (ok) {
    sqlite3_busy_timeout(db, 10000);
    ok = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK;
  }
  if (ok && param) sqlite3_bind_text(stmt, 1, param->c_str(), -1, SQLITE_TRANSIENT);
  int rc = ok ? sqlite3_step(stmt) : SQLITE_ERROR;
  out->clear();
  if (rc == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    if (text) *out = reinterpret_cast<const char*>(text);
  } else if (rc == SQLITE_DONE && sql.rfind("INSERT", 0) == 0) {
    *out = std::to_string(sqlite3_last_insert_rowid(db));
  } else if (rc != SQLITE_DONE) {
    *error = db ? sqlite3_errmsg(db) : "cannot open";
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return rc == SQLITE_ROW || rc == SQLITE_DONE;
}

http::response<http::string_body> Handle(const http::request<http::string_body>& req) {
  http::response<http::string_body> res{http::status::ok, req.version()};
  res.keep_alive(req.keep_alive());
  const std::string target(req.target());
  std::string out, error;
  if (req.method() == http::verb::post && target == "/rows") {
    if (Query("INSERT INTO rows(v) VALUES(?)", &req.body(), &out, &error)) {
      res.result(http::status::created);
      res.body() = out;
    } else {
      res.result(http::status::internal_server_error);
      res.body() = error;
    }
  } else if (req.method() == http::verb::get && target.rfind("/rows/", 0) == 0) {
    const std::string id = target.substr(6);
    if (!Query("SELECT v FROM rows WHERE id = CAST(? AS INTEGER)", &id, &out, &error)) {
      res.result(http::status::internal_server_error);
      res.body() = error;
    } else if (out.empty()) {
      res.result(http::status::not_found);
    } else {
      res.body() = out;
    }
  } else if (req.method() == http::verb::get && target == "/count") {
    if (Query("SELECT count(*) FROM rows", nullptr, &out, &error)) {
      res.body() = out;
    } else {
      res.result(http::status::internal_server_error);
      res.body() = error;
    }
  } else {
    res.result(http::status::not_found);
  }
  res.prepare_payload();
  return res;
}

void Serve(tcp::socket socket) {
  beast::flat_buffer buffer;
  beast::error_code ec;
  while (true) {
    http::request<http::string_body> req;
    http::read(socket, buffer, req, ec);
    if (ec) return;
    if (beast::websocket::is_upgrade(req) && req.target() == "/ws") {
      beast::websocket::stream<tcp::socket> ws(std::move(socket));
      ws.accept(req, ec);
      while (!ec) {
        beast::flat_buffer message;
        ws.read(message, ec);
        if (ec) return;
        ws.text(ws.got_text());
        ws.write(message.data(), ec);
      }
      return;
    }
    auto res = Handle(req);
    http::write(socket, res, ec);
    if (ec || !res.keep_alive()) return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s HOST:PORT DB\n", argv[0]);
    return 2;
  }
  g_db = argv[2];
  const std::string addr = argv[1];
  const size_t colon = addr.rfind(':');
  asio::io_context io;
  tcp::acceptor acceptor(io, {asio::ip::make_address(addr.substr(0, colon)),
                              uint16_t(std::stoi(addr.substr(colon + 1)))});
  while (true) {
    tcp::socket socket(io);
    acceptor.accept(socket);
    std::thread(Serve, std::move(socket)).detach();
  }
}
