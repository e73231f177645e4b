// Loopback ports for processes a test starts. Thread-safe.
#pragma once

#include <cstdint>

namespace walship::testing {

// A TCP port on 127.0.0.1 for a server this test process starts, free now
// and reserved for this process until it exits. Picked at random below the
// kernel's ephemeral range (net.ipv4.ip_local_port_range), where no outgoing
// connection can take it; reserved with an flock on
// /tmp/walship-test-ports/PORT held open, so no other test process's
// FreePort hands it out meanwhile (ctest -j runs several), not even while a
// node that owns it is stopped and restarted; and checked by binding it.
// Only a process that binds ports in that range without FreePort could
// still take it; the suite starts none.
uint16_t FreePort();

// Whether a TCP connection to 127.0.0.1:port is accepted now.
bool CanConnect(uint16_t port);

}  // namespace walship::testing
