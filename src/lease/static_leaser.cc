#include "lease/static_leaser.h"

namespace walship::lease {

StaticLeaser::StaticLeaser(bool candidate, PrimaryInfo primary)
    : candidate_(candidate), primary_(std::move(primary)) {}

Status StaticLeaser::Acquire() {
  if (candidate_) return Status::OK();
  return Status::NotPrimary("static lease: this node is not the candidate; the primary is " +
                            primary_.hostname);
}

std::optional<PrimaryInfo> StaticLeaser::Primary() const {
  if (primary_.hostname.empty() && primary_.advertise_url.empty()) return std::nullopt;
  return primary_;
}

}  // namespace walship::lease
