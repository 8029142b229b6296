#pragma once
// An append-only log of lines kept in Secrets: a CA's ledger, its
// revocations or the first CRL that listed each. Chunk n of CA <ca>'s log <log> is the Secret
// revoca-<log>-<ca>-<n> (n = 0, 1, 2 ...), labelled revoca.io/state=<log>
// and revoca.io/ca=<ca>, its lines under data.entries, each ended by a
// line break.
//
// A chunk holds at most `chunkSize` lines (100) and kMaxChunkBytes (16 KiB
// before base64, ~22 KiB after), far below the 1 MiB Secret limit and
// etcd's 1.5 MiB request limit whatever the lines: 100,000 serials per CA
// are 1,000 Secrets. Small, because an append rewrites its whole chunk,
// which comes back in the answer and again on the watch: with chunks of
// 1,000 lines, issuing 1,000 certificates at once cost the apiserver 3 ms
// and revoca 3 ms more per certificate (bench/kube_scale.py).
//
// An append is an update of the last chunk with its resourceVersion, or the
// creation of the next one; a 409 (revocactl appends to ledgers too)
// re-reads that chunk and tries again, so no writer's line is lost.
//
// What was read or written is kept, so a load costs no API call once the
// log is read; forget() drops it when another writer may have appended.
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "declarations/types.h"
#include "kubeclient/api_client.h"
#include "kubernetes/state_secrets.h"

namespace revoca::kubernetes {

inline constexpr std::size_t kDefaultChunkSize = 100;
inline constexpr std::size_t kMaxChunkBytes = 16 * 1024;

// How a log's entries become lines and back.
template <typename Entry>
struct LineFormat {
  std::function<std::string(const Entry&)> encode;  // one line, without its line break
  // A chunk's entries; an error names the line and `where`, the chunk.
  std::function<Result<std::vector<Entry>>(std::string_view text, const std::string& where)> decode;
};

template <typename Entry>
class SecretChunkLog {
 public:
  // `log`: "ledger", "revocations" or "first-crls", the state label and the middle of the
  // chunks' names. `chunkSize`: lines per chunk (tests use a few).
  SecretChunkLog(kubeclient::ApiClient& api, std::string log, std::size_t chunkSize, LineFormat<Entry> format);

  // Every entry of `ca`'s log, in order: read from the API the first time,
  // then from memory. A chunk that does not decode is an error, nothing
  // skipped: a line dropped is a revoked serial answering OCSP "good", or an
  // issued one "unknown".
  Result<std::vector<Entry>> load(const ObjectKey& ca);
  // Returns once `entry` is in the log.
  Result<void> append(const ObjectKey& ca, const Entry& entry);
  // Drops what is kept of `ca`'s log, or of every log: the next load reads it again.
  void forget(const ObjectKey& ca);
  void forgetAll();

 private:
  // A chunk as last read or written: its Secret, its entries decoded.
  struct Chunk {
    StoredSecret secret;
    std::size_t lines = 0;
    std::vector<Entry> entries;
  };
  using Chunks = std::map<int, Chunk>;  // by chunk number
  // Entries waiting for one write (append's group commit).
  struct PendingAppends {
    std::vector<Entry> entries;
    bool done = false;
    Result<void> result;
  };

  std::string chunkName(const ObjectKey& ca, int number) const;
  Result<void> decode(Chunk& chunk, const std::string& namespace_, const std::string& name) const;
  // With mutex_ held.
  Result<Chunks*> chunksOf(const ObjectKey& ca);
  Result<void> write(const ObjectKey& ca, const std::vector<Entry>& entries);

  StateSecrets secrets_;
  const std::string log_;
  const std::size_t chunkSize_;
  const LineFormat<Entry> format_;

  std::mutex appendMutex_;  // before mutex_, never inside it
  std::condition_variable appended_;
  std::map<ObjectKey, std::shared_ptr<PendingAppends>> openAppends_;
  std::set<ObjectKey> writing_;

  std::mutex mutex_;
  std::map<ObjectKey, Chunks> logs_;
};

}  // namespace revoca::kubernetes
