package testkit

import (
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ReviewCredential is the bearer token of ReviewServer's kubeconfig: the
// server refuses (401) reviews that do not present it.
const ReviewCredential = "review-client-cr3dential"

// The paths of the two review APIs.
const (
	tokenReviewsPath         = "/apis/authentication.k8s.io/v1/tokenreviews"
	subjectAccessReviewsPath = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
)

// ReviewServer stands in for a kube-apiserver's TokenReview and
// SubjectAccessReview APIs over TLS on 127.0.0.1, decoding and answering
// the real k8s.io/api types: a token is authenticated when AddToken named
// it, a review is answered by the function SetAuthorize gave (default:
// not allowed, no reason), and Fail makes every review a Status error.
// It counts the reviews it answered. Safe for concurrent use; closed by
// t.Cleanup.
type ReviewServer struct {
	// Kubeconfig is a kubeconfig file naming the server, its CA and
	// ReviewCredential.
	Kubeconfig string

	mu        sync.Mutex
	tokens    map[string]authnv1.UserInfo
	authorize func(authzv1.SubjectAccessReviewSpec) authzv1.SubjectAccessReviewStatus
	failCode  int
	tokenHits int
	sarHits   int
	specs     []authzv1.SubjectAccessReviewSpec
}

// NewReviewServer starts a review server and writes its kubeconfig.
func NewReviewServer(t testing.TB) *ReviewServer {
	t.Helper()
	r := &ReviewServer{tokens: map[string]authnv1.UserInfo{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+tokenReviewsPath, r.serveTokenReview)
	mux.HandleFunc("POST "+subjectAccessReviewsPath, r.serveSubjectAccessReview)
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["reviews"] = &clientcmdapi.Cluster{Server: srv.URL, CertificateAuthorityData: ca}
	cfg.AuthInfos["watchcached"] = &clientcmdapi.AuthInfo{Token: ReviewCredential}
	cfg.Contexts["reviews"] = &clientcmdapi.Context{Cluster: "reviews", AuthInfo: "watchcached"}
	cfg.CurrentContext = "reviews"
	r.Kubeconfig = filepath.Join(t.TempDir(), "reviews.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, r.Kubeconfig); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(r.Kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

// AddToken makes token authenticate as u.
func (r *ReviewServer) AddToken(token string, u authnv1.UserInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tokens[token] = u
}

// SetAuthorize answers the SubjectAccessReviews with f.
func (r *ReviewServer) SetAuthorize(f func(authzv1.SubjectAccessReviewSpec) authzv1.SubjectAccessReviewStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.authorize = f
}

// Fail answers every review with a Status error of code (0: answer again).
func (r *ReviewServer) Fail(code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failCode = code
}

// Hits is the number of TokenReviews and SubjectAccessReviews answered
// (failures included).
func (r *ReviewServer) Hits() (tokenReviews, subjectAccessReviews int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tokenHits, r.sarHits
}

// Specs are the SubjectAccessReview specs received, in order.
func (r *ReviewServer) Specs() []authzv1.SubjectAccessReviewSpec {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]authzv1.SubjectAccessReviewSpec(nil), r.specs...)
}

func (r *ReviewServer) serveTokenReview(w http.ResponseWriter, req *http.Request) {
	var tr authnv1.TokenReview
	if !r.decode(w, req, &tr) {
		return
	}
	r.mu.Lock()
	r.tokenHits++
	fail := r.failCode
	u, ok := r.tokens[tr.Spec.Token]
	r.mu.Unlock()
	if fail != 0 {
		writeReviewStatus(w, fail, "the review server fails on purpose")
		return
	}
	tr.Spec.Token = ""
	tr.Status = authnv1.TokenReviewStatus{Authenticated: ok}
	if ok {
		tr.Status.User = u
	}
	tr.TypeMeta = metav1.TypeMeta{Kind: "TokenReview", APIVersion: authnv1.SchemeGroupVersion.String()}
	writeReview(w, &tr)
}

func (r *ReviewServer) serveSubjectAccessReview(w http.ResponseWriter, req *http.Request) {
	var sar authzv1.SubjectAccessReview
	if !r.decode(w, req, &sar) {
		return
	}
	r.mu.Lock()
	r.sarHits++
	r.specs = append(r.specs, sar.Spec)
	fail, f := r.failCode, r.authorize
	r.mu.Unlock()
	if fail != 0 {
		writeReviewStatus(w, fail, "the review server fails on purpose")
		return
	}
	if f != nil {
		sar.Status = f(sar.Spec)
	}
	sar.TypeMeta = metav1.TypeMeta{Kind: "SubjectAccessReview", APIVersion: authzv1.SchemeGroupVersion.String()}
	writeReview(w, &sar)
}

// decode checks the caller's credential and decodes the body (JSON or
// protobuf, as kube-apiserver takes them).
func (r *ReviewServer) decode(w http.ResponseWriter, req *http.Request, into runtime.Object) bool {
	switch {
	case req.Header.Get("Authorization") != "Bearer "+ReviewCredential:
		writeReviewStatus(w, http.StatusUnauthorized, "Unauthorized")
		return false
	}
	body, err := io.ReadAll(req.Body)
	if err == nil {
		_, _, err = scheme.Codecs.UniversalDeserializer().Decode(body, nil, into)
	}
	if err != nil {
		writeReviewStatus(w, http.StatusBadRequest, err.Error())
		return false
	}
	return true
}

func writeReview(w http.ResponseWriter, obj any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(obj)
}

func writeReviewStatus(w http.ResponseWriter, code int, msg string) {
	reason := metav1.StatusReasonInternalError
	switch code {
	case http.StatusUnauthorized:
		reason = metav1.StatusReasonUnauthorized
	case http.StatusBadRequest:
		reason = metav1.StatusReasonBadRequest
	case http.StatusForbidden:
		reason = metav1.StatusReasonForbidden
	case http.StatusServiceUnavailable:
		reason = metav1.StatusReasonServiceUnavailable
	}
	st := metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusFailure,
		Message: msg, Reason: reason, Code: int32(code)}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(&st)
}
