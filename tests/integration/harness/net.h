// Loopback ports for processes a test starts. Thread-safe.
#pragma once

#include <cstdint>

namespace walship::testing {

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, the
// kernel's choice read back, the socket closed). Another process can take it
// before the caller binds it; the kernel rarely hands the same port out twice
// in a row, which is enough for tests.
uint16_t FreePort();

}  // namespace walship::testing
