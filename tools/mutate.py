#!/usr/bin/env python3
"""Planted-bug check: does the test suite catch small, realistic bugs?

Each mutant below replaces one exact piece of source text with a wrong one.
For each, in a scratch git worktree of HEAD (default /tmp/walship-mutate):
apply it, build, run the tests it names, and report CAUGHT (a test failed,
or the build broke) or SURVIVED (every test passed: the suite has a hole).
A mutant whose text is no longer in the source is reported STALE.

Not part of CI (one build and test run per mutant). Usage:
    tools/mutate.py                 # every mutant
    tools/mutate.py NAME...         # some of them
    tools/mutate.py --list
Results and the last full run are in docs/testing.md.
"""
import os
import shutil
import subprocess
import sys
import time

# (name, file, text as in the source, wrong text, ctest -R regex of the tests to run)
MUTANTS = [
    ("proxy-ryw-one-short", "src/proxy/proxy.cc",
     "    want = TxidFromCookieHeader(View(req[bhttp::field::cookie]));\n",
     "    want = TxidFromCookieHeader(View(req[bhttp::field::cookie]));\n"
     "    if (want && *want > 0) *want -= 1;\n",
     "ProxyTest"),
    ("proxy-strong-read-ignored", "src/proxy/proxy.cc",
     'if (req[kConsistencyHeader] == "strong") {',
     'if (false && req[kConsistencyHeader] == "strong") {',
     "ProxyTest"),
    ("proxy-cookie-parsed-as-decimal", "src/proxy/rules.cc",
     "txid = ParseDigits(value, 16, 16);",
     "txid = ParseDigits(value, 10, 16);",
     "Proxy|Rules|Cookie"),
    ("crc-64k-pages-use-32k-combiner", "src/ltx/crc_combine.cc",
     "while (i < 7 && (512u << i) != page_size) i++;",
     "while (i < 6 && (512u << i) != page_size) i++;",
     "PageSize|Ltx|Crc"),
    ("fence-no-margin", "src/lease/etcd_leaser.cc",
     "return std::max<std::chrono::milliseconds>(std::chrono::milliseconds(200), ttl / 5);",
     "return std::chrono::milliseconds(0);",
     "Etcd|Fence|Leaser"),
    # The same bug, judged by the end-to-end fencing tests alone.
    ("fence-no-margin-end-to-end", "src/lease/etcd_leaser.cc",
     "return std::max<std::chrono::milliseconds>(std::chrono::milliseconds(200), ttl / 5);",
     "return std::chrono::milliseconds(0);",
     "EtcdOutageStops|PausedPrimary"),
    ("wal-capture-drops-commit-frame", "src/store/wal_capture.cc",
     "for (size_t i = 0; i <= commit_index; i++) {",
     "for (size_t i = 0; i < commit_index; i++) {",
     "WalCapture|CommitTest"),
    # FUSE passthrough: a rescan trusting frames it verified before, which a
    # rollback or a spilled page may have rewritten since.
    ("wal-rescan-keeps-stale-frames", "src/store/wal_capture.cc",
     "  verified_.clear();\n  dirty_ = header_.has_value();\n  return Status::OK();",
     "  dirty_ = header_.has_value();\n  return Status::OK();",
     "WalCaptureLive"),
    # FUSE passthrough: a writer that outlived a crash keeps its -shm mapping.
    ("recovery-keeps-shm", "src/store/db_recovery.cc",
     "  if (shm_) WALSHIP_RETURN_IF_ERROR(shm_->Truncate(0));\n",
     "",
     "StaleWriter"),
    ("ltx-decoder-skips-file-checksum", "src/ltx/decoder.cc",
     "if (trailer.file_checksum != computed) {",
     "if (false && trailer.file_checksum != computed) {",
     "Ltx|Corrupt"),
    ("replica-apply-no-truncate", "src/store/db_apply.cc",
     "  if (old_size != size) WALSHIP_RETURN_IF_ERROR(database_->Truncate(size));\n",
     "",
     "PageSize|Replication|Vacuum|Snapshot|CatchUp|Db\\."),
    ("wal-read-back-kept-across-looks", "src/store/wal_capture.cc",
     "Status WalCapture::Rescan(env::File* wal, int64_t now_ms) {\n  DropReadBack();\n",
     "Status WalCapture::Rescan(env::File* wal, int64_t now_ms) {\n",
     "WalCapture|Capture|Crash|Passthrough"),
    ("replica-apply-takes-no-locks", "src/store/db_apply.cc",
     "  if (mount) WALSHIP_RETURN_IF_ERROR(readers_out.Acquire());\n",
     "",
     "ApplyIsolation|Replication|ReadOnly|CatchUp"),
    ("stream-resumes-one-txid-late", "src/repl/streamer.cc",
     "db->LtxFilesAfter(sent->txid, kBatch)",
     "db->LtxFilesAfter(sent->txid + 1, kBatch)",
     "CatchUp|Replication|Stream"),
    ("retention-deletes-the-newest", "src/store/retention.cc",
     "for (size_t i = 0; i + 1 < files.size(); i++) {",
     "for (size_t i = 0; i < files.size(); i++) {",
     "Retention"),
    ("seal-merge-drops-wal-range", "src/ltx/merge.cc",
     "  out.wal_offset = last.wal_offset;\n"
     "  out.wal_size = last.wal_size;\n"
     "  out.wal_salt1 = last.wal_salt1;\n"
     "  out.wal_salt2 = last.wal_salt2;\n",
     "",
     "RestartsRecordNothingNew|Merge"),
    ("seal-empties-the-log-first", "src/store/db_commit.cc",
     '  CrashPoint("seal-before-file");\n',
     '  WALSHIP_RETURN_IF_ERROR(log_.Clear());\n  CrashPoint("seal-before-file");\n',
     "CommitCrashTest.*seal"),
    ("durable-commit-leaves-the-log-unsynced", "src/store/db_commit.cc",
     "    if (durable) WALSHIP_RETURN_IF_ERROR(log_.Sync());\n",
     "",
     "Db\\."),
    ("log-reserves-no-space", "src/store/ltx_log.cc",
     "  if (reserved_to_ >= size_ + kReserveBytes / 2 || file_->fd() < 0) return;\n",
     "  return;\n",
     "FullDisk"),
    ("wal-removal-unchecked", "src/store/db.cc",
     "    WALSHIP_RETURN_IF_ERROR(CheckWalCheckpointed());\n",
     "",
     "CommittedWal"),
    ("replica-ignores-deletions", "src/repl/replica_client.cc",
     "      return store_->Delete(item.db->name(), mount_);\n",
     "      return Status::OK();\n",
     "Delete"),
    ("reconnect-forgets-tombstones", "src/repl/streamer.cc",
     "  if (!tombstone || pos.txid == 0) return false;\n",
     "  return false;\n",
     "DeleteWhileAway"),
    ("deleted-archive-stays-live", "src/backup/archiver.cc",
     "  SetAsideDeletedAll();\n  for (store::Db* db : store_->List()) SyncDb(db, force);\n",
     "  for (store::Db* db : store_->List()) SyncDb(db, force);\n",
     "BackupFileTest.ADeleted"),
    ("checkpoint-copies-only-the-newest", "src/store/db_guard.cc",
     "  bool found = false;\n",
     "  return false;\n  bool found = false;\n",
     "Db\\.OnlyCommitted|StrayWrite|Concurrency"),
    ("journal-never-hot", "src/store/db_guard.cc",
     "  if (journal_ && journal_hot_) return Status::OK();  // a transaction, captured at its commit\n",
     "",
     "Db\\.|Commit"),
    ("stray-writes-pass", "src/store/db_guard.cc",
     "  if (pos_.txid == 0) return Status::OK();  // nothing committed to protect yet\n",
     "  return Status::OK();\n",
     "StrayWrite"),
    ("snapshot-misses-the-last-page", "src/store/db_snapshot.cc",
     "for (uint32_t pgno = 1; pgno <= header.commit; pgno++) {",
     "for (uint32_t pgno = 1; pgno < header.commit; pgno++) {",
     "Snapshot|CatchUp"),
    ("restore-to-txid-one-late", "src/backup/restore.cc",
     "case RestorePoint::Kind::kTxid: return h.max_txid <= options_.point.txid;",
     "case RestorePoint::Kind::kTxid: return h.max_txid <= options_.point.txid + 1;",
     "Restore"),
    ("restore-to-time-one-early", "src/backup/restore.cc",
     "case RestorePoint::Kind::kTimestamp: return h.timestamp_ms <= options_.point.timestamp_ms;",
     "case RestorePoint::Kind::kTimestamp: return h.timestamp_ms < options_.point.timestamp_ms;",
     "Restore"),
    # A replica's batch whose log sync failed stays in the log and in memory.
    ("replica-keeps-a-failed-batch", "src/store/db_apply.cc",
     "    ltx_index_.RemoveRecentAfter(std::max(pos_.txid, ltx_index_.LastFileTxid()));\n",
     "    return kept;\n",
     "Db\\."),
    # A replica's database file synced only before a seal, whatever the time.
    ("replica-database-synced-only-at-seal", "src/store/db_apply.cc",
     "at - database_synced_ < kDatabaseSyncInterval",
     "true",
     "Db\\."),
]


