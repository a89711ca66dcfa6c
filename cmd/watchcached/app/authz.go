package app

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/watchcached/watchcached/authz"
	"github.com/watchcached/watchcached/server"
)

// addAuthzFlags registers --authorization-policy-file.
func (c *Config) addAuthzFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Auth.AuthorizationPolicyFile, "authorization-policy-file", c.Auth.AuthorizationPolicyFile,
		"YAML file of RBAC Roles, ClusterRoles, RoleBindings and ClusterRoleBindings (rbac.authorization.k8s.io/v1) "+
			"that authorizes every request; without it every authenticated request is allowed")
}

// authorizer loads the policy file with the built-in default policy; nil
// (allow everything) without a file. Errors name the flag and the file.
func (a *AuthConfig) authorizer() (server.Authorizer, error) {
	if a.AuthorizationPolicyFile == "" {
		return nil, nil
	}
	p, err := authz.LoadFile(a.AuthorizationPolicyFile)
	if err != nil {
		return nil, fmt.Errorf("--authorization-policy-file %s: %w", a.AuthorizationPolicyFile, err)
	}
	return authz.Union{authz.Default(), p}, nil
}
