"""Metacontroller hooks for the integration tests, written the way hook authors write them:
Python's standard library only, one JSON object in, one JSON object out.

    python3 hook_server.py          # prints the port it listens on, then serves until stdin closes

POST routes (the parent's spec says what to return):
  /sync       CompositeController sync: one ConfigMap per entry of spec.configMaps, labelled
              with spec.selector.matchLabels; status reports what the request contained.
  /finalize   finalize: tears the ConfigMaps down one per call and reports finalized once no
              child is left and it has been called spec.finalizeAfter times.
  /customize  returns spec.related as relatedResources.
  /slow       sleeps spec.sleepSeconds, then answers like /sync.
  /decorate   DecoratorController sync: labels, annotations and attachments from the object's
              annotations hooks.test/labels, hooks.test/annotations (JSON, null removes) and
              hooks.test/attach (JSON list of ConfigMap names).
GET /requests?path=/sync&uid=...  the last request a route received for that parent, as JSON.
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

lock = threading.Lock()
last_requests = {}
finalize_calls = {}


def keys_by_group(objects):
    return {group: sorted(items.keys()) for group, items in (objects or {}).items()}


def config_maps(parent, names=None):
    spec = parent.get("spec") or {}
    labels = ((spec.get("selector") or {}).get("matchLabels")) or {}
    namespace = spec.get("childNamespace")
    children = []
    for name, data in sorted((spec.get("configMaps") or {}).items()):
        if names is not None and name not in names:
            continue
        metadata = {"name": name, "labels": dict(labels)}
        if namespace:
            metadata["namespace"] = namespace
        children.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data})
    return children


def sync(request):
    parent = request["parent"]
    spec = parent.get("spec") or {}
    response = {
        "status": {
            "children": keys_by_group(request.get("children")),
            "related": keys_by_group(request.get("related")),
            "finalizing": request.get("finalizing"),
            "message": spec.get("message", "ok"),
        },
        "children": config_maps(parent),
    }
    if spec.get("resyncAfterSeconds"):
        response["resyncAfterSeconds"] = spec["resyncAfterSeconds"]
    return response


def finalize(request):
    parent = request["parent"]
    spec = parent.get("spec") or {}
    uid = parent["metadata"]["uid"]
    with lock:
        finalize_calls[uid] = finalize_calls.get(uid, 0) + 1
        calls = finalize_calls[uid]
    observed = sorted((request.get("children") or {}).get("ConfigMap.v1", {}).keys())
    # Ordered teardown: keep all but the last observed child; done once none is left.
    keep = set(observed[:-1]) if observed else set()
    done = not observed and calls >= int(spec.get("finalizeAfter", 1))
    return {
        "status": {"finalizeCalls": calls, "remaining": observed},
        "children": config_maps(parent, keep),
        "finalized": done,
        "resyncAfterSeconds": 0.2,
    }


def customize(request):
    spec = request["parent"].get("spec") or {}
    return {"relatedResources": spec.get("related") or []}


def decorate(request):
    target = request["object"]
    annotations = target["metadata"].get("annotations") or {}
    response = {"attachments": []}
    if "hooks.test/labels" in annotations:
        response["labels"] = json.loads(annotations["hooks.test/labels"])
    if "hooks.test/annotations" in annotations:
        response["annotations"] = json.loads(annotations["hooks.test/annotations"])
    for name in json.loads(annotations.get("hooks.test/attach", "[]")):
        response["attachments"].append(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"decorated": target["metadata"]["name"]}}
        )
    response["status"] = None
    return response


routes = {"/sync": sync, "/finalize": finalize, "/customize": customize, "/decorate": decorate}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path != "/requests":
            return self.reply(404, {})
        query = parse_qs(url.query)
        key = (query.get("path", [""])[0], query.get("uid", [""])[0])
        with lock:
            found = last_requests.get(key)
        self.reply(200 if found else 404, found or {})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        request = json.loads(self.rfile.read(length))
        path = urlparse(self.path).path
        root = request.get("parent") or request.get("object") or {}
        uid = root.get("metadata", {}).get("uid", "")
        with lock:
            last_requests[(path, uid)] = request
        if path == "/slow":
            time.sleep(float((root.get("spec") or {}).get("sleepSeconds", 0)))
            return self.reply(200, sync(request))
        handler = routes.get(path)
        if handler is None:
            return self.reply(404, {"error": "no such hook"})
        self.reply(200, handler(request))


def exit_when_stdin_closes():
    # The test process holds the other end: if it dies without stopping the server, stop anyway.
    sys.stdin.read()
    os._exit(0)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
print(server.server_address[1], flush=True)
server.serve_forever()
