// Names the calling thread (its /proc/PID/task/TID/comm), so `top -H`,
// `perf` and a debugger say which of walship's threads is busy. Linux keeps
// the first 15 bytes.
#pragma once

#include <pthread.h>

namespace walship {

inline void NameThisThread(const char* name) { ::pthread_setname_np(::pthread_self(), name); }

}  // namespace walship
