package app

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"k8s.io/client-go/tools/clientcmd"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/watchcached/watchcached/authz"
)

// deployDir is the manifests' folder, from this package's directory.
const deployDir = "../../../deploy"

// deployObjects decodes every YAML document of every file in deploy/
// strictly (unknown or repeated fields are errors) into client-go's
// typed objects, by file.
func deployObjects(t *testing.T) map[string][]runtime.Object {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(deployDir, "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s: %v", deployDir, err)
	}
	dec := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	out := map[string][]runtime.Object{}
	for _, path := range files {
		name := filepath.Base(path)
		if filepath.Ext(name) != ".yaml" {
			t.Errorf("%s: every file in deploy/ is a .yaml manifest", name)
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
		for {
			doc, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if len(bytes.TrimSpace(stripComments(doc))) == 0 {
				continue
			}
			obj, _, err := dec.Decode(doc, nil, nil)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			out[name] = append(out[name], obj)
		}
	}
	return out
}

// stripComments drops the YAML comment lines of doc.
func stripComments(doc []byte) []byte {
	var out []byte
	for _, l := range bytes.Split(doc, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			out = append(append(out, l...), '\n')
		}
	}
	return out
}

// one returns the only object of type T in the manifests.
func one[T runtime.Object](t *testing.T, objs map[string][]runtime.Object) T {
	t.Helper()
	var found []T
	for _, list := range objs {
		for _, o := range list {
			if v, ok := o.(T); ok {
				found = append(found, v)
			}
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("%d objects of type %T in deploy/, want 1", len(found), zero)
	}
	return found[0]
}

// TestDeploy_B164_Manifests: every manifest in deploy/ is a valid typed
// object, and they agree with the daemon and with each other: the
// Deployment's arguments parse with the daemon's own flag set, every file
// they name is mounted, the ConfigMap's resources file and policy load
// with the daemon's parsers, the probes and the Service use the
// container's ports, the selectors match the pods.
func TestDeploy_B164_Manifests(t *testing.T) {
	objs := deployObjects(t)
	dep := one[*appsv1.Deployment](t, objs)
	cm := one[*corev1.ConfigMap](t, objs)
	svc := one[*corev1.Service](t, objs)
	pdb := one[*policyv1.PodDisruptionBudget](t, objs)
	sa := one[*corev1.ServiceAccount](t, objs)
	one[*corev1.Namespace](t, objs)
	checkDelegationRBAC(t, one[*rbacv1.ClusterRole](t, objs), one[*rbacv1.ClusterRoleBinding](t, objs), sa)

	if *dep.Spec.Replicas != 2 || dep.Spec.Template.Spec.ServiceAccountName != sa.Name {
		t.Errorf("replicas %d, service account %q", *dep.Spec.Replicas, dep.Spec.Template.Spec.ServiceAccountName)
	}
	if len(dep.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(dep.Spec.Template.Spec.Containers))
	}
	c := dep.Spec.Template.Spec.Containers[0]
	cfg := checkArgs(t, c.Args)
	checkMounts(t, dep, c, cm, cfg)
	checkSecurity(t, dep.Spec.Template.Spec.SecurityContext, c.SecurityContext)
	checkProbesAndPorts(t, c, svc)

	labels := dep.Spec.Template.Labels
	for what, sel := range map[string]map[string]string{"deployment": dep.Spec.Selector.MatchLabels,
		"service": svc.Spec.Selector, "pdb": pdb.Spec.Selector.MatchLabels} {
		for k, v := range sel {
			if labels[k] != v || len(sel) == 0 {
				t.Errorf("%s selector %v does not match the pod labels %v", what, sel, labels)
			}
		}
	}
	for file, list := range objs {
		for _, o := range list {
			if m, ok := o.(interface{ GetNamespace() string }); ok {
				if _, cluster := o.(*rbacv1.ClusterRole); cluster {
					continue
				}
				switch o.(type) {
				case *rbacv1.ClusterRoleBinding, *corev1.Namespace:
				default:
					if m.GetNamespace() != dep.Namespace {
						t.Errorf("%s: %T in namespace %q, want %q", file, o, m.GetNamespace(), dep.Namespace)
					}
				}
			}
		}
	}
}

