// GoogleTest assertions for walship's Status and Result<T>.
#pragma once

#include <gtest/gtest.h>

#include "base/status.h"

// ASSERT_OK(status_expr): fails the test with the Status's text.
#define WALSHIP_ASSERT_OK(expr)                               \
  do {                                                        \
    const ::walship::Status _st = (expr);                     \
    ASSERT_TRUE(_st.ok()) << #expr << ": " << _st.ToString(); \
  } while (0)

// WALSHIP_ASSERT_OK_AND_ASSIGN(auto x, result_expr): declares x from an OK
// Result or fails the test with its Status.
#define WALSHIP_ASSERT_OK_AND_ASSIGN(lhs, expr) \
  WALSHIP_ASSERT_OK_AND_ASSIGN_IMPL(WALSHIP_CONCAT(_result_, __LINE__), lhs, expr)
#define WALSHIP_ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr)            \
  auto tmp = (expr);                                                 \
  ASSERT_TRUE(tmp.ok()) << #expr << ": " << tmp.status().ToString(); \
  lhs = std::move(tmp).value()
