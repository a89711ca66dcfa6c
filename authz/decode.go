package authz

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// objects are the RBAC objects of a policy file, in file order.
type objects struct {
	roles               []rbacv1.Role
	clusterRoles        []rbacv1.ClusterRole
	roleBindings        []rbacv1.RoleBinding
	clusterRoleBindings []rbacv1.ClusterRoleBinding
}

// LoadFile reads and validates a policy file (see Parse).
func LoadFile(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data)
}

// Parse reads a policy: YAML (or JSON) documents separated by "---"
// lines, each one RBAC object of rbac.authorization.k8s.io/v1 or a v1
// List of them. Unknown fields, other kinds, invalid rules and bindings
// to roles the file does not define are errors naming the document.
func Parse(data []byte) (*Policy, error) {
	var objs objects
	for i, doc := range splitDocuments(data) {
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		if err := objs.add(j); err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
	}
	return objs.build()
}

// splitDocuments splits YAML at its "---" lines, dropping empty documents.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	var cur []string
	flush := func() {
		doc := strings.Join(cur, "\n")
		if strings.TrimSpace(doc) != "" {
			docs = append(docs, []byte(doc))
		}
		cur = cur[:0]
	}
	for _, line := range strings.Split(string(data), "\n") {
		if t := strings.TrimRight(line, " \t\r"); t == "---" || strings.HasPrefix(t, "--- ") {
			flush()
			continue
		}
		cur = append(cur, line)
	}
	flush()
	return docs
}

// add decodes one object (JSON) or the items of a List into objs.
func (objs *objects) add(j []byte) error {
	if string(bytes.TrimSpace(j)) == "null" {
		return nil
	}
	var tm struct{ APIVersion, Kind string }
	if err := json.Unmarshal(j, &tm); err != nil {
		return err
	}
	if tm.Kind == "List" && tm.APIVersion == "v1" {
		var l struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := strictUnmarshal(j, &struct {
			APIVersion string             `json:"apiVersion"`
			Kind       string             `json:"kind"`
			Metadata   json.RawMessage    `json:"metadata"`
			Items      *[]json.RawMessage `json:"items"`
		}{Items: &l.Items}); err != nil {
			return err
		}
		for i, it := range l.Items {
			if err := objs.add(it); err != nil {
				return fmt.Errorf("item %d: %w", i, err)
			}
		}
		return nil
	}
	if tm.APIVersion != rbacv1.SchemeGroupVersion.String() {
		return fmt.Errorf("%s %s: only %s Role, ClusterRole, RoleBinding and ClusterRoleBinding (or a v1 List of them) are allowed",
			tm.APIVersion, tm.Kind, rbacv1.SchemeGroupVersion)
	}
	return objs.addRBAC(tm.Kind, j)
}

// addRBAC decodes one RBAC object of kind.
func (objs *objects) addRBAC(kind string, j []byte) error {
	var err error
	switch kind {
	case "Role":
		objs.roles, err = appendDecoded(objs.roles, j)
	case "ClusterRole":
		objs.clusterRoles, err = appendDecoded(objs.clusterRoles, j)
	case "RoleBinding":
		objs.roleBindings, err = appendDecoded(objs.roleBindings, j)
	case "ClusterRoleBinding":
		objs.clusterRoleBindings, err = appendDecoded(objs.clusterRoleBindings, j)
	default:
		return fmt.Errorf("kind %q: only Role, ClusterRole, RoleBinding and ClusterRoleBinding are allowed", kind)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", kind, err)
	}
	return nil
}

// strictUnmarshal decodes JSON into v, refusing unknown fields.
func strictUnmarshal(j []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(j))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

// appendDecoded decodes j strictly into a new T and appends it to list.
func appendDecoded[T any](list []T, j []byte) ([]T, error) {
	var o T
	err := strictUnmarshal(j, &o)
	return append(list, o), err
}