def run(cmd, cwd, log):
    with open(log, "a") as out:
        out.write("\n$ " + " ".join(cmd) + "\n")
        out.flush()
        return subprocess.run(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT).returncode


def prepare(repo, scratch, log):
    head = subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=repo, text=True).strip()
    if not os.path.exists(os.path.join(scratch, ".git")):
        subprocess.check_call(["git", "worktree", "add", "--detach", scratch, head], cwd=repo,
                              stdout=subprocess.DEVNULL)
    subprocess.check_call(["git", "checkout", "-q", "--force", "--detach", head], cwd=scratch)
    node_modules = os.path.join(repo, "tools/node/node_modules")
    link = os.path.join(scratch, "tools/node/node_modules")
    if os.path.isdir(node_modules) and not os.path.exists(link):
        os.symlink(node_modules, link)
    configure = ["cmake", "--preset", "release"]  # as scripts/test.sh builds
    if shutil.which("ccache"):
        configure.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
    if run(configure, scratch, log) != 0 or run(["cmake", "--build", "build", "-j2"], scratch, log):
        sys.exit(f"mutate: HEAD does not build in {scratch}; see {log}")
    return head


def try_mutant(scratch, mutant, log):
    name, path, text, wrong, tests = mutant
    full = os.path.join(scratch, path)
    with open(full) as f:
        source = f.read()
    if source.count(text) != 1:
        return "STALE", "the text to replace is not in the source exactly once"
    with open(full, "w") as f:
        f.write(source.replace(text, wrong))
    try:
        if run(["cmake", "--build", "build", "-j2"], scratch, log) != 0:
            return "CAUGHT", "the build failed"
        rc = run(["ctest", "--test-dir", "build", "-j2", "--timeout", "300", "-R", tests],
                 scratch, log)
        return ("CAUGHT", "a test failed") if rc != 0 else ("SURVIVED", "every test passed")
    finally:
        subprocess.check_call(["git", "checkout", "-q", "--", path], cwd=scratch)


def main(argv):
    if "--list" in argv:
        for m in MUTANTS:
            print(f"{m[0]:36} {m[1]}")
        return 0
    chosen = [m for m in MUTANTS if not argv or m[0] in argv]
    unknown = set(argv) - {m[0] for m in MUTANTS}
    if unknown:
        sys.exit("mutate: unknown mutant(s): " + ", ".join(sorted(unknown)))
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    scratch = os.environ.get("WALSHIP_MUTATE_DIR", "/tmp/walship-mutate")
    log = os.path.join(os.path.dirname(scratch), "walship-mutate.log")
    open(log, "w").close()
    head = prepare(repo, scratch, log)
    print(f"mutants of {head[:12]} in {scratch} (log: {log})")
    survived = 0
    for mutant in chosen:
        start = time.time()
        verdict, why = try_mutant(scratch, mutant, log)
        survived += verdict != "CAUGHT"
        print(f"{verdict:8} {mutant[0]:36} {why} ({time.time() - start:.0f} s)", flush=True)
    # Leave the scratch tree built at HEAD for the next run.
    run(["cmake", "--build", "build", "-j2"], scratch, log)
    print(f"{len(chosen) - survived} of {len(chosen)} caught")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
