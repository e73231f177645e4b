// walship-replica-apply: the CPU a replica spends on each transaction it
// receives and applies, measured in one process with nothing else running,
// so two builds can be compared closely (bench/node_cpu.sh measures the same
// work under the insert workload, where the VM's noise is 5-10%).
//
// It encodes --files small LTX files shaped like the insert workload's
// (page 1 and the table's last leaf each; a new leaf every 30 transactions),
// then, timed: verifies each as the replica client does
// (store::ReceivedLtxFromBytes) and applies them in batches of --batch to a
// replica Db in a temporary directory (Db::ApplyBatch: log, sync, database
// writes, seals). Prints one JSON line with CPU and wall time per file.
//
// usage: walship-replica-apply [--files N] [--batch B] [--dir DIR]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "base/coding.h"
#include "ltx/checksum.h"
#include "ltx/encoder.h"
#include "ltx/io.h"
#include "store/db.h"
#include "store/page_checksums.h"
#include "store/received_ltx.h"

namespace walship {
namespace {

constexpr uint32_t kPageSize = 4096;
constexpr uint32_t kRowsPerLeaf = 30;

struct Args {
  size_t files = 50000;
  size_t batch = 50;
  std::string dir = "/tmp";
};

[[noreturn]] void Usage(const char* why) {
  std::fprintf(stderr,
               "walship-replica-apply: %s\nusage: walship-replica-apply [--files N] "
               "[--batch B] [--dir DIR]\n",
               why);
  std::exit(2);
}

Args ParseArgs(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; i++) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) Usage(("missing value after " + flag).c_str());
    const char* value = argv[++i];
    if (flag == "--files") {
      args.files = std::strtoull(value, nullptr, 10);
    } else if (flag == "--batch") {
      args.batch = std::strtoull(value, nullptr, 10);
    } else if (flag == "--dir") {
      args.dir = value;
    } else {
      Usage(("unknown flag " + flag).c_str());
    }
  }
  if (args.files == 0 || args.batch == 0) Usage("--files and --batch must be positive");
  return args;
}

void Check(const Status& st, const char* what) {
  if (st.ok()) return;
  std::fprintf(stderr, "walship-replica-apply: %s: %s\n", what, st.ToString().c_str());
  std::exit(1);
}

// A page that looks like a table page with `fill` bytes of rows: mostly
// zeros, so it compresses as real pages do.
std::string MakePage(uint32_t pgno, uint32_t fill, uint64_t txid) {
  std::string page(kPageSize, '\0');
  for (uint32_t i = 0; i < fill && i < kPageSize - 100; i++) {
    page[kPageSize - 1 - i] = char((pgno * 131 + i * 7 + (i / 64) * txid) & 0xff);
  }
  std::memcpy(page.data() + 100, &txid, sizeof txid);
  return page;
}

// The LTX files of a snapshot (txid 1) and files-1 insert transactions,
// their checksums chained as a primary's are.
std::vector<std::string> EncodeFiles(size_t files) {
  store::PageChecksums sums;
  sums.Reset(kPageSize);
  std::vector<std::string> out;
  uint32_t commit = 2;
  for (uint64_t txid = 1; txid <= files; txid++) {
    std::vector<std::pair<uint32_t, std::string>> pages;
    const uint64_t pre = txid == 1 ? 0 : sums.DatabaseChecksum();
    if (txid == 1) {
      pages = {{1, MakePage(1, 200, txid)}, {2, MakePage(2, 100, txid)}};
    } else {
      const uint32_t row = uint32_t(txid % kRowsPerLeaf);
      if (row == 0) commit++;
      pages = {{1, MakePage(1, 200, txid)}, {commit, MakePage(commit, 100 * (row + 1), txid)}};
    }
    sums.Resize(commit);
    for (const auto& [pgno, page] : pages) {
      sums.Set(pgno, ltx::PageChecksum(pgno, AsBytes(page)));
    }
    ltx::Header h{};
    h.page_size = kPageSize;
    h.commit = commit;
    h.min_txid = h.max_txid = txid;
    h.timestamp_ms = 1;
    h.pre_apply_checksum = pre;
    std::string bytes;
    ltx::StringWriter writer(&bytes);
    ltx::Encoder enc(&writer, /*compress=*/true);
    Check(enc.EncodeHeader(h), "encoding a header");
    for (const auto& [pgno, page] : pages) Check(enc.EncodePage(pgno, AsBytes(page)), "encoding");
    Check(enc.Finish(sums.DatabaseChecksum()), "encoding a trailer");
    out.push_back(std::move(bytes));
  }
  return out;
}

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

int Run(const Args& args) {
  std::string tmpl = args.dir + "/walship-replica-apply.XXXXXX";
  if (!mkdtemp(tmpl.data())) Usage(("cannot make a directory under " + args.dir).c_str());
  const std::string base = tmpl;
  std::vector<std::string> files = EncodeFiles(args.files);
  store::DbOptions options;
  options.name = "bench.db";
  options.dir = base + "/dbs/bench.db";
  store::Db db(options);
  Check(db.Open(), "opening the replica database");
  Check(db.SetReplica(true, nullptr), "making it a replica");

  const double cpu0 = CpuSeconds();
  const auto wall0 = std::chrono::steady_clock::now();
  for (size_t at = 0; at < files.size(); at += args.batch) {
    std::vector<store::ReceivedLtx> batch;
    for (size_t i = at; i < std::min(files.size(), at + args.batch); i++) {
      Result<store::ReceivedLtx> received = store::ReceivedLtxFromBytes(
          std::move(files[i]), "file " + std::to_string(i), store::KeepPages::kYes);
      Check(received.status(), "verifying");
      batch.push_back(std::move(*received));
    }
    Check(db.ApplyBatch(batch, nullptr), "applying");
  }
  const double cpu = CpuSeconds() - cpu0;
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  std::printf("{\"files\":%zu,\"batch\":%zu,\"cpu_us_per_file\":%.2f,\"wall_us_per_file\":%.2f}\n",
              args.files, args.batch, cpu / double(args.files) * 1e6,
              wall / double(args.files) * 1e6);
  const bool complete = db.pos().txid == args.files;
  std::filesystem::remove_all(base);
  return complete ? 0 : 1;
}

}  // namespace
}  // namespace walship

int main(int argc, char** argv) { return walship::Run(walship::ParseArgs(argc, argv)); }
