package watchcachedtest_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/watchcached/watchcached/watchcachedtest"
)

const cleanupFinalizer = "example.com/cleanup"

// configReconciler keeps a ConfigMap "<deployment>-config" that records
// each Deployment's replicas (server-side apply), puts a finalizer on the
// Deployment (strategic merge patch), reports the observed generation in
// its status (the status subresource), and on deletion removes the
// ConfigMap and then the finalizer.
type configReconciler struct{ c client.Client }

func (r *configReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var d appsv1.Deployment
	if err := r.c.Get(ctx, req.NamespacedName, &d); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !d.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finish(ctx, &d)
	}
	if !controllerutil.ContainsFinalizer(&d, cleanupFinalizer) {
		patch := client.StrategicMergeFrom(d.DeepCopy())
		controllerutil.AddFinalizer(&d, cleanupFinalizer)
		return ctrl.Result{}, r.c.Patch(ctx, &d, patch)
	}
	cm := corev1ac.ConfigMap(d.Name+"-config", d.Namespace).
		WithData(map[string]string{"replicas": fmt.Sprint(ptr.Deref(d.Spec.Replicas, 1))})
	if err := r.c.Apply(ctx, cm, client.FieldOwner("config-controller"), client.ForceOwnership); err != nil {
		return ctrl.Result{}, err
	}
	if d.Status.ObservedGeneration != d.Generation {
		d.Status.ObservedGeneration = d.Generation
		return ctrl.Result{}, r.c.Status().Update(ctx, &d)
	}
	return ctrl.Result{}, nil
}

func (r *configReconciler) finish(ctx context.Context, d *appsv1.Deployment) error {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: d.Name + "-config", Namespace: d.Namespace}}
	if err := r.c.Delete(ctx, cm); client.IgnoreNotFound(err) != nil {
		return err
	}
	patch := client.MergeFrom(d.DeepCopy())
	controllerutil.RemoveFinalizer(d, cleanupFinalizer)
	return r.c.Patch(ctx, d, patch)
}

// startManager runs a controller-runtime manager (leader election on a
// Lease) with the reconciler until the test ends, and waits until it has
// been elected.
func startManager(t *testing.T, env *watchcachedtest.Env) client.Client {
	t.Helper()
	ctrl.SetLogger(logrDiscard())
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme: scheme.Scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		LeaderElection: true, LeaderElectionID: "config-controller", LeaderElectionNamespace: "default",
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		t.Fatalf("manager: %v", err)
	}
	err = ctrl.NewControllerManagedBy(mgr).For(&appsv1.Deployment{}).Named("config").
		WithOptions(controller.Options{SkipNameValidation: ptr.To(true)}). // -count=N runs it again
		Complete(&configReconciler{c: mgr.GetClient()})
	if err != nil {
		t.Fatalf("controller: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
	select {
	case <-mgr.Elected():
	case err := <-done:
		t.Fatalf("manager stopped before it was elected: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("manager not elected within 20s")
	}
	return mgr.GetClient()
}

// TestControllerRuntime_Converges: a controller-runtime manager with
// leader election on Leases, whose reconciler uses server-side apply, a
// strategic merge patch, a status update and a finalizer, converges on
// the environment; a change of the Deployment reaches the ConfigMap;
// deleting the Deployment waits for the finalizer, which the reconciler
// removes after the ConfigMap, and then the Deployment is gone.
func TestControllerRuntime_Converges(t *testing.T) {
	env := watchcachedtest.StartEnv(t, watchcachedtest.Options{Logger: slog.New(slog.DiscardHandler)})
	c := startManager(t, env)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	d := testDeployment("web", 2)
	if err := c.Create(ctx, d); err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	waitConverged(ctx, t, c, "web", "2")
	if err := c.Patch(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}},
		client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"replicas":5}}`))); err != nil {
		t.Fatalf("scale to 5: %v", err)
	}
	waitConverged(ctx, t, c, "web", "5")
	if err := c.Delete(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}}); err != nil {
		t.Fatalf("delete deployment: %v", err)
	}
	waitFor(ctx, t, "the deployment and its config map gone", func() (bool, error) {
		errD := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "web"}, &appsv1.Deployment{})
		errC := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "web-config"}, &corev1.ConfigMap{})
		return apierrors.IsNotFound(errD) && apierrors.IsNotFound(errC), nil
	})
}

// waitConverged waits until the Deployment carries the finalizer and
// reports its generation as observed, and its ConfigMap, owned by the
// controller's field manager, records replicas.
func waitConverged(ctx context.Context, t *testing.T, c client.Client, name, replicas string) {
	t.Helper()
	waitFor(ctx, t, "converged at replicas="+replicas, func() (bool, error) {
		var d appsv1.Deployment
		var cm corev1.ConfigMap
		if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, &d); err != nil {
			return false, err
		}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: name + "-config"}, &cm); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		owned := len(cm.ManagedFields) == 1 && cm.ManagedFields[0].Manager == "config-controller" &&
			cm.ManagedFields[0].Operation == metav1.ManagedFieldsOperationApply
		return controllerutil.ContainsFinalizer(&d, cleanupFinalizer) && d.Status.ObservedGeneration == d.Generation &&
			cm.Data["replicas"] == replicas && owned, nil
	})
}

func waitFor(ctx context.Context, t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	var last error
	err := wait.PollUntilContextCancel(ctx, 20*time.Millisecond, true, func(context.Context) (bool, error) {
		ok, err := cond()
		last = err
		return ok, nil
	})
	if err != nil {
		t.Fatalf("not %s: %v (last error: %v)", what, err, errors.Join(last))
	}
}

func testDeployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}},
		},
	}
}
