// revoca: the operator. `revoca run` reconciles a cluster's declarations
// (in a pod, or from outside with --kubeconfig); `revoca standalone` runs on
// a directory of declarations with no cluster (docs/overview.md, "Standalone
// mode").
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/duration.h"
#include "core/logging.h"
#include "operator/flags.h"
#include "kubernetes/engine.h"
#include "standalone/engine.h"

namespace {

constexpr const char* kUsage = R"(usage: revoca run [--kubeconfig FILE] [--namespace NS] [--listen ADDR] [--leader-elect true|false]
       revoca standalone --declarations DIR --state DIR --output DIR [--listen ADDR]

revoca run: the operator, in a pod or with a kubeconfig
  --kubeconfig FILE   default: in-cluster when KUBERNETES_SERVICE_HOST is set, else $KUBECONFIG, ~/.kube/config
  --context NAME      kubeconfig context (default: its current-context)
  --namespace NS[,NS] watch these namespaces (default: every namespace)
  --listen ADDR       CRL/OCSP responder address (default 0.0.0.0:4664)
  --leader-elect B    hold a Lease so one replica writes (default true)
  --leader-election-namespace NS   where the Lease lives (default: the pod's namespace, else default)
  --lease-name NAME   default revoca-leader
  --identity ID       this replica's name in the Lease (default: hostname + random suffix)
  --lease-duration S, --renew-deadline S, --retry-period S   seconds (defaults 15, 10, 2)
  --resync-period S   apply every output and status again this often (default 300)
  --shutdown-delay S  seconds from SIGTERM to stop during which /readyz fails and the responder
                      still answers, while the Service drops this pod (default 5; 0: stop at once;
                      a second SIGTERM stops at once)
  --log-level LEVEL   trace, debug, info (default), warn, error
  --log-format F      text (default) or json: one object per line, with kind, namespace and name

revoca standalone: no cluster, a directory of declarations

  --declarations DIR  revoca.io YAML declarations (re-read when they change)
  --state DIR         keys, ledger, revocations, CRL numbers (kept; back it up)
  --output DIR        files for each deployment: OUTPUT/<namespace>/<deployment>/
  --listen ADDR       CRL/OCSP responder address (default 0.0.0.0:4664)
  --shutdown-delay S  seconds from SIGTERM to stop during which /readyz fails and the responder
                      still answers, for a load balancer that probes /readyz (default 0)
  --log-level LEVEL   trace, debug, info (default), warn, error
  --log-format F      text (default) or json
)";

// --log-level and --log-format, applied at once; false after saying what is wrong.
bool takeLogFlags(revoca::Flags& flags) {
  std::string level = flags.take("--log-level", "info");
  std::string format = flags.take("--log-format", "text");
  auto parsedLevel = spdlog::level::from_str(level);
  // from_str gives "off" for a word it does not know: that would silence every line.
  if (parsedLevel == spdlog::level::off && level != "off") {
    std::cerr << "revoca: --log-level takes trace, debug, info, warn or error, got \"" << level << "\"\n";
    return false;
  }
  auto parsedFormat = revoca::logging::parseFormat(format);
  if (!parsedFormat) {
    std::cerr << "revoca: --log-format takes text or json, got \"" << format << "\"\n";
    return false;
  }
  spdlog::set_level(parsedLevel);
  revoca::logging::configure(*parsedFormat);
  return true;
}

// `zeroAllowed` for a delay, where 0 means none; an interval must be positive.
bool parseSeconds(const std::string& flag, const std::string& text, std::chrono::seconds& out,
                  bool zeroAllowed = false) {
  if (text.empty()) return true;
  char* end = nullptr;
  long value = std::strtol(text.c_str(), &end, 10);
  // Past kMaxDuration, now + the value overflows a time point.
  if (*end != '\0' || value < (zeroAllowed ? 0 : 1) || value > revoca::kMaxDuration.count()) {
    std::cerr << "revoca: " << flag << " takes a whole number of seconds" << (zeroAllowed ? "" : " above 0")
              << ", got \"" << text << "\"\n";
    return false;
  }
  out = std::chrono::seconds(value);
  return true;
}

int standalone(revoca::Flags& flags) {
  revoca::StandaloneOptions options;
  options.declarationsDir = flags.take("--declarations");
  options.stateDir = flags.take("--state");
  options.outputDir = flags.take("--output");
  options.listen = flags.take("--listen", options.listen);
  std::string shutdownDelay = flags.take("--shutdown-delay");
  if (!takeLogFlags(flags)) return 2;
  if (!flags.finish(kUsage)) return 2;
  if (!parseSeconds("--shutdown-delay", shutdownDelay, options.shutdownDelay, true)) return 2;
  const std::pair<const char*, const std::string*> required[] = {
      {"--declarations", &options.declarationsDir}, {"--state", &options.stateDir}, {"--output", &options.outputDir}};
  for (const auto& [flag, value] : required)
    if (value->empty()) {
      std::cerr << "revoca standalone: " << flag << " is required\n" << kUsage;
      return 2;
    }
  return revoca::runStandalone(options);
}

// "a,b" -> {"a", "b"}; empty items are dropped, so "" is every namespace.
std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = std::min(text.find(',', start), text.size());
    if (comma > start) items.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return items;
}