// checkArgs parses the container's arguments with the daemon's flag set
// (an unknown flag or a bad value fails) and returns the configuration
// they give.
func checkArgs(t *testing.T, args []string) Config {
	t.Helper()
	cfg := DefaultConfig()
	fs, logOpts := NewFlagSet(&cfg)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("the Deployment's arguments do not parse with the daemon's flags: %v", err)
	}
	if fs.NArg() != 0 {
		t.Errorf("positional arguments %v", fs.Args())
	}
	if _, err := logOpts.NewLogger(io.Discard); err != nil {
		t.Error(err)
	}
	if len(cfg.EtcdServers) == 0 || cfg.EffectiveWriteMode() != "reject" || cfg.Auth.TLSCertFile == "" ||
		cfg.Auth.ClientCAFile == "" || cfg.Auth.AuthorizationPolicyFile == "" {
		t.Errorf("the Deployment must use an external etcd, reject writes, serve TLS, authenticate and authorize: %+v", cfg)
	}
	return cfg
}

// checkMounts: every file a flag names is under a read-only mount of a
// volume of the pod; those from the ConfigMap are its keys, and they load.
func checkMounts(t *testing.T, dep *appsv1.Deployment, c corev1.Container, cm *corev1.ConfigMap, cfg Config) {
	t.Helper()
	volumes := map[string]corev1.Volume{}
	for _, v := range dep.Spec.Template.Spec.Volumes {
		volumes[v.Name] = v
	}
	files := map[string]string{"--resources": cfg.ResourcesFile, "--tls-cert-file": cfg.Auth.TLSCertFile,
		"--tls-private-key-file": cfg.Auth.TLSPrivateKeyFile, "--client-ca-file": cfg.Auth.ClientCAFile,
		"--authorization-policy-file": cfg.Auth.AuthorizationPolicyFile, "--etcd-cafile": cfg.EtcdCAFile,
		"--etcd-certfile": cfg.EtcdCertFile, "--etcd-keyfile": cfg.EtcdKeyFile, "--token-auth-file": cfg.Auth.TokenAuthFile,
		"--authentication-kubeconfig": cfg.Auth.Delegated.AuthenticationKubeconfig,
		"--authorization-kubeconfig":  cfg.Auth.Delegated.AuthorizationKubeconfig}
	dir := t.TempDir()
	for flag, path := range files {
		if path == "" {
			continue
		}
		i := slices.IndexFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return filepath.Dir(path) == m.MountPath })
		if i < 0 {
			t.Errorf("%s=%s: no volume is mounted at %s", flag, path, filepath.Dir(path))
			continue
		}
		m := c.VolumeMounts[i]
		v, ok := volumes[m.Name]
		switch {
		case !ok:
			t.Errorf("mount %s: no volume %q", m.MountPath, m.Name)
		case !m.ReadOnly:
			t.Errorf("mount %s is writable", m.MountPath)
		case v.ConfigMap != nil:
			if v.ConfigMap.Name != cm.Name {
				t.Errorf("volume %s: ConfigMap %q, want %q", v.Name, v.ConfigMap.Name, cm.Name)
			}
			data, ok := cm.Data[filepath.Base(path)]
			if !ok {
				t.Errorf("%s=%s: ConfigMap %s has no key %s", flag, path, cm.Name, filepath.Base(path))
			}
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(path)), []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
		case v.Secret == nil:
			t.Errorf("volume %s: neither a ConfigMap nor a Secret", v.Name)
		}
	}
	// The ConfigMap's files load with the daemon's own parsers.
	if _, err := LoadResources(filepath.Join(dir, filepath.Base(cfg.ResourcesFile)), cfg.EtcdPrefix); err != nil {
		t.Errorf("ConfigMap resources file: %v", err)
	}
	if _, err := authz.LoadFile(filepath.Join(dir, filepath.Base(cfg.Auth.AuthorizationPolicyFile))); err != nil {
		t.Errorf("ConfigMap policy file: %v", err)
	}
	for _, kc := range []string{cfg.Auth.Delegated.AuthenticationKubeconfig, cfg.Auth.Delegated.AuthorizationKubeconfig} {
		if _, err := clientcmd.LoadFromFile(filepath.Join(dir, filepath.Base(kc))); kc != "" && err != nil {
			t.Errorf("ConfigMap kubeconfig %s: %v", kc, err)
		}
	}
}

