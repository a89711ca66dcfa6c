package e2e

import (
	"strings"
	"testing"

	"github.com/watchcached/watchcached/cmd/watchcached/app"
)

// TestKubectl_KubeCatalogue: against a daemon serving `--resources kube`,
// kubectl finds pods by their short name and every "all" resource by the
// category, reading objects written as JSON at kube-apiserver's keys, and
// its field selectors (a string and a boolean one) filter them.
func TestKubectl_KubeCatalogue(t *testing.T) {
	e := startEnv(t, func(c *app.Config) { c.Resources, c.ResourcesFile = nil, "kube" })
	k := newKubectl(t, e.url)
	for key, value := range map[string]string{
		"/registry/pods/default/web-1": `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-1","namespace":"default"},` +
			`"spec":{"nodeName":"node-1"},"status":{"phase":"Running"}}`,
		"/registry/pods/default/agent": `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"agent","namespace":"default"},` +
			`"spec":{"nodeName":"node-1","hostNetwork":true},"status":{"phase":"Pending"}}`,
		"/registry/services/specs/default/web": `{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"}}`,
		"/registry/deployments/default/web":    `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"default"}}`,
		"/registry/minions/node-1":             `{"apiVersion":"v1","kind":"Node","metadata":{"name":"node-1"}}`,
	} {
		if _, err := e.etcd.Put(t.Context(), key, value); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "po", "-o", "name"}, "pod/agent\npod/web-1\n"},
		{[]string{"get", "po", "-o", "name", "--field-selector", "status.phase=Running"}, "pod/web-1\n"},
		{[]string{"get", "po", "-o", "name", "--field-selector", "spec.hostNetwork=true"}, "pod/agent\n"},
		{[]string{"get", "po", "-o", "name", "--field-selector", "spec.hostNetwork=false,spec.nodeName=node-1"}, "pod/web-1\n"},
		{[]string{"get", "svc,deploy,no", "-o", "name"}, "service/web\ndeployment.apps/web\nnode/node-1\n"},
		{[]string{"get", "all", "-o", "name"}, "pod/agent\npod/web-1\nservice/web\ndeployment.apps/web\n"},
	} {
		if got := k.run(t, "", c.args...); got != c.want {
			t.Errorf("kubectl %s: %q, want %q", strings.Join(c.args, " "), got, c.want)
		}
	}
	lines := strings.Split(strings.TrimSpace(k.run(t, "", "get", "po")), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") || !strings.HasPrefix(lines[1], "agent ") || !strings.HasPrefix(lines[2], "web-1 ") {
		t.Errorf("get po:\n%s", strings.Join(lines, "\n"))
	}
}