int run(revoca::Flags& flags) {
  revoca::KubernetesOptions options;
  options.kubeconfig = flags.take("--kubeconfig");
  options.context = flags.take("--context");
  options.watchNamespaces = splitList(flags.take("--namespace"));
  options.listen = flags.take("--listen", options.listen);
  std::string leaderElect = flags.take("--leader-elect", "true");
  options.leaseNamespace = flags.take("--leader-election-namespace");
  options.leaseName = flags.take("--lease-name", options.leaseName);
  options.identity = flags.take("--identity");
  std::string leaseDuration = flags.take("--lease-duration");
  std::string renewDeadline = flags.take("--renew-deadline");
  std::string retryPeriod = flags.take("--retry-period");
  std::string resyncPeriod = flags.take("--resync-period");
  std::string shutdownDelay = flags.take("--shutdown-delay");
  if (!takeLogFlags(flags)) return 2;
  if (!flags.finish(kUsage)) return 2;
  if (leaderElect != "true" && leaderElect != "false") {
    std::cerr << "revoca run: --leader-elect takes true or false\n";
    return 2;
  }
  options.leaderElection = leaderElect == "true";
  if (!parseSeconds("--lease-duration", leaseDuration, options.leaseDuration) ||
      !parseSeconds("--renew-deadline", renewDeadline, options.renewDeadline) ||
      !parseSeconds("--retry-period", retryPeriod, options.retryPeriod) ||
      !parseSeconds("--resync-period", resyncPeriod, options.resyncPeriod) ||
      !parseSeconds("--shutdown-delay", shutdownDelay, options.shutdownDelay, true))
    return 2;
  if (options.renewDeadline >= options.leaseDuration) {
    std::cerr << "revoca run: --renew-deadline must be shorter than --lease-duration\n";
    return 2;
  }
  return revoca::runKubernetes(options);
}

}  // namespace

int main(int argc, char** argv) {
  // glibc gives each thread that allocates an arena of its own (up to 8 per
  // core); revoca's HTTP and informer threads would each keep freed pages
  // there. Two arenas: ~10 MB less resident at 1,000 VaultSecrets, and no
  // measurable cost (bench/kube_scale.py). glibc's own MALLOC_ARENA_MAX, when
  // set, is left to decide.
  if (!std::getenv("MALLOC_ARENA_MAX")) mallopt(M_ARENA_MAX, 2);
  // Blocks of 64 KiB and more (list pages, answers with a Secret's data,
  // watch reads) are mapped and unmapped on their own. glibc's default
  // raises that threshold to the largest block freed so far, after which
  // such blocks are carved from the arenas among long-lived small ones and
  // leave holes no malloc_trim can return: at 10,000 VaultSecrets, 5 MB
  // more resident in steady state and 7 MB more through a restart.
  if (!std::getenv("MALLOC_MMAP_THRESHOLD_")) mallopt(M_MMAP_THRESHOLD, 64 * 1024);
  revoca::logging::configure(revoca::logging::Format::kText);
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  std::string mode = argv[1];
  revoca::Flags flags(argc - 2, argv + 2);
  if (mode == "standalone") return standalone(flags);
  if (mode == "run") return run(flags);
  std::cerr << "revoca: unknown mode \"" << mode << "\"\n" << kUsage;
  return 2;
}
