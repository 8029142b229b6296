// ocspcheck: an OCSP answer as a Go program sees it, through
// golang.org/x/crypto/ocsp's ParseResponseForCert (what Caddy, cfssl and
// Vault call). Usage:
//
//	ocspcheck RESPONSE.der CERT.pem ISSUER.pem
//
// prints "good", "revoked <reason>" or "unknown" and exits 0 when the answer
// is about CERT and carries a signature ISSUER vouches for; prints the
// error and exits 1 otherwise.
package main

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"

	"golang.org/x/crypto/ocsp"
)

// The RFC 5280 CRLReason names, as revoca and OpenSSL spell them.
var reasons = map[int]string{
	ocsp.Unspecified:          "unspecified",
	ocsp.KeyCompromise:        "keyCompromise",
	ocsp.CACompromise:         "cACompromise",
	ocsp.AffiliationChanged:   "affiliationChanged",
	ocsp.Superseded:           "superseded",
	ocsp.CessationOfOperation: "cessationOfOperation",
	ocsp.CertificateHold:      "certificateHold",
	ocsp.RemoveFromCRL:        "removeFromCRL",
	ocsp.PrivilegeWithdrawn:   "privilegeWithdrawn",
	ocsp.AACompromise:         "aACompromise",
}

// firstCertificate reads the first PEM certificate of a file (a leaf file
// may hold its chain after it).
func firstCertificate(path string) (*x509.Certificate, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(text)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return x509.ParseCertificate(block.Bytes)
}

func check(responsePath, certPath, issuerPath string) (string, error) {
	der, err := os.ReadFile(responsePath)
	if err != nil {
		return "", err
	}
	cert, err := firstCertificate(certPath)
	if err != nil {
		return "", err
	}
	issuer, err := firstCertificate(issuerPath)
	if err != nil {
		return "", err
	}
	response, err := ocsp.ParseResponseForCert(der, cert, issuer)
	if err != nil {
		return "", err
	}
	switch response.Status {
	case ocsp.Good:
		return "good", nil
	case ocsp.Revoked:
		return "revoked " + reasons[response.RevocationReason], nil
	default:
		return "unknown", nil
	}
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: ocspcheck RESPONSE.der CERT.pem ISSUER.pem")
		os.Exit(2)
	}
	verdict, err := check(os.Args[1], os.Args[2], os.Args[3])
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println(verdict)
}
