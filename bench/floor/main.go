// The write floor of the benchmark: the writes the job needs and nothing else. No reads, no
// watches, no caches: it is told the parents (name, uid, generation, spec) and sends, with high
// concurrency over one HTTP/2 connection, the creates (or updates) of each parent's ConfigMap and
// Secret and the write of its status. Its time is what the API server allows, not what an
// operator does.
//
// Usage: floor <job.json>. The job is written by the harness (bench/floor-job.ts).
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

type parent struct {
	Name       string `json:"name"`
	UID        string `json:"uid"`
	Generation int64  `json:"generation"`
	Value      string `json:"value"`
	Tier       string `json:"tier"`
}

type job struct {
	Server      string   `json:"server"`
	CA          string   `json:"ca"`
	Cert        string   `json:"cert"`
	Key         string   `json:"key"`
	Concurrency int      `json:"concurrency"`
	HTTP1       bool     `json:"http1"`
	Namespace   string   `json:"namespace"`
	Mode        string   `json:"mode"` // "create" or "update"
	Parents     []parent `json:"parents"`
}

type request struct {
	method      string
	path        string
	contentType string
	body        []byte
}

const (
	parentLabel   = "bench.operon.dev/parent"
	mergePatch    = "application/merge-patch+json"
	jsonType      = "application/json"
	syncedMessage = "children and status are up to date"
)

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

func encode(value any) []byte {
	body, err := json.Marshal(value)
	must(err)
	return body
}

func tier(p parent) string {
	if p.Tier == "" {
		return "standard"
	}
	return p.Tier
}

func requestsFor(j *job, p parent, now string) []request {
	base := "/api/v1/namespaces/" + j.Namespace
	labels := map[string]string{parentLabel: p.Name}
	owner := []map[string]any{{
		"apiVersion": "bench.operon.dev/v1", "kind": "BenchParent", "name": p.Name, "uid": p.UID,
		"controller": true, "blockOwnerDeletion": true,
	}}
	configData := map[string]string{"value": p.Value, "tier": tier(p)}
	secretData := map[string][]byte{"value": []byte(p.Value)}
	status := map[string]any{"status": map[string]any{
		"observedGeneration": p.Generation,
		"children":           2,
		"configMap":          p.Name + "-config",
		"secret":             p.Name + "-secret",
		"conditions": []map[string]any{{
			"type": "Synced", "status": "True", "observedGeneration": p.Generation,
			"lastTransitionTime": now, "reason": "Synced", "message": syncedMessage,
		}},
	}}
	statusRequest := request{
		method:      http.MethodPatch,
		path:        "/apis/bench.operon.dev/v1/namespaces/" + j.Namespace + "/benchparents/" + p.Name + "/status",
		contentType: mergePatch,
		body:        encode(status),
	}
	if j.Mode == "update" {
		return []request{
			{http.MethodPatch, base + "/configmaps/" + p.Name + "-config", mergePatch, encode(map[string]any{"data": configData})},
			{http.MethodPatch, base + "/secrets/" + p.Name + "-secret", mergePatch, encode(map[string]any{"data": secretData})},
			statusRequest,
		}
	}
	meta := func(name string) map[string]any {
		return map[string]any{"name": name, "labels": labels, "ownerReferences": owner}
	}
	return []request{
		{http.MethodPost, base + "/configmaps", jsonType, encode(map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(p.Name + "-config"), "data": configData,
		})},
		{http.MethodPost, base + "/secrets", jsonType, encode(map[string]any{
			"apiVersion": "v1", "kind": "Secret", "metadata": meta(p.Name + "-secret"), "type": "Opaque", "data": secretData,
		})},
		statusRequest,
	}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: floor <job.json>")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	must(err)
	var j job
	must(json.Unmarshal(raw, &j))
	if j.Concurrency <= 0 {
		j.Concurrency = 64
	}

	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(j.CA))
	certificate, err := tls.X509KeyPair([]byte(j.Cert), []byte(j.Key))
	must(err)
	transport := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{certificate}},
		ForceAttemptHTTP2:   !j.HTTP1,
		MaxIdleConnsPerHost: j.Concurrency,
	}
	if j.HTTP1 {
		transport.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	httpClient := &http.Client{Transport: transport, Timeout: 2 * time.Minute}

	now := time.Now().UTC().Format(time.RFC3339)
	work := make(chan request, 1024)
	go func() {
		for _, p := range j.Parents {
			for _, r := range requestsFor(&j, p, now) {
				work <- r
			}
		}
		close(work)
	}()

	var sent, failed atomic.Int64
	var wait sync.WaitGroup
	for range j.Concurrency {
		wait.Go(func() {
			for r := range work {
				req, err := http.NewRequest(r.method, j.Server+r.path, bytes.NewReader(r.body))
				must(err)
				req.Header.Set("Content-Type", r.contentType)
				req.Header.Set("Accept", jsonType)
				response, err := httpClient.Do(req)
				sent.Add(1)
				if err != nil {
					failed.Add(1)
					fmt.Fprintln(os.Stderr, "floor:", r.method, r.path, err)
					continue
				}
				body, _ := io.ReadAll(response.Body)
				response.Body.Close()
				if response.StatusCode >= 300 {
					if failed.Add(1) <= 5 {
						fmt.Fprintln(os.Stderr, "floor:", r.method, r.path, response.Status, string(body))
					}
				}
			}
		})
	}
	wait.Wait()
	fmt.Printf("BENCH_DONE %d %d\n", sent.Load(), failed.Load())
	if failed.Load() > 0 {
		os.Exit(1)
	}
}
