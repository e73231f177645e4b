#include "recording_vfs.h"

#include <sqlite3.h>

#include <algorithm>

namespace walship::sqlite::testing {
namespace {

sqlite3_vfs* g_real = nullptr;
sqlite3_vfs g_vfs;
std::vector<IoOp> g_ops;
IoObserver g_observer;

// Our file object; the real VFS's file object follows it in memory.
struct RecFile {
  sqlite3_file base;
  sqlite3_file* real;
  const char* name;
};

sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<RecFile*>(f)->real; }
const char* Name(sqlite3_file* f) { return reinterpret_cast<RecFile*>(f)->name; }

void Record(IoOp::Kind kind, const char* file, int64_t offset, int64_t amount,
            const void* data) {
  IoOp op{kind, file ? file : "", offset, amount, {}};
  if (data != nullptr) {
    const auto* p = static_cast<const uint8_t*>(data);
    op.head.assign(p, p + std::min<int64_t>(amount, 32));
  }
  g_ops.push_back(std::move(op));
}

int Close(sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); }
int Read(sqlite3_file* f, void* buf, int amt, sqlite3_int64 off) {
  return Real(f)->pMethods->xRead(Real(f), buf, amt, off);
}
int Write(sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
  Record(IoOp::kWrite, Name(f), off, amt, buf);
  if (g_observer.before_write) {
    g_observer.before_write(Name(f) ? Name(f) : "", off,
                            {static_cast<const uint8_t*>(buf), size_t(amt)});
  }
  int rc = Real(f)->pMethods->xWrite(Real(f), buf, amt, off);
  if (rc == SQLITE_OK && g_observer.after_write) {
    g_observer.after_write(Name(f) ? Name(f) : "", off,
                           {static_cast<const uint8_t*>(buf), size_t(amt)});
  }
  return rc;
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  Record(IoOp::kTruncate, Name(f), size, 0, nullptr);
  if (g_observer.before_truncate) g_observer.before_truncate(Name(f) ? Name(f) : "", size);
  int rc = Real(f)->pMethods->xTruncate(Real(f), size);
  if (rc == SQLITE_OK && g_observer.after_truncate) {
    g_observer.after_truncate(Name(f) ? Name(f) : "", size);
  }
  return rc;
}
int Sync(sqlite3_file* f, int flags) {
  Record(IoOp::kSync, Name(f), 0, 0, nullptr);
  return Real(f)->pMethods->xSync(Real(f), flags);
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  return Real(f)->pMethods->xFileSize(Real(f), size);
}
int Lock(sqlite3_file* f, int l) { return Real(f)->pMethods->xLock(Real(f), l); }
int Unlock(sqlite3_file* f, int l) { return Real(f)->pMethods->xUnlock(Real(f), l); }
int CheckReserved(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}
int SectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
int DeviceCharacteristics(sqlite3_file* f) {
  return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
}
int ShmMap(sqlite3_file* f, int pg, int sz, int extend, void volatile** pp) {
  return Real(f)->pMethods->xShmMap(Real(f), pg, sz, extend, pp);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int ShmUnmap(sqlite3_file* f, int del) { return Real(f)->pMethods->xShmUnmap(Real(f), del); }
int Fetch(sqlite3_file* f, sqlite3_int64 off, int amt, void** pp) {
  return Real(f)->pMethods->xFetch(Real(f), off, amt, pp);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  return Real(f)->pMethods->xUnfetch(Real(f), off, p);
}

const sqlite3_io_methods kMethods = {
    .iVersion = 3,
    .xClose = Close,
    .xRead = Read,
    .xWrite = Write,
    .xTruncate = Truncate,
    .xSync = Sync,
    .xFileSize = FileSize,
    .xLock = Lock,
    .xUnlock = Unlock,
    .xCheckReservedLock = CheckReserved,
    .xFileControl = FileControl,
    .xSectorSize = SectorSize,
    .xDeviceCharacteristics = DeviceCharacteristics,
    .xShmMap = ShmMap,
    .xShmLock = ShmLock,
    .xShmBarrier = ShmBarrier,
    .xShmUnmap = ShmUnmap,
    .xFetch = Fetch,
    .xUnfetch = Unfetch,
};

int Open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  auto* rec = reinterpret_cast<RecFile*>(file);
  rec->real = reinterpret_cast<sqlite3_file*>(rec + 1);
  rec->name = name;
  int rc = g_real->xOpen(g_real, name, rec->real, flags, out_flags);
  rec->base.pMethods = rec->real->pMethods != nullptr ? &kMethods : nullptr;
  return rc;
}

int Delete(sqlite3_vfs*, const char* name, int sync_dir) {
  Record(IoOp::kDelete, name, 0, 0, nullptr);
  return g_real->xDelete(g_real, name, sync_dir);
}

int Access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_real->xAccess(g_real, name, flags, out);
}

int FullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_real->xFullPathname(g_real, name, n, out);
}

}  // namespace

const char* RecordingVfsName() {
  if (g_real == nullptr) {
    g_real = sqlite3_vfs_find(nullptr);
    g_vfs = *g_real;
    g_vfs.zName = "walship-recording";
    g_vfs.szOsFile = int(sizeof(RecFile)) + g_real->szOsFile;
    g_vfs.xOpen = Open;
    g_vfs.xDelete = Delete;
    g_vfs.xAccess = Access;
    g_vfs.xFullPathname = FullPathname;
    g_vfs.pNext = nullptr;
    sqlite3_vfs_register(&g_vfs, 0);
  }
  return g_vfs.zName;
}

std::vector<IoOp>& RecordedOps() { return g_ops; }
void ClearRecordedOps() { g_ops.clear(); }
void SetIoObserver(IoObserver observer) { g_observer = std::move(observer); }

}  // namespace walship::sqlite::testing
