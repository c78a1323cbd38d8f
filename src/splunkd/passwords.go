package splunkd

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// PasswordName is the name splunkd gives the credential for realm and user: each part with '\' escaped as
// `\\` and ':' as `\:`, joined by ':' and ended by ':' ("realm:user:", ":user:" without a realm).
func PasswordName(realm, user string) string {
	return escapeNamePart(realm) + ":" + escapeNamePart(user) + ":"
}

var namePartEscaper = strings.NewReplacer(`\`, `\\`, `:`, `\:`)

// escapeNamePart escapes one part of a credential name.
func escapeNamePart(s string) string { return namePartEscaper.Replace(s) }

// passwordsPath is the escaped path of the storage/passwords collection in app, or of one credential.
func passwordsPath(app, realm, user string, entity bool) (string, error) {
	if entity && user == "" {
		return "", errors.New("splunkd: storage/passwords: no user name given")
	}
	rest := "storage/passwords"
	if entity {
		rest += "/" + pathEscape(PasswordName(realm, user))
	}
	return nsPath(app, rest)
}

// GetPassword returns the clear_password of the credential realm:user: in app's namespace. A missing
// credential is an *Error matching ErrNotFound. Reading clear passwords needs the list_storage_passwords
// capability (the session key of a modular input has it).
func (c *Client) GetPassword(ctx context.Context, app, realm, user string) (string, error) {
	path, err := passwordsPath(app, realm, user, true)
	if err != nil {
		return "", err
	}
	f, err := c.get(ctx, path)
	if err != nil {
		return "", err
	}
	name := PasswordName(realm, user)
	e, err := f.find(name)
	if err != nil {
		return "", fmt.Errorf("splunkd: GET %s: %w", path, err)
	}
	clear, ok := e.str("clear_password")
	if !ok {
		return "", fmt.Errorf("splunkd: GET %s: credential %q has no clear_password (does the session have list_storage_passwords?)", path, name)
	}
	return clear, nil
}

// SetPassword stores secret as the credential realm:user: in app's namespace: it creates the credential
// (POST to storage/passwords, answered 201) and, when splunkd answers 409 because it exists, updates it.
func (c *Client) SetPassword(ctx context.Context, app, realm, user, secret string) error {
	if user == "" {
		return errors.New("splunkd: storage/passwords: no user name given")
	}
	path, err := passwordsPath(app, realm, user, false)
	if err != nil {
		return err
	}
	form := url.Values{"name": {user}, "password": {secret}}
	if realm != "" {
		form.Set("realm", realm)
	}
	_, err = c.do(ctx, http.MethodPost, path, form, secret)
	if errors.Is(err, ErrConflict) {
		return c.UpdatePassword(ctx, app, realm, user, secret)
	}
	return err
}

// UpdatePassword changes the secret of the existing credential realm:user: in app's namespace. A missing
// credential is an *Error matching ErrNotFound.
func (c *Client) UpdatePassword(ctx context.Context, app, realm, user, secret string) error {
	path, err := passwordsPath(app, realm, user, true)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, http.MethodPost, path, url.Values{"password": {secret}}, secret)
	return err
}

// DeletePassword removes the credential realm:user: from app's namespace. A missing credential is an
// *Error matching ErrNotFound.
func (c *Client) DeletePassword(ctx context.Context, app, realm, user string) error {
	path, err := passwordsPath(app, realm, user, true)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, http.MethodDelete, path, nil)
	return err
}