// checkSecurity: non-root, read-only root file system, no privilege.
func checkSecurity(t *testing.T, pod *corev1.PodSecurityContext, c *corev1.SecurityContext) {
	t.Helper()
	switch {
	case pod == nil || pod.RunAsNonRoot == nil || !*pod.RunAsNonRoot || pod.RunAsUser == nil || *pod.RunAsUser == 0:
		t.Error("the pod must run as a non-root user")
	case c == nil || c.ReadOnlyRootFilesystem == nil || !*c.ReadOnlyRootFilesystem:
		t.Error("the container's root file system must be read-only")
	case c.AllowPrivilegeEscalation == nil || *c.AllowPrivilegeEscalation || c.Capabilities == nil ||
		!slices.Equal(c.Capabilities.Drop, []corev1.Capability{"ALL"}):
		t.Error("the container must drop every capability and forbid privilege escalation")
	}
}

// checkProbesAndPorts: the probes ask /livez and /readyz over HTTPS on the
// container's port; the Service targets ports the container has.
func checkProbesAndPorts(t *testing.T, c corev1.Container, svc *corev1.Service) {
	t.Helper()
	ports := map[string]bool{}
	for _, p := range c.Ports {
		ports[p.Name] = true
	}
	for what, c := range map[string]struct {
		p    *corev1.Probe
		path string
	}{"liveness": {c.LivenessProbe, "/livez"}, "readiness": {c.ReadinessProbe, "/readyz"}} {
		if c.p == nil || c.p.HTTPGet == nil || c.p.HTTPGet.Path != c.path || c.p.HTTPGet.Scheme != corev1.URISchemeHTTPS ||
			!ports[c.p.HTTPGet.Port.String()] {
			t.Errorf("%s probe %+v: want GET %s over HTTPS on a container port", what, c.p, c.path)
		}
	}
	for _, p := range svc.Spec.Ports {
		if !ports[p.TargetPort.String()] {
			t.Errorf("service port %s targets %s, which the container does not have", p.Name, p.TargetPort.String())
		}
	}
}

// checkDelegationRBAC: the service account may create TokenReviews and
// SubjectAccessReviews, and nothing else.
func checkDelegationRBAC(t *testing.T, role *rbacv1.ClusterRole, binding *rbacv1.ClusterRoleBinding, sa *corev1.ServiceAccount) {
	t.Helper()
	var got []string
	for _, r := range role.Rules {
		got = append(got, strings.Join(r.APIGroups, ",")+"/"+strings.Join(r.Resources, ",")+":"+strings.Join(r.Verbs, ","))
	}
	want := []string{"authentication.k8s.io/tokenreviews:create", "authorization.k8s.io/subjectaccessreviews:create"}
	if !slices.Equal(got, want) {
		t.Errorf("ClusterRole rules %v, want %v", got, want)
	}
	if binding.RoleRef.Name != role.Name || len(binding.Subjects) != 1 || binding.Subjects[0].Kind != "ServiceAccount" ||
		binding.Subjects[0].Name != sa.Name || binding.Subjects[0].Namespace != sa.Namespace {
		t.Errorf("ClusterRoleBinding %+v does not bind %s to service account %s/%s", binding, role.Name, sa.Namespace, sa.Name)
	}
}
