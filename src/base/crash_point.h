// Crash points: named places where a test can make walship die as if by kill -9.
//
// Set WALSHIP_CRASH_AT=<name> (optionally <name>:<n> to die on the n-th hit,
// 1-based) in walship's environment; when execution reaches CrashPoint(name) it
// sends itself SIGKILL. Unset, a crash point costs one relaxed atomic load.
// Thread-safe.
//
// TestHookNumber reads the other numeric test hooks (WALSHIP_TEST_*): the
// value of environment variable `name`, or 0 when it is unset. Read it once
// into a static; the environment does not change while walship runs.
#pragma once

namespace walship {

void CrashPoint(const char* name);
// Whether WALSHIP_CRASH_AT names `name`: for a crash point that needs a
// write of its own to leave the state it stands for.
bool CrashPointArmed(const char* name);
long TestHookNumber(const char* name);

}  // namespace walship
