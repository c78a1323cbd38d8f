package splunkd

import (
	"context"
	"errors"
	"fmt"
	"net/url"
)

// Mask is what a secret parameter's value is replaced with in the input's configuration once the clear
// value is in storage/passwords. A clear value equal to Mask cannot be told apart from a masked one.
const Mask = "********"

// SecretRef names a secret parameter of one input.
type SecretRef struct {
	App    string // app whose namespace holds the input and the credential (the stanza's app attribute)
	Scheme string // scheme of the input, e.g. "m365_defender_incidents"
	Input  string // input name, the part of the stanza name after "://"
	Param  string // parameter name, e.g. "client_secret"; the credential's user name
	// Keep holds the parameters to resend when the input is edited to mask the secret: splunkd's edit
	// endpoint wants every required_on_edit argument. Keep is not modified.
	Keep url.Values
}

// Realm returns the storage/passwords realm under which ResolveSecret keeps an input's secrets: the stanza
// name "<scheme>://<input>".
func Realm(scheme, input string) string { return scheme + "://" + input }

// stanza is the full stanza name of the input.
func (r SecretRef) stanza() string { return Realm(r.Scheme, r.Input) }

// ResolveSecret returns the clear value of a secret parameter whose configured value is value.
//
//   - value is empty: the parameter is not set; ResolveSecret returns "" and nil without calling splunkd.
//   - value is Mask: the clear value is read back from storage/passwords (realm Realm(ref.Scheme,
//     ref.Input), user ref.Param). If there is no such credential, the error matches ErrNotFound and says to
//     enter the value again.
//   - otherwise value is clear: it is stored (created or updated) in storage/passwords, then the input's
//     configuration is edited to hold Mask instead (resending ref.Keep), and value is returned. splunkd
//     restarts the input after that edit, so the caller should expect to be stopped soon.
//
// When splunkd cannot be reached and value is clear, ResolveSecret returns value together with an error
// matching ErrUnreachable: the input can run, but the secret is not yet encrypted, which the caller should
// log as a warning. Other failures return "" and the error. No error ever contains the secret.
func (c *Client) ResolveSecret(ctx context.Context, ref SecretRef, value string) (string, error) {
	if ref.App == "" || ref.Scheme == "" || ref.Input == "" || ref.Param == "" {
		return "", fmt.Errorf("splunkd: secret reference needs app, scheme, input and parameter (got app %q, stanza %q, parameter %q)", ref.App, ref.stanza(), ref.Param)
	}
	if value == "" {
		return "", nil
	}
	realm := ref.stanza()
	if value == Mask {
		clear, err := c.GetPassword(ctx, ref.App, realm, ref.Param)
		switch {
		case errors.Is(err, ErrNotFound):
			return "", fmt.Errorf("splunkd: stanza %q: parameter %q is masked but app %q has no credential %q in storage/passwords; enter the value again: %w",
				realm, ref.Param, ref.App, PasswordName(realm, ref.Param), err)
		case err != nil:
			return "", fmt.Errorf("splunkd: stanza %q: parameter %q: read the stored value: %w", realm, ref.Param, err)
		}
		return clear, nil
	}
	if err := c.SetPassword(ctx, ref.App, realm, ref.Param, value); err != nil {
		return clearOnUnreachable(value, err, fmt.Errorf("splunkd: stanza %q: parameter %q: store the value in storage/passwords (it is not encrypted yet): %w", realm, ref.Param, err))
	}
	params := make(url.Values, len(ref.Keep)+1)
	for k, v := range ref.Keep {
		params[k] = append([]string(nil), v...)
	}
	params.Set(ref.Param, Mask)
	if err := c.updateInput(ctx, ref.App, ref.Scheme, ref.Input, params, value); err != nil {
		return clearOnUnreachable(value, err, fmt.Errorf("splunkd: stanza %q: parameter %q: stored in storage/passwords, but masking it in the input's configuration failed (the clear value is still there): %w", realm, ref.Param, err))
	}
	return value, nil
}

// clearOnUnreachable returns the clear value with wrapped when cause is ErrUnreachable, else only wrapped.
func clearOnUnreachable(value string, cause, wrapped error) (string, error) {
	if errors.Is(cause, ErrUnreachable) {
		return value, wrapped
	}
	return "", wrapped
}
