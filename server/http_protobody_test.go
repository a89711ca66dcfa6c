package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// protoEncode encodes obj the way client-go's typed clients do.
func protoEncode(t *testing.T, obj runtime.Object) string {
	t.Helper()
	var b bytes.Buffer
	if err := protoSerializer.Encode(obj, &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// protoEnvelope is a protobuf body naming apiVersion/kind around raw.
func protoEnvelope(t *testing.T, apiVersion, kind string, raw []byte) string {
	t.Helper()
	u := runtime.Unknown{TypeMeta: runtime.TypeMeta{APIVersion: apiVersion, Kind: kind}, Raw: raw}
	b, err := u.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return "k8s\x00" + string(b)
}

// TestProtobufBody_WritesGoTheJSONWay_B50_B51_B52: protobuf bodies of built-in kinds are
// translated to JSON and then go the JSON way: create (201), update with a
// stale RV (409) and a current one (200), a delete whose DeleteOptions
// precondition fails (409) and one that holds (200).
func TestProtobufBody_WritesGoTheJSONWay_B50_B51_B52(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const pods = "/api/v1/namespaces/ns1/pods"
	pod := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns1", Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
	}
	got := f.do(t, http.MethodPost, pods, protoEncode(t, pod), "Content-Type", mediaProtobuf)
	stored, err := f.pods.Get(t.Context(), "ns1", "web", getOptsZero)
	if err != nil {
		t.Fatalf("create: %d %s: %v", got.code, got.body, err)
	}
	got.expect(t, 201, string(stored.Raw))
	var back corev1.Pod
	if err := json.Unmarshal(stored.Raw, &back); err != nil {
		t.Fatal(err)
	}
	if back.Kind != "Pod" || back.APIVersion != "v1" || back.Spec.NodeName != "node-1" ||
		back.Labels["app"] != "web" || back.Spec.Containers[0].Image != "nginx" {
		t.Fatalf("stored pod lost fields: %s", stored.Raw)
	}

	back.ResourceVersion = "1" // stale
	back.Spec.Containers[0].Image = "nginx:2"
	f.do(t, http.MethodPut, pods+"/web", protoEncode(t, &back), "Content-Type", mediaProtobuf).expect(t, 409,
		status(409, "Conflict", `Operation cannot be fulfilled on pods "web": the object has been modified; please apply your changes to the latest version and try again`,
			`{"name":"web","kind":"pods"}`))
	back.ResourceVersion = api2s(stored.RV)
	got = f.do(t, http.MethodPut, pods+"/web", protoEncode(t, &back), "Content-Type", mediaProtobuf)
	if got.code != 200 || !strings.Contains(got.body, `"image":"nginx:2"`) {
		t.Fatalf("update: %d %s", got.code, got.body)
	}

	bad := "nope"
	del := &metav1.DeleteOptions{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "DeleteOptions"},
		Preconditions: &metav1.Preconditions{ResourceVersion: &bad}}
	f.do(t, http.MethodDelete, pods+"/web", protoEncode(t, del), "Content-Type", mediaProtobuf).expect(t, 409,
		status(409, "Conflict", "Precondition failed: ResourceVersion in precondition: nope, ResourceVersion in object meta: "+metaRV(t, got.body),
			`{"name":"web","kind":"pods"}`))
	del.Preconditions = &metav1.Preconditions{UID: &back.UID}
	f.do(t, http.MethodDelete, pods+"/web", protoEncode(t, del), "Content-Type", mediaProtobuf).expectCode(t, 200)
}

func api2s(rv uint64) string { return itoa(int(rv)) }

