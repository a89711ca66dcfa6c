package app

import (
	"fmt"
	"log/slog"

	"github.com/spf13/pflag"

	"github.com/watchcached/watchcached/authz"
	"github.com/watchcached/watchcached/server"
)

// addAuthzFlags registers --authorization-policy-file.
func (c *Config) addAuthzFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Auth.AuthorizationPolicyFile, "authorization-policy-file", c.Auth.AuthorizationPolicyFile,
		"YAML file of RBAC Roles, ClusterRoles, RoleBindings and ClusterRoleBindings (rbac.authorization.k8s.io/v1) "+
			"that authorizes every request; without it (and without --authorization-kubeconfig) every authenticated request is allowed")
}

// The names of the authorizers of the chain, which prefix their reasons
// in a 403 when none had an opinion (the webhook's as kube-apiserver's).
const (
	authorizerDefault = "watchcached/default-policy"
	authorizerFile    = "watchcached/policy-file"
	authorizerWebhook = "kubernetes.io/webhook"
)

// authorizer is the chain kube-apiserver's union authorizer would make of
// the configured authorizers: the built-in default policy, the policy
// file, then the SubjectAccessReview webhook (the first Allow or Deny
// decides). nil (allow everything) with neither a file nor a webhook.
// Errors name the flag and the file. log gets the webhook's failures.
func (a *AuthConfig) authorizer(log *slog.Logger) (server.Authorizer, error) {
	webhook, err := a.Delegated.subjectAccessReviewer(log)
	if err != nil {
		return nil, err
	}
	if a.AuthorizationPolicyFile == "" && webhook == nil {
		return nil, nil
	}
	chain := authz.Union{{Name: authorizerDefault, Authorizer: authz.Default()}}
	if a.AuthorizationPolicyFile != "" {
		p, err := authz.LoadFile(a.AuthorizationPolicyFile)
		if err != nil {
			return nil, fmt.Errorf("--authorization-policy-file %s: %w", a.AuthorizationPolicyFile, err)
		}
		chain = append(chain, authz.Named{Name: authorizerFile, Authorizer: p})
	}
	if webhook != nil {
		chain = append(chain, authz.Named{Name: authorizerWebhook, Authorizer: webhook})
	}
	return chain, nil
}
