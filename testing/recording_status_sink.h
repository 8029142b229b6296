#pragma once
// A StatusSink that keeps every report, for the tests of what reports
// statuses (the reconcilers) and of what forwards them (the metrics).
#include <string>
#include <vector>

#include "declarations/kind.h"
#include "ports/outputs.h"

namespace revoca::testing {

class RecordingStatusSink : public StatusSink {
 public:
  struct Report {
    Kind kind;
    ObjectMeta meta;
    ObjectStatus status;
  };
  void report(Kind kind, const ObjectMeta& meta, const ObjectStatus& status) override {
    reports.push_back({kind, meta, status});
  }
  // The last status reported for kind namespace/name; nullptr when none.
  const ObjectStatus* last(Kind kind, const std::string& namespace_, const std::string& name) const {
    for (auto it = reports.rbegin(); it != reports.rend(); ++it)
      if (it->kind == kind && it->meta.namespace_ == namespace_ && it->meta.name == name) return &it->status;
    return nullptr;
  }
  std::vector<Report> reports;
};

}  // namespace revoca::testing
