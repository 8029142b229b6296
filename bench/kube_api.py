"""A small client of the test apiserver for the benchmarks: many requests at
once (one keep-alive connection per thread) and a watch that keeps each
object's Ready condition, so a benchmark can tell when N objects are Ready
without listing them over and over (a list of 10,000 objects costs the
apiserver more than the operator it measures)."""
import http.client
import json
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml


class Api:
    def __init__(self, kubeconfig):
        config = yaml.safe_load(Path(kubeconfig).read_text())
        cluster = config["clusters"][0]["cluster"]
        user = config["users"][0]["user"]
        host_port = cluster["server"].removeprefix("https://")
        self.host, self.port = host_port.rsplit(":", 1)
        self.context = ssl.create_default_context(cafile=cluster["certificate-authority"])
        self.context.load_cert_chain(user["client-certificate"], user["client-key"])
        self.local = threading.local()

    def _connection(self):
        if not hasattr(self.local, "connection"):
            self.local.connection = http.client.HTTPSConnection(self.host, int(self.port), context=self.context,
                                                                timeout=60)
        return self.local.connection

    def request(self, method, path, body=None, ok=(200, 201), content_type="application/json"):
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(3):
            connection = self._connection()
            try:
                connection.request(method, path, body=data, headers={"Content-Type": content_type})
                response = connection.getresponse()
                payload = response.read()
                break
            except (http.client.HTTPException, OSError):
                connection.close()
                del self.local.connection
                if attempt == 2:
                    raise
        if response.status not in ok:
            raise RuntimeError(f"{method} {path}: {response.status} {payload[:300]!r}")
        return json.loads(payload) if payload else None

    def create_all(self, items, threads=8):
        """POSTs (path, body) pairs from `threads` connections at once."""
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda item: self.request("POST", item[0], item[1], ok=(201, 409)), items))

    def delete_all(self, paths, threads=8):
        """DELETEs each path from `threads` connections at once (one already gone is fine)."""
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda path: self.request("DELETE", path, ok=(200, 202, 404)), paths))


class ReadyWatch:
    """Watches one kind in one namespace and keeps, by name, whether Ready is
    True for the object's current generation, and its status.serial."""

    def __init__(self, api, path):
        self.api, self.path = api, path
        self.ready, self.serial, self.generation = {}, {}, {}
        self.changed = threading.Condition()
        listed = api.request("GET", path)
        for item in listed["items"]:
            self._take(item)
        self.resource_version = listed["metadata"]["resourceVersion"]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _take(self, item):
        name = item["metadata"]["name"]
        conditions = item.get("status", {}).get("conditions", [])
        ready = any(c["type"] == "Ready" and c["status"] == "True" and
                    c.get("observedGeneration", 0) == item["metadata"].get("generation") for c in conditions)
        with self.changed:
            self.ready[name] = ready
            self.generation[name] = item["metadata"].get("generation")
            if "serial" in item.get("status", {}):
                self.serial[name] = item["status"]["serial"]
            self.changed.notify_all()

    def _forget(self, name):
        with self.changed:
            for kept in (self.ready, self.serial, self.generation):
                kept.pop(name, None)
            self.changed.notify_all()

    def _run(self):
        try:
            self._watch()
        except (OSError, http.client.HTTPException):
            pass  # the control plane stopped: the benchmark is over

    def _watch(self):
        while True:
            connection = http.client.HTTPSConnection(self.api.host, int(self.api.port), context=self.api.context,
                                                     timeout=3600)
            sep = "&" if "?" in self.path else "?"
            connection.request("GET", f"{self.path}{sep}watch=1&allowWatchBookmarks=true"
                                      f"&resourceVersion={self.resource_version}")
            response = connection.getresponse()
            for line in response:
                event = json.loads(line)
                self.resource_version = event["object"]["metadata"].get("resourceVersion", self.resource_version)
                if event["type"] in ("ADDED", "MODIFIED"):
                    self._take(event["object"])
                elif event["type"] == "DELETED":
                    self._forget(event["object"]["metadata"]["name"])
            connection.close()

    def wait_ready_at(self, name, generation, timeout):
        """Waits until `name` is Ready for `generation`; returns whether it was."""
        with self.changed:
            return self.changed.wait_for(
                lambda: self.generation.get(name) == generation and self.ready.get(name), timeout)

    def count_ready(self):
        with self.changed:
            return sum(self.ready.values())

    def wait_ready(self, count, timeout):
        """Waits until `count` objects are Ready; returns whether they were."""
        with self.changed:
            return self.changed.wait_for(lambda: sum(self.ready.values()) >= count, timeout)
