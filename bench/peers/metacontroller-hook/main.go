// The sync hook of the benchmark's CompositeController, the same for Metacontroller and for
// Operon's Metacontroller mode: for each BenchParent it returns the ConfigMap and the Secret of
// bench/model.ts and the status the harness waits for (Metacontroller adds observedGeneration).
//
// Environment:
//   - BENCH_HOOK_ADDR: where to listen (host:port);
//   - BENCH_EXPECT_PARENTS: when set, prints BENCH_READY on stdout once that many distinct
//     parents have been synced (the restart scenario's "ready").
//
// It prints BENCH_HOOK_LISTENING once it accepts connections.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
)

type parent struct {
	Metadata struct {
		Name              string `json:"name"`
		Namespace         string `json:"namespace"`
		UID               string `json:"uid"`
		CreationTimestamp string `json:"creationTimestamp"`
	} `json:"metadata"`
	Spec struct {
		Value string `json:"value"`
		Tier  string `json:"tier"`
	} `json:"spec"`
}

type request struct {
	Parent parent `json:"parent"`
}

var (
	expected, _ = strconv.Atoi(os.Getenv("BENCH_EXPECT_PARENTS"))
	seenMu      sync.Mutex
	seen        = map[string]struct{}{}
	printed     bool
)

func saw(uid string) {
	if expected <= 0 {
		return
	}
	seenMu.Lock()
	defer seenMu.Unlock()
	if printed {
		return
	}
	seen[uid] = struct{}{}
	if len(seen) >= expected {
		printed = true
		fmt.Println("BENCH_READY")
	}
}

func sync_(w http.ResponseWriter, r *http.Request) {
	var req request
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p := req.Parent
	name := p.Metadata.Name
	tier := p.Spec.Tier
	if tier == "" {
		tier = "standard"
	}
	labels := map[string]string{"bench.operon.dev/parent": name}
	// A fixed transition time (the parent's creation): the status stays the same from one call to
	// the next, so an unchanged parent costs no status write.
	since := p.Metadata.CreationTimestamp
	response := map[string]any{
		"status": map[string]any{
			"children":  2,
			"configMap": name + "-config",
			"secret":    name + "-secret",
			"conditions": []map[string]any{{
				"type":               "Synced",
				"status":             "True",
				"reason":             "Synced",
				"message":            "children and status are up to date",
				"lastTransitionTime": since,
			}},
		},
		"children": []map[string]any{
			{
				"apiVersion": "v1",
				"kind":       "ConfigMap",
				"metadata":   map[string]any{"name": name + "-config", "labels": labels},
				"data":       map[string]string{"value": p.Spec.Value, "tier": tier},
			},
			{
				"apiVersion": "v1",
				"kind":       "Secret",
				"metadata":   map[string]any{"name": name + "-secret", "labels": labels},
				"type":       "Opaque",
				"data":       map[string]string{"value": base64.StdEncoding.EncodeToString([]byte(p.Spec.Value))},
			},
		},
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(response); err != nil {
		return
	}
	saw(p.Metadata.UID)
}

func main() {
	addr := os.Getenv("BENCH_HOOK_ADDR")
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/sync", sync_)
	fmt.Println("BENCH_HOOK_LISTENING", listener.Addr().String())
	if err := http.Serve(listener, mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
