// The controller-runtime peer of the benchmark: the same BenchParent semantics as
// bench/operon-operator.ts, written the way a controller-runtime user would write it.
//
//   - For(BenchParent) with GenerationChangedPredicate (status-only updates do not reconcile),
//     Owns(ConfigMap) and Owns(Secret);
//   - children with controllerutil.CreateOrUpdate and a controller ownerReference;
//   - the status written with Status().Update only when it changed.
//
// Environment:
//
//	KUBECONFIG                 the cluster (or --kubeconfig)
//	BENCH_CONCURRENCY          MaxConcurrentReconciles (default: controller-runtime's, 1)
//	BENCH_QPS, BENCH_BURST     client rate limit (default: controller-runtime's)
//	BENCH_EXPECT_PARENTS       print BENCH_READY once that many parents reconciled once
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

const (
	parentLabel   = "bench.operon.dev/parent"
	syncedType    = "Synced"
	syncedReason  = "Synced"
	syncedMessage = "children and status are up to date"
)

var groupVersion = schema.GroupVersion{Group: "bench.operon.dev", Version: "v1"}

type BenchParentSpec struct {
	Value string `json:"value"`
	Tier  string `json:"tier,omitempty"`
}

type BenchParentStatus struct {
	ObservedGeneration int64              `json:"observedGeneration,omitempty"`
	Conditions         []metav1.Condition `json:"conditions,omitempty"`
	Children           int32              `json:"children,omitempty"`
	ConfigMap          string             `json:"configMap,omitempty"`
	Secret             string             `json:"secret,omitempty"`
}

type BenchParent struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              BenchParentSpec   `json:"spec"`
	Status            BenchParentStatus `json:"status,omitempty"`
}

type BenchParentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BenchParent `json:"items"`
}

func (in *BenchParentStatus) DeepCopyInto(out *BenchParentStatus) {
	*out = *in
	if in.Conditions != nil {
		out.Conditions = make([]metav1.Condition, len(in.Conditions))
		for i := range in.Conditions {
			in.Conditions[i].DeepCopyInto(&out.Conditions[i])
		}
	}
}

func (in *BenchParent) DeepCopyInto(out *BenchParent) {
	*out = *in
	out.TypeMeta = in.TypeMeta
	in.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	out.Spec = in.Spec
	in.Status.DeepCopyInto(&out.Status)
}

func (in *BenchParent) DeepCopy() *BenchParent {
	if in == nil {
		return nil
	}
	out := new(BenchParent)
	in.DeepCopyInto(out)
	return out
}

func (in *BenchParent) DeepCopyObject() runtime.Object { return in.DeepCopy() }

func (in *BenchParentList) DeepCopyObject() runtime.Object {
	if in == nil {
		return nil
	}
	out := new(BenchParentList)
	*out = *in
	in.ListMeta.DeepCopyInto(&out.ListMeta)
	if in.Items != nil {
		out.Items = make([]BenchParent, len(in.Items))
		for i := range in.Items {
			in.Items[i].DeepCopyInto(&out.Items[i])
		}
	}
	return out
}

func tierOf(spec BenchParentSpec) string {
	if spec.Tier == "" {
		return "standard"
	}
	return spec.Tier
}

type reconciler struct {
	client.Client
	scheme *runtime.Scheme
	ready  *readyMarker
}

func (r *reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var parent BenchParent
	if err := r.Get(ctx, req.NamespacedName, &parent); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !parent.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}

	configMap := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: parent.Name + "-config", Namespace: parent.Namespace}}
	if _, err := controllerutil.CreateOrUpdate(ctx, r.Client, configMap, func() error {
		if configMap.Labels == nil {
			configMap.Labels = map[string]string{}
		}
		configMap.Labels[parentLabel] = parent.Name
		configMap.Data = map[string]string{"value": parent.Spec.Value, "tier": tierOf(parent.Spec)}
		return controllerutil.SetControllerReference(&parent, configMap, r.scheme)
	}); err != nil {
		return ctrl.Result{}, err
	}

	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: parent.Name + "-secret", Namespace: parent.Namespace}}
	if _, err := controllerutil.CreateOrUpdate(ctx, r.Client, secret, func() error {
		if secret.Labels == nil {
			secret.Labels = map[string]string{}
		}
		secret.Labels[parentLabel] = parent.Name
		secret.Type = corev1.SecretTypeOpaque
		secret.Data = map[string][]byte{"value": []byte(parent.Spec.Value)}
		return controllerutil.SetControllerReference(&parent, secret, r.scheme)
	}); err != nil {
		return ctrl.Result{}, err
	}

	status := &BenchParentStatus{}
	parent.Status.DeepCopyInto(status)
	status.ObservedGeneration = parent.Generation
	status.Children = 2
	status.ConfigMap = configMap.Name
	status.Secret = secret.Name
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{
		Type:               syncedType,
		Status:             metav1.ConditionTrue,
		ObservedGeneration: parent.Generation,
		Reason:             syncedReason,
		Message:            syncedMessage,
	})
	if !equality.Semantic.DeepEqual(parent.Status, *status) {
		parent.Status = *status
		if err := r.Status().Update(ctx, &parent); err != nil {
			// A conflict means the cached parent is older than the server's: retried with backoff.
			return ctrl.Result{}, err
		}
	}
	r.ready.saw(req.String())
	return ctrl.Result{}, nil
}

// readyMarker prints BENCH_READY once every expected parent has been reconciled once.
type readyMarker struct {
	mu       sync.Mutex
	expected int
	seen     map[string]struct{}
	printed  bool
}

func (m *readyMarker) saw(key string) {
	if m.expected <= 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.printed {
		return
	}
	m.seen[key] = struct{}{}
	if len(m.seen) >= m.expected {
		m.printed = true
		m.seen = nil
		fmt.Fprintln(os.Stdout, "BENCH_READY")
	}
}

func envInt(name string) int {
	value, _ := strconv.Atoi(os.Getenv(name))
	return value
}

func main() {
	ctrl.SetLogger(zap.New())
	log := ctrl.Log.WithName("bench")

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		panic(err)
	}
	scheme.AddKnownTypes(groupVersion, &BenchParent{}, &BenchParentList{})
	metav1.AddToGroupVersion(scheme, groupVersion)

	config := ctrl.GetConfigOrDie()
	if qps, err := strconv.ParseFloat(os.Getenv("BENCH_QPS"), 32); err == nil {
		config.QPS = float32(qps)
		config.Burst = envInt("BENCH_BURST")
	}

	manager, err := ctrl.NewManager(config, ctrl.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
	})
	if err != nil {
		log.Error(err, "could not create the manager")
		os.Exit(1)
	}
	options := controller.Options{}
	if concurrency := envInt("BENCH_CONCURRENCY"); concurrency > 0 {
		options.MaxConcurrentReconciles = concurrency
	}
	r := &reconciler{
		Client: manager.GetClient(),
		scheme: scheme,
		ready:  &readyMarker{expected: envInt("BENCH_EXPECT_PARENTS"), seen: map[string]struct{}{}},
	}
	if err := ctrl.NewControllerManagedBy(manager).
		Named("bench").
		For(&BenchParent{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&corev1.ConfigMap{}).
		Owns(&corev1.Secret{}).
		WithOptions(options).
		Complete(r); err != nil {
		log.Error(err, "could not create the controller")
		os.Exit(1)
	}
	if err := manager.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "manager stopped")
		os.Exit(1)
	}
}