// TestProtobufBody_Rejected: protobuf bodies the server cannot take: an
// unknown kind and a body that does not decode are 415 with a message that
// says why; a known kind posted to another resource is the JSON path's 400.
func TestProtobufBody_Rejected(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const pods = "/api/v1/namespaces/ns1/pods"
	prefix := "the body of the request was in application/vnd.kubernetes.protobuf, which is accepted only for kinds built into client-go: "
	for _, c := range []struct{ name, path, body, want string }{
		{"UnknownKind", pods, protoEnvelope(t, "example.com/v1", "Widget", nil),
			status(415, "UnsupportedMediaType", prefix+"example.com/v1, Kind=Widget is not a kind built into client-go (send it as application/json)", "")},
		{"NoKind", pods, protoEnvelope(t, "", "", nil),
			status(415, "UnsupportedMediaType", prefix+"the body does not decode: Object 'Kind' is missing in 'runtime.TypeMeta{APIVersion:\"\", Kind:\"\"}'", "")},
		{"NotProtobuf", pods, `{"metadata":{"name":"x"}}`,
			status(415, "UnsupportedMediaType", prefix+"the body does not decode: provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]", "")},
		{"OtherKind", pods, protoEncode(t, &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: metav1.ObjectMeta{Name: "x"}}),
			status(400, "BadRequest", "the kind in the data (ConfigMap) does not match the expected kind (Pod)", "")},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.do(t, http.MethodPost, c.path, c.body, "Content-Type", mediaProtobuf).expect(t, codeOf(c.want), c.want)
		})
	}
	// A patch is never protobuf.
	f.do(t, http.MethodPatch, pods+"/x", protoEnvelope(t, "v1", "Pod", nil), "Content-Type", mediaProtobuf).expect(t, 415,
		status(415, "UnsupportedMediaType", msgBuiltinPatchTypes, ""))
	if l, _ := f.pods.List(t.Context(), listOptsZero); len(l.Items) != 0 {
		t.Errorf("a rejected write reached the storage: %d objects", len(l.Items))
	}
}

// TestProtobufBody_TypedClientset: client-go's typed clientset with its
// default content types (protobuf bodies; Accept protobuf, then JSON)
// creates, reads, updates, lists and deletes through the server, which
// answers in protobuf (B183).
func TestProtobufBody_TypedClientset(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var mu sync.Mutex
	var ctypes []string // guarded by mu
	cfg := &rest.Config{Host: f.ts.URL, WrapTransport: func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.Body != nil {
				mu.Lock()
				ctypes = append(ctypes, r.Method+" "+r.Header.Get("Content-Type"))
				mu.Unlock()
			}
			return rt.RoundTrip(r)
		})
	}}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "d1"}, Spec: appsv1.DeploymentSpec{Paused: true}}
	created, err := cs.AppsV1().Deployments("ns1").Create(ctx, d, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if created.Name != "d1" || created.Namespace != "ns1" || !created.Spec.Paused || created.ResourceVersion == "" || created.UID == "" {
		t.Fatalf("created: %+v", created.ObjectMeta)
	}
	created.Labels = map[string]string{"v": "2"}
	updated, err := cs.AppsV1().Deployments("ns1").Update(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if updated.Labels["v"] != "2" || updated.ResourceVersion == created.ResourceVersion {
		t.Fatalf("updated: %+v", updated.ObjectMeta)
	}
	// The old RV is stale now: the typed client sees a Conflict error.
	if _, err := cs.AppsV1().Deployments("ns1").Update(ctx, created, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("stale update: %v", err)
	}
	list, err := cs.AppsV1().Deployments("").List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 1 || list.Items[0].ResourceVersion != updated.ResourceVersion {
		t.Fatalf("list: %v %+v", err, list)
	}
	if _, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	stale := "1"
	err = cs.AppsV1().Deployments("ns1").Delete(ctx, "d1", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &stale}})
	if !apierrors.IsConflict(err) {
		t.Fatalf("delete with a stale precondition: %v", err)
	}
	if err := cs.AppsV1().Deployments("ns1").Delete(ctx, "d1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AppsV1().Deployments("ns1").Get(ctx, "d1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("get after delete: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"POST " + mediaProtobuf, "PUT " + mediaProtobuf, "PUT " + mediaProtobuf, "POST " + mediaProtobuf,
		"DELETE " + mediaProtobuf, "DELETE " + mediaProtobuf}
	if strings.Join(ctypes, "|") != strings.Join(want, "|") {
		t.Errorf("request content types:\n got %q\nwant %q", ctypes, want)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
