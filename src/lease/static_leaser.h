// StaticLeaser: the embedded default lease. Configuration decides: the node
// with `candidate: true` is the primary forever; every other node follows the
// primary named by `lease.hostname` and `lease.advertise-url` (LiteFS's static
// lease). Thread-safe (immutable after construction).
#pragma once

#include "lease/leaser.h"

namespace walship::lease {

class StaticLeaser final : public Leaser {
 public:
  // `primary` names the primary node; on the primary itself, this node.
  StaticLeaser(bool candidate, PrimaryInfo primary);

  const char* type() const override { return "static"; }
  // InvalidArgument when this node is not the candidate and names no primary.
  Status Start(LeaseCallback on_change) override;
  void Stop() override {}
  LeaseState state() const override;
  // Always an error: under the static lease the primary is configured.
  Status HandOff(const PrimaryInfo& to, const std::function<Status()>& caught_up) override;

 private:
  bool candidate_;
  PrimaryInfo primary_;
};

}  // namespace walship::lease
