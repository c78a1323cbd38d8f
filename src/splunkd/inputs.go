package splunkd

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// inputPath is the escaped path of the input scheme://name in app's namespace.
func inputPath(app, scheme, name string) (string, error) {
	if scheme == "" || name == "" {
		return "", errors.New("splunkd: data/inputs: scheme and input name are required")
	}
	return nsPath(app, "data/inputs/"+pathEscape(scheme)+"/"+pathEscape(name))
}

// GetInput returns the configuration of the modular input scheme://name in app's namespace, as strings (see
// the flattening rules below): its parameters plus splunkd's own fields (disabled, interval, index,
// eai:appName, ...). Numbers and booleans are rendered as JSON spells them ("300", "false"); lists of
// scalars are joined with ","; nulls and objects such as eai:acl are left out. A secret parameter appears as
// splunkd stores it (masked, once ResolveSecret has run). A missing input is an *Error matching ErrNotFound.
func (c *Client) GetInput(ctx context.Context, app, scheme, name string) (map[string]string, error) {
	path, err := inputPath(app, scheme, name)
	if err != nil {
		return nil, err
	}
	f, err := c.get(ctx, path)
	if err != nil {
		return nil, err
	}
	e, err := f.find(name)
	if err != nil {
		return nil, fmt.Errorf("splunkd: GET %s: %w", path, err)
	}
	return e.strings(), nil
}

// UpdateInput edits the modular input scheme://name in app's namespace, setting params (POST to the input's
// entity). splunkd's edit endpoint requires every required_on_edit argument of the scheme to be sent. Editing
// an input makes splunkd restart that input's process.
func (c *Client) UpdateInput(ctx context.Context, app, scheme, name string, params url.Values) error {
	return c.updateInput(ctx, app, scheme, name, params)
}

// updateInput is UpdateInput with values (secrets) to redact from errors.
func (c *Client) updateInput(ctx context.Context, app, scheme, name string, params url.Values, redact ...string) error {
	path, err := inputPath(app, scheme, name)
	if err != nil {
		return err
	}
	if params == nil {
		params = url.Values{}
	}
	_, err = c.do(ctx, http.MethodPost, path, params, redact...)
	return err
}
