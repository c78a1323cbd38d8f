package defender

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"
)

// Certificate is an app registration's certificate with its RSA private
// key, used to sign client assertions (RFC 7523). Its String never shows the
// key.
type Certificate struct {
	Leaf *x509.Certificate
	key  *rsa.PrivateKey
}

// String returns the subject and thumbprint.
func (c *Certificate) String() string {
	return fmt.Sprintf("certificate %q (SHA-1 thumbprint %s)", c.Leaf.Subject.String(), hex.EncodeToString(c.thumbprint()))
}

func (c *Certificate) thumbprint() []byte {
	sum := sha1.Sum(c.Leaf.Raw)
	return sum[:]
}

// LoadCertificate reads a PEM file holding the certificate and its
// unencrypted private key (PKCS #1 or PKCS #8), in any order.
func LoadCertificate(path string) (*Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &ConfigError{Param: "client_certificate", Msg: "cannot read the PEM file", Err: err}
	}
	c, err := ParseCertificate(data)
	if err != nil {
		return nil, &ConfigError{Param: "client_certificate", Msg: path + ": " + err.Error()}
	}
	return c, nil
}

// ParseCertificate parses PEM data holding a certificate and its RSA private
// key. Errors describe the problem without quoting key material.
func ParseCertificate(data []byte) (*Certificate, error) {
	var (
		certs []*x509.Certificate
		key   any
	)
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		switch block.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("bad CERTIFICATE block: %v", err)
			}
			certs = append(certs, c)
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, errors.New("bad PRIVATE KEY block (expected unencrypted PKCS #8)")
			}
			key = k
		case "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, errors.New("bad RSA PRIVATE KEY block")
			}
			key = k
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("the private key is encrypted; export it without a passphrase (the file's permissions protect it)")
		case "EC PRIVATE KEY":
			return nil, errors.New("EC keys are not supported for Entra ID client assertions; use an RSA key")
		}
	}
	if len(certs) == 0 {
		return nil, errors.New("no CERTIFICATE block found")
	}
	if key == nil {
		return nil, errors.New("no PRIVATE KEY block found (the file must hold the certificate and its private key)")
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%T keys are not supported for Entra ID client assertions; use an RSA key", key)
	}
	for _, c := range certs {
		if pub, ok := c.PublicKey.(*rsa.PublicKey); ok && pub.Equal(&rk.PublicKey) {
			return &Certificate{Leaf: c, key: rk}, nil
		}
	}
	return nil, errors.New("the private key does not match any certificate in the file")
}

// Assertion returns a signed client assertion JWT (RS256, with the
// certificate's x5t thumbprint) for the token endpoint aud, valid for ten
// minutes from now.
func (c *Certificate) Assertion(clientID, aud string, now time.Time) (string, error) {
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	header := map[string]string{
		"alg": "RS256",
		"typ": "JWT",
		"x5t": base64.RawURLEncoding.EncodeToString(c.thumbprint()),
	}
	claims := map[string]any{
		"aud": aud,
		"iss": clientID,
		"sub": clientID,
		"jti": hex.EncodeToString(jti),
		"nbf": now.Add(-30 * time.Second).Unix(),
		"iat": now.Unix(),
		"exp": now.Add(10 * time.Minute).Unix(),
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signingInput := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	sum := sha256.Sum256([]byte(signingInput))
	sig, err := rsa.SignPKCS1v15(rand.Reader, c.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("defender: signing the client assertion: %w", err)
	}
	return signingInput + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
