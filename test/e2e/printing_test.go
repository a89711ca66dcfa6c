package e2e

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestKubectl_B224_B222_B228_GetScaleExplain: kubectl's get shows
// kube-apiserver's columns (server-side printing), -o wide adds the
// priority-1 ones, scale goes through the scale subresource, and explain
// reads the OpenAPI document.
func TestKubectl_B224_B222_B228_GetScaleExplain(t *testing.T) {
	forEachKubectlEnv(t, func(t *testing.T, e *env, k *kubectl) {
		ctx := t.Context()
		_, err := e.cs.CoreV1().Pods("default").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0"},
			Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.cs.AppsV1().Deployments("default").Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "x"},
			Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		lines := func(out string) []string { return strings.Split(strings.TrimSuffix(out, "\n"), "\n") }
		fields := func(line string) string { return strings.Join(strings.Fields(line), " ") }

		out := lines(k.run(t, "", "get", "pods"))
		if len(out) != 2 || out[0] != "NAME    READY   STATUS    RESTARTS   AGE" || !strings.HasPrefix(fields(out[1]), "web-0 0/1 Pending 0 ") {
			t.Errorf("get pods:\n%s", strings.Join(out, "\n"))
		}
		out = lines(k.run(t, "", "get", "pods", "-o", "wide"))
		if len(out) != 2 || fields(out[0]) != "NAME READY STATUS RESTARTS AGE IP NODE NOMINATED NODE READINESS GATES" ||
			!strings.HasSuffix(fields(out[1]), " <none> node-1 <none> <none>") {
			t.Errorf("get pods -o wide:\n%s", strings.Join(out, "\n"))
		}
		out = lines(k.run(t, "", "get", "deployments"))
		if len(out) != 2 || fields(out[0]) != "NAME READY UP-TO-DATE AVAILABLE AGE" || !strings.HasPrefix(fields(out[1]), "x 0/1 0 0 ") {
			t.Errorf("get deployments:\n%s", strings.Join(out, "\n"))
		}
		if got := k.run(t, "", "scale", "deployments/x", "--replicas=3"); got != "deployment.apps/x scaled\n" {
			t.Errorf("scale: %q", got)
		}
		d, err := e.cs.AppsV1().Deployments("default").Get(ctx, "x", metav1.GetOptions{})
		if err != nil || *d.Spec.Replicas != 3 {
			t.Fatalf("after scale: %v %v", err, d)
		}
		out = lines(k.run(t, "", "explain", "pods.spec.containers"))
		if len(out) < 5 || out[0] != "KIND:       Pod" || out[1] != "VERSION:    v1" || out[3] != "FIELD: containers <[]Container>" {
			t.Errorf("explain:\n%s", strings.Join(out, "\n"))
		}
	})
}

// TestClientGo_B220_UpdateStatus: client-go's UpdateStatus changes only
// the status, Update only the rest, and GetScale/UpdateScale work.
func TestClientGo_B220_UpdateStatus(t *testing.T) {
	t.Parallel()
	e := startEnv(t)
	ctx := t.Context()
	pods := e.cs.CoreV1().Pods("default")
	p, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "a"}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Status.Phase != corev1.PodPending || p.Status.QOSClass != corev1.PodQOSBestEffort {
		t.Errorf("created status %+v", p.Status)
	}
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.9"}
	p.Spec.Containers[0].Image = "b"
	s, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Status.Phase != corev1.PodRunning || s.Status.PodIP != "10.0.0.9" || s.Spec.Containers[0].Image != "a" || s.Generation != 1 {
		t.Errorf("UpdateStatus: %+v %+v gen %d", s.Spec, s.Status, s.Generation)
	}
	s.Status.Phase = corev1.PodFailed
	s.Spec.Containers[0].Image = "c"
	u, err := pods.Update(ctx, s, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if u.Status.Phase != corev1.PodRunning || u.Spec.Containers[0].Image != "c" || u.Generation != 2 {
		t.Errorf("Update: %+v %+v gen %d", u.Spec, u.Status, u.Generation)
	}

	deps := e.cs.AppsV1().Deployments("default")
	if _, err := deps.Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "d"}, Spec: appsv1.DeploymentSpec{
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "d"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sc, err := deps.GetScale(ctx, "d", metav1.GetOptions{})
	if err != nil || sc.Spec.Replicas != 1 || sc.Status.Selector != "app=d" {
		t.Fatalf("GetScale: %v %+v", err, sc)
	}
	sc.Spec.Replicas = 4
	if sc, err = deps.UpdateScale(ctx, "d", sc, metav1.UpdateOptions{}); err != nil || sc.Spec.Replicas != 4 {
		t.Fatalf("UpdateScale: %v %+v", err, sc)
	}
}
