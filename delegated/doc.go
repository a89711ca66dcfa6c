// Package delegated is watchcached's delegated authentication and
// authorization, as kube-apiserver's (and aggregated API servers')
// --authentication-kubeconfig and --authorization-kubeconfig: bearer
// tokens are checked with a kube-apiserver's TokenReview API
// (authentication.k8s.io/v1) and requests are authorized with its
// SubjectAccessReview API (authorization.k8s.io/v1), each answer cached
// for a short, configurable time in a bounded LRU cache. An Authenticator
// implements server.TokenAuthenticator, an Authorizer server.Authorizer.
package delegated
