package defender

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// PageInfo describes one decoded OData page.
type PageInfo struct {
	Items    int    // objects in "value"
	NextLink string // "@odata.nextLink", "" on the last page
	Count    int64  // "@odata.count", -1 when absent
}

// PageError is an OData page that does not decode. Offset is the byte
// position in the body where decoding stopped.
type PageError struct {
	Offset int64
	Err    error
}

func (e *PageError) Error() string {
	return fmt.Sprintf("defender: malformed OData page at byte %d: %v", e.Offset, e.Err)
}

func (e *PageError) Unwrap() error { return e.Err }

// malformedError is a page that is not a valid OData collection (as
// opposed to one whose transfer broke off).
type malformedError struct{ err error }

func (e *malformedError) Error() string { return e.err.Error() }
func (e *malformedError) Unwrap() error { return e.err }

// callbackError marks an error returned by the caller's item function, so
// that it is never mistaken for a broken page and retried.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }
func (e *callbackError) Unwrap() error { return e.err }

// DecodePage reads an OData collection page from r:
//
//	{"@odata.context":"…","@odata.count":N,"value":[{…},{…}],"@odata.nextLink":"…"}
//
// and calls item for each element of "value" as soon as it has been read,
// with the element's bytes exactly as they appear in the body (field names,
// order, spacing, escapes untouched). The bytes are item's to keep. Members
// may come in any order; unknown members are skipped. A body without a
// "value" array, with two of them, or with trailing data is a *PageError;
// elements already handed to item stay handed. An error from item stops
// decoding and is returned as is.
func DecodePage(r io.Reader, item func(raw []byte) error) (PageInfo, error) {
	info := PageInfo{Count: -1}
	dec := json.NewDecoder(r)
	fail := func(err error) (PageInfo, error) {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			err = &malformedError{err}
		}
		return info, &PageError{Offset: dec.InputOffset(), Err: err}
	}
	tok, err := dec.Token()
	if err != nil {
		return fail(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fail(&malformedError{errors.New("expected a JSON object")})
	}
	sawValue := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail(err)
		}
		key, _ := tok.(string)
		switch key {
		case "value":
			if sawValue {
				return fail(&malformedError{errors.New(`duplicate "value" member`)})
			}
			sawValue = true
			tok, err := dec.Token()
			if err != nil {
				return fail(err)
			}
			if d, ok := tok.(json.Delim); !ok || d != '[' {
				return fail(&malformedError{errors.New(`"value" is not an array`)})
			}
			for dec.More() {
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return fail(err)
				}
				info.Items++
				if err := item(raw); err != nil {
					return info, &callbackError{err}
				}
			}
			if _, err := dec.Token(); err != nil { // ']'
				return fail(err)
			}
		case "@odata.nextLink":
			var s *string
			if err := dec.Decode(&s); err != nil {
				return fail(fmt.Errorf(`"@odata.nextLink": %w`, err))
			}
			if s != nil {
				info.NextLink = *s
			}
		case "@odata.count":
			var n *int64
			if err := dec.Decode(&n); err != nil {
				return fail(fmt.Errorf(`"@odata.count": %w`, err))
			}
			if n != nil {
				info.Count = *n
			}
		case "error":
			var e struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			}
			if err := dec.Decode(&e); err != nil {
				return fail(err)
			}
			return fail(&malformedError{fmt.Errorf("error object in a success answer: %s %s", e.Code, e.Message)})
		default:
			if err := skipValue(dec); err != nil {
				return fail(err)
			}
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return fail(err)
	}
	if !sawValue {
		return fail(&malformedError{errors.New(`no "value" array`)})
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = &malformedError{errors.New("data after the page object")}
		}
		return info, &PageError{Offset: dec.InputOffset(), Err: err}
	}
	return info, nil
}

// skipValue consumes one JSON value without keeping it.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				depth++
			default:
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}
