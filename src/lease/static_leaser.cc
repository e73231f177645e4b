#include "lease/static_leaser.h"

namespace walship::lease {

StaticLeaser::StaticLeaser(bool candidate, PrimaryInfo primary)
    : candidate_(candidate), primary_(std::move(primary)) {}

LeaseState StaticLeaser::state() const {
  LeaseState s;
  s.primary = candidate_;
  if (!primary_.hostname.empty() || !primary_.advertise_url.empty()) s.current = primary_;
  return s;
}

Status StaticLeaser::Start(LeaseCallback on_change) {
  const LeaseState s = state();
  if (!s.primary && (!s.current || s.current->advertise_url.empty())) {
    return Status::InvalidArgument(
        "lease: this node is not a candidate and no primary is configured "
        "(set lease.hostname and lease.advertise-url to the primary's)");
  }
  on_change(s);
  return Status::OK();
}

Status StaticLeaser::HandOff(const PrimaryInfo&, const std::function<Status()>&) {
  return Status::InvalidArgument(
      "the static lease cannot move: the primary is fixed by configuration; use lease.type: "
      "etcd for promote and handoff");
}

}  // namespace walship::lease
