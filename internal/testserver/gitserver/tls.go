package gitserver

import (
	"encoding/pem"
	"net/http/httptest"
)

func certPEM(s *httptest.Server) []byte {
	if s.TLS == nil || s.Certificate() == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
}
