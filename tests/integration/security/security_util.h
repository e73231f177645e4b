// Shared pieces of the security tests (label security): a cluster started
// with app.db on it, the databases a data directory holds, and the shape of
// the node API's error bodies. For the test's main thread.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cluster/cluster_util.h"

namespace walship::testing::security {

// Starts `cluster`, creates app.db (WAL, 10 rows) on the primary and waits
// until every node holds it; its position goes to `pos`.
::testing::AssertionResult StartWithAppDb(cluster::Cluster& cluster, Pos* pos);

// The entries of DATA/dbs, sorted (empty when there is none).
std::vector<std::string> ListDbs(const std::string& data_dir);

// `body` is exactly one line holding a JSON object with "error".
::testing::AssertionResult IsOneLineJsonError(const std::string& body);

}  // namespace walship::testing::security
