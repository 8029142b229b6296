#include "kubernetes/secret_chunk_log.h"

#include <algorithm>
#include <charconv>

#include <spdlog/spdlog.h>

#include "kubernetes/names.h"
#include "registry/records.h"

namespace revoca::kubernetes {
namespace {

bool parseChunkNumber(std::string_view text, int& out) {
  if (text.empty()) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size() && out >= 0;
}

}  // namespace

template <typename Entry>
SecretChunkLog<Entry>::SecretChunkLog(kubeclient::ApiClient& api, std::string log, std::size_t chunkSize,
                                      LineFormat<Entry> format)
    : secrets_(api),
      log_(std::move(log)),
      chunkSize_(std::max<std::size_t>(chunkSize, 1)),
      format_(std::move(format)) {}

template <typename Entry>
std::string SecretChunkLog<Entry>::chunkName(const ObjectKey& ca, int number) const {
  return "revoca-" + log_ + "-" + ca.name + "-" + std::to_string(number);
}

template <typename Entry>
Result<void> SecretChunkLog<Entry>::decode(Chunk& chunk, const std::string& namespace_, const std::string& name) const {
  auto entries = format_.decode(chunk.secret.data["entries"], "data.entries in Secret " + namespace_ + "/" + name);
  if (!entries) return makeError(entries.error().message + "; fix the line, or restore the Secret from a backup");
  chunk.entries = std::move(*entries);
  chunk.lines = chunk.entries.size();
  return {};
}

template <typename Entry>
Result<std::vector<Entry>> SecretChunkLog<Entry>::load(const ObjectKey& ca) {
  std::lock_guard lock(mutex_);
  auto chunks = chunksOf(ca);
  if (!chunks) return chunks.error();
  std::size_t total = 0;
  for (const auto& [number, chunk] : **chunks) total += chunk.entries.size();
  std::vector<Entry> entries;
  entries.reserve(total);
  for (const auto& [number, chunk] : **chunks)
    entries.insert(entries.end(), chunk.entries.begin(), chunk.entries.end());
  return entries;
}

template <typename Entry>
Result<typename SecretChunkLog<Entry>::Chunks*> SecretChunkLog<Entry>::chunksOf(const ObjectKey& ca) {
  if (auto known = logs_.find(ca); known != logs_.end()) return &known->second;
  kubeclient::ListOptions options;
  options.labelSelector =
      std::string(kManagedSelector) + "," + kStateLabel + "=" + log_ + "," + kCaLabel + "=" + ca.name;
  std::string prefix = "revoca-" + log_ + "-" + ca.name + "-";
  auto list = secrets_.api().list(secrets(ca.namespace_), options);
  if (!list.ok()) return stateSecretError("list", ca.namespace_, prefix + "*", list.error);

  Chunks loaded;
  auto items = list.value->find("items");
  if (items != list.value->end() && items->is_array()) {
    for (auto& item : *items) {
      std::string name = item.contains("metadata") ? item["metadata"].value("name", "") : "";
      int number = 0;
      // Labels someone copied onto another Secret do not make it a chunk.
      if (name.rfind(prefix, 0) != 0 || !parseChunkNumber(std::string_view(name).substr(prefix.size()), number))
        continue;
      auto stored = storedSecret(std::move(item), ca.namespace_, name);
      if (!stored) return stored.error();
      Chunk& chunk = loaded[number];
      chunk.secret = std::move(*stored);
      if (auto decoded = decode(chunk, ca.namespace_, name); !decoded) return decoded.error();
    }
  }
  return &(logs_[ca] = std::move(loaded));
}

// A group commit: appends that arrive while one is being written (the
// engine reconciles VaultSecrets several at a time) wait, and the first of
// them writes all their lines at once. Each returns only once its line is
// in the log.
template <typename Entry>
Result<void> SecretChunkLog<Entry>::append(const ObjectKey& ca, const Entry& entry) {
  std::unique_lock lock(appendMutex_);
  std::shared_ptr<PendingAppends>& open = openAppends_[ca];
  if (!open) open = std::make_shared<PendingAppends>();
  std::shared_ptr<PendingAppends> batch = open;
  batch->entries.push_back(entry);
  appended_.wait(lock, [&] { return batch->done || !writing_.count(ca); });
  if (batch->done) return batch->result;
  // This caller writes the batch and closes it: later appends open the next.
  openAppends_.erase(ca);
  writing_.insert(ca);
  lock.unlock();
  Result<void> result;
  {
    std::lock_guard state(mutex_);
    result = write(ca, batch->entries);
  }
  lock.lock();
  writing_.erase(ca);
  batch->done = true;
  batch->result = result;
  appended_.notify_all();
  return result;
}

template <typename Entry>
Result<void> SecretChunkLog<Entry>::write(const ObjectKey& ca, const std::vector<Entry>& entries) {
  auto loaded = chunksOf(ca);
  if (!loaded) return loaded.error();
  Chunks& chunks = **loaded;
  SecretLabels labels = stateLabels(log_, kCaLabel, ca.name);
  int number = chunks.empty() ? 0 : chunks.rbegin()->first;
  int conflicts = 0;
  std::size_t done = 0;
  // Each hop passes a full chunk; conflicts re-read the one written to.
  while (done < entries.size() && conflicts <= kConflictRetries) {
    auto found = chunks.find(number);
    Chunk* chunk = found == chunks.end() ? nullptr : &found->second;
    // As many of the entries left as this chunk takes (at least one, in an empty chunk).
    std::string lines;
    std::size_t taken = 0, used = chunk ? chunk->lines : 0,
                bytes = chunk ? chunk->secret.data["entries"].size() : 0;
    while (done + taken < entries.size()) {
      std::string line = format_.encode(entries[done + taken]) + "\n";
      if (used + taken > 0 && (used + taken >= chunkSize_ || bytes + lines.size() + line.size() > kMaxChunkBytes))
        break;
      lines += line;
      ++taken;
    }
    if (taken == 0) {
      ++number;
      continue;
    }
    std::string name = chunkName(ca, number);
    SecretData data = chunk ? chunk->secret.data : SecretData{};
    data["entries"] += lines;
    auto written = secrets_.write(ca.namespace_, name, labels, chunk ? &chunk->secret : nullptr, std::move(data));
    if (written.ok()) {
      Chunk& stored = chunks[number];
      stored.secret = std::move(*written.value);
      stored.lines += taken;
      stored.entries.insert(stored.entries.end(), entries.begin() + done, entries.begin() + done + taken);
      done += taken;
      continue;
    }
    // 409: another writer appended first, or created this chunk first;
    // 404 on update: it was deleted. Re-read it, others' lines and all.
    // No answer, or a server error: the write may have taken all the same
    // (the connection died after the request went out); the chunk says.
    const int status = written.error.status;
    const bool unknown = status == 0 || status >= 500;
    if (status != 409 && !(chunk && status == 404) && !unknown)
      return stateSecretError(chunk ? "update" : "create", ca.namespace_, name, written.error);
    spdlog::debug("Secret {}/{}: {} on {}, reading it again (attempt {})", ca.namespace_, name,
                  unknown ? "no answer" : std::to_string(status), chunk ? "update" : "create", conflicts + 1);
    pauseAfterConflict(conflicts++);
    auto current = secrets_.read(ca.namespace_, name);
    if (!current)
      return unknown ? stateSecretError(chunk ? "update" : "create", ca.namespace_, name, written.error)
                     : current.error();
    if (!*current) {
      chunks.erase(number);
      continue;
    }
    Chunk& fresh = chunks[number];
    fresh.secret = std::move(**current);
    if (auto decoded = decode(fresh, ca.namespace_, name); !decoded) {
      logs_.erase(ca);  // `chunks` with it: the next load reads them all again
      return decoded.error();
    }
    // The lost answer was a success: appending the lines again would list
    // these entries twice. (Serials are random: no one else wrote these lines.)
    if (fresh.secret.data["entries"].find(lines) != std::string::npos) {
      spdlog::debug("Secret {}/{}: the write without an answer took", ca.namespace_, name);
      done += taken;
    }
  }
  if (done == entries.size()) return {};
  return makeError("cannot append to " + log_ + " of CertificateAuthority " + ca.str() + " (Secret " + ca.namespace_ +
                   "/" + chunkName(ca, number) + "): still conflicting after " + std::to_string(kConflictRetries + 1) +
                   " attempts; another writer keeps changing it");
}

template <typename Entry>
void SecretChunkLog<Entry>::forget(const ObjectKey& ca) {
  std::lock_guard lock(mutex_);
  logs_.erase(ca);
}

template <typename Entry>
void SecretChunkLog<Entry>::forgetAll() {
  std::lock_guard lock(mutex_);
  logs_.clear();
}

template class SecretChunkLog<IssuedCertificate>;
template class SecretChunkLog<Revocation>;
template class SecretChunkLog<CrlListing>;

}  // namespace revoca::kubernetes
