// Loopback ports for processes a test starts. Thread-safe.
#pragma once

#include <cstdint>

namespace walship::testing {

// A TCP port on 127.0.0.1 that was free a moment ago: picked at random below
// the kernel's ephemeral range (net.ipv4.ip_local_port_range), where no
// outgoing connection of any test can take it, and checked by binding it.
// Another test's FreePort can still pick the same port before the caller
// binds it (one chance in thousands); harnesses that start a server retry
// on a port in use where they can (EtcdProcess).
uint16_t FreePort();

}  // namespace walship::testing
