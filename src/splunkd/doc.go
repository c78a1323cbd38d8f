// Package splunkd is a small client for the splunkd management REST API, as a modular input uses it: reading
// and writing credentials in storage/passwords, reading and editing the input's own configuration, and the
// "encrypt a secret parameter" flow every input uses for its secret parameters ([Client.ResolveSecret]).
//
// Every request carries "Authorization: Splunk <session key>" (the session_key splunkd hands the input on
// stdin) and output_mode=json; objects are addressed in the app's namespace, servicesNS/nobody/<app>/....
//
// # TLS
//
// The caller decides how TLS is verified by passing the *http.Client to [New]. splunkd's management port
// usually presents its default self-signed certificate, so the engine passes [LoopbackTLSClient], which
// verifies certificates normally and skips verification only when the connection's peer address is a
// loopback address (splunkd on the same host, as server_uri normally says). Whatever the client, the session
// key is never sent over plain http:// to a host that is not loopback.
//
// # Credential names
//
// splunkd names a credential "<realm>:<user>:" (with a trailing colon), after escaping '\' as `\\` and ':' as
// `\:` inside the realm and the user ([PasswordName]). In a URL path each part is then percent-encoded, so
// realm ":start" and user "end:" become the entity `\:start:end\::`, requested as %5C%3Astart%3Aend%5C%3A%3A.
//
// # Secret parameters
//
// [Client.ResolveSecret] stores a clear parameter value under realm "<scheme>://<input name>" (the stanza name,
// see [Realm]) and user "<parameter name>", then rewrites the parameter in the input's configuration to
// [Mask]. The stanza name is used as the realm because it is what an administrator sees in Settings > Data
// inputs and in inputs.conf, it is unique per input, and it keeps one input's secrets apart from another's
// (passwords.conf then shows [credential:m365_defender_incidents\://prod:client_secret:]).
package splunkd
