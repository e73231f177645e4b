#include "harness/consistency.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <regex>

#include "env/env.h"
#include "harness/sql.h"
#include "harness/temp_dir.h"
#include "ltx/checksum.h"
#include "ltx/decoder.h"
#include "ltx/io.h"

namespace walship::testing {
namespace {

std::string Hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

std::string LtxDir(const std::string& data_dir, const std::string& db) {
  return data_dir + "/dbs/" + db + "/ltx";
}

// Checks that a verified LTX (`what` names it) extends the chain so far,
// and extends it.
Status ExtendChain(const std::string& what, const ltx::Header& header,
                   const ltx::Trailer& trailer, LtxChain* chain) {
  auto fail = [&](const std::string& why) { return Status::Corruption(what + ": " + why); };
  const uint64_t want = chain->last_txid + 1;
  if (header.min_txid != want || header.max_txid < want) {
    return fail("TXIDs " + std::to_string(header.min_txid) + "-" +
                std::to_string(header.max_txid) + ", expected a run starting at " +
                std::to_string(want) + " after " + std::to_string(chain->last_txid));
  }
  if (header.pre_apply_checksum != chain->last_checksum) {
    return fail("pre-apply checksum " + Hex(header.pre_apply_checksum) +
                " != previous post-apply checksum " + Hex(chain->last_checksum));
  }
  chain->transactions += header.max_txid - header.min_txid + 1;
  chain->last_txid = header.max_txid;
  chain->last_checksum = trailer.post_apply_checksum;
  chain->page_size = header.page_size;
  chain->commit = header.commit;
  return Status::OK();
}

// Verifies one file and checks it extends the chain so far.
Status CheckChainLink(const LtxFile& file, LtxChain* chain) {
  auto f = env::Env::Posix()->Open(file.path, env::OpenMode::kRead);
  if (!f.ok()) return f.status();
  ltx::FileReader reader(f->get());
  ltx::Header header;
  ltx::Trailer trailer;
  Status st = ltx::Verify(&reader, &header, &trailer);
  if (!st.ok()) return st.WithContext(file.path);
  if (header.min_txid != file.min_txid || header.max_txid != file.max_txid) {
    return Status::Corruption(file.path + ": header says TXIDs " +
                              std::to_string(header.min_txid) + "-" +
                              std::to_string(header.max_txid) + ", the name disagrees");
  }
  chain->files++;
  return ExtendChain(file.path, header, trailer, chain);
}

// Verifies the LTX log's entries and extends the chain with those after it
// (entries the files already hold are skipped).
Status CheckLogEntries(const std::string& path, LtxChain* chain) {
  WALSHIP_ASSIGN_OR_RETURN(const std::vector<std::string> entries, ReadLtxLog(path));
  for (size_t i = 0; i < entries.size(); i++) {
    const std::string what = path + " entry " + std::to_string(i);
    ltx::SpanReader reader(entries[i]);
    ltx::Header header;
    ltx::Trailer trailer;
    if (Status st = ltx::Verify(&reader, &header, &trailer); !st.ok()) return st.WithContext(what);
    if (header.max_txid > chain->last_txid) {
      WALSHIP_RETURN_IF_ERROR(ExtendChain(what, header, trailer, chain));
    }
  }
  return Status::OK();
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const Pos& pos) {
  return os << Hex(pos.txid) << "/" << Hex(pos.checksum);
}

Result<Pos> ParsePos(const std::string& text) {
  static const std::regex kFormat("^[0-9a-f]{16}/[0-9a-f]{16}\n$");
  if (!std::regex_match(text, kFormat)) {
    return Status::Corruption("-pos file \"" + text + "\" is not %016x/%016x\\n");
  }
  Pos pos;
  pos.txid = std::strtoull(text.substr(0, 16).c_str(), nullptr, 16);
  pos.checksum = std::strtoull(text.substr(17, 16).c_str(), nullptr, 16);
  return pos;
}

Result<Pos> ReadPos(const std::string& mount_dir, const std::string& db) {
  auto text = env::Env::Posix()->ReadFile(mount_dir + "/" + db + "-pos");
  if (!text.ok()) return text.status();
  return ParsePos(*text);
}

Result<std::vector<std::string>> ReadLtxLog(const std::string& path) {
  auto log = env::Env::Posix()->ReadFile(path);
  if (!log.ok() && log.status().IsNotFound()) return std::vector<std::string>{};
  if (!log.ok()) return log.status();
  std::vector<std::string> entries;
  size_t at = 0;
  while (log->size() - at >= 8) {
    uint64_t length = 0;
    for (int i = 0; i < 8; i++) length = length << 8 | uint8_t((*log)[at + i]);
    if (length == 0 || length > log->size() - at - 8) break;  // the end mark, or a torn tail
    entries.push_back(log->substr(at + 8, length));
    at += 8 + length;
  }
  return entries;
}

std::string LtxLogPath(const std::string& data_dir, const std::string& db) {
  return data_dir + "/dbs/" + db + "/ltx.log";
}

Result<std::vector<LtxFile>> ListLtx(const std::string& data_dir, const std::string& db) {
  const std::string dir = LtxDir(data_dir, db);
  auto names = env::Env::Posix()->ListDir(dir);
  if (!names.ok()) return names.status();
  std::vector<LtxFile> files;
  for (const std::string& name : *names) {
    LtxFile f;
    if (ltx::ParseFileName(name, &f.min_txid, &f.max_txid)) {
      f.path = dir + "/" + name;
      files.push_back(f);
    }
  }
  std::sort(files.begin(), files.end(),
            [](const LtxFile& a, const LtxFile& b) { return a.min_txid < b.min_txid; });
  return files;
}

Result<LtxChain> VerifyLtxChain(const std::string& data_dir, const std::string& db) {
  auto files = ListLtx(data_dir, db);
  if (!files.ok()) return files.status();
  LtxChain chain;
  for (const LtxFile& file : *files) WALSHIP_RETURN_IF_ERROR(CheckChainLink(file, &chain));
  WALSHIP_RETURN_IF_ERROR(CheckLogEntries(LtxLogPath(data_dir, db), &chain));
  return chain;
}

Result<FileChecksum> DatabaseFileChecksum(const std::string& path, uint32_t page_count) {
  auto file = env::Env::Posix()->Open(path, env::OpenMode::kRead);
  if (!file.ok()) return file.status();
  uint8_t header[100];
  auto n = (*file)->ReadAt(0, header);
  if (!n.ok()) return n.status();
  if (*n < sizeof header) return Status::Corruption(path + ": shorter than a SQLite header");
  FileChecksum out;
  uint32_t raw = (uint32_t(header[16]) << 8) | header[17];
  out.page_size = raw == 1 ? 65536 : raw;
  if (!ltx::IsValidPageSize(out.page_size)) {
    return Status::Corruption(path + ": page size " + std::to_string(raw));
  }
  auto size = (*file)->Size();
  if (!size.ok()) return size.status();
  if (*size % out.page_size != 0) {
    return Status::Corruption(path + ": size " + std::to_string(*size) +
                              " is not a multiple of the page size");
  }
  out.page_count = page_count ? page_count : uint32_t(*size / out.page_size);
  auto checksum = ltx::DatabaseChecksum(file->get(), out.page_size, out.page_count);
  if (!checksum.ok()) return checksum.status();
  out.checksum = *checksum;
  return out;
}

::testing::AssertionResult CheckConsistent(const std::string& mount_dir,
                                           const std::string& data_dir, const std::string& db,
                                           Pos* pos_out) {
  using ::testing::AssertionFailure;
  const std::string path = mount_dir + "/" + db;
  Sql sql(path, 10000);
  if (!sql.ok()) return AssertionFailure() << sql.error();
  auto mode = sql.QueryString("PRAGMA journal_mode");
  if (!mode.ok()) return AssertionFailure() << mode.status().ToString();
  if (*mode == "wal") {
    // Row: busy, frames in the WAL, frames checkpointed. Busy must be 0 or
    // the database file is not the whole database.
    auto busy = sql.QueryInt("PRAGMA wal_checkpoint(TRUNCATE)");
    if (!busy.ok()) return AssertionFailure() << busy.status().ToString();
    if (*busy != 0) return AssertionFailure() << "wal_checkpoint(TRUNCATE) was blocked";
  }
  auto integrity = sql.QueryString("PRAGMA integrity_check");
  if (!integrity.ok()) return AssertionFailure() << integrity.status().ToString();
  if (*integrity != "ok") return AssertionFailure() << "integrity_check: " << *integrity;

  auto pos = ReadPos(mount_dir, db);
  if (!pos.ok()) return AssertionFailure() << pos.status().ToString();
  auto chain = VerifyLtxChain(data_dir, db);
  if (!chain.ok()) return AssertionFailure() << chain.status().ToString();
  if (pos->txid != chain->last_txid || pos->checksum != chain->last_checksum) {
    return AssertionFailure() << db << "-pos is " << *pos << " but the newest LTX is "
                              << Pos{chain->last_txid, chain->last_checksum};
  }
  for (const std::string& file : {path, data_dir + "/dbs/" + db + "/database"}) {
    auto sum = DatabaseFileChecksum(file);
    if (!sum.ok()) return AssertionFailure() << sum.status().ToString();
    if (sum->checksum != pos->checksum) {
      return AssertionFailure() << "checksum of " << file << " (" << sum->page_count
                                << " pages) is " << Hex(sum->checksum) << ", " << db << "-pos says "
                                << *pos;
    }
    if (sum->page_count != chain->commit || sum->page_size != chain->page_size) {
      return AssertionFailure() << file << " has " << sum->page_count << " pages of "
                                << sum->page_size << " bytes; the newest LTX says " << chain->commit
                                << " of " << chain->page_size;
    }
  }
  if (pos_out) *pos_out = *pos;
  return ::testing::AssertionSuccess();
}

}  // namespace walship::testing
