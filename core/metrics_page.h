#pragma once
// Where a /metrics page written in pieces has got to. With one series per
// object the page is megabytes at 10,000 VaultSecrets; written a piece at a
// time it never exists whole in memory (Prometheus scrapes it every 15 to 60 s).
#include <cstddef>
#include <string>

namespace revoca {

struct MetricsCursor {
  std::size_t family = 0;  // the metric family being written
  std::string after;       // the key of the last series written in it; empty: none yet
};

// A family's "# HELP" and "# TYPE" lines.
inline void appendMetricHeader(std::string& out, const char* name, const char* type, const char* help) {
  out.append("# HELP ").append(name).append(" ").append(help);
  out.append("\n# TYPE ").append(name).append(" ").append(type).append("\n");
}

// About this much text to a piece: a few hundred series.
inline constexpr std::size_t kMetricsPieceBytes = 64 * 1024;

}  // namespace revoca
