package git

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// verify checks the signatures spec.Verify asks for.
func verify(spec Spec, res *resolution, commit *object.Commit, tag *object.Tag) error {
	keyring, ids, err := readKeyRing(spec.Verify.PublicKeys)
	if err != nil {
		return fmt.Errorf("verify %s: %w", res.Revision, err)
	}
	isTagRef := spec.Ref.Tag != "" || spec.Ref.SemVer != ""
	mode := spec.Verify.Mode
	switch mode {
	case VerifyDefault, VerifyHead, VerifyTag, VerifyTagAndHead:
	default:
		return fmt.Errorf("verify %s: unknown mode %q (want head, tag or tag_and_head)", res.Revision, mode)
	}
	checkCommit := mode != VerifyTag
	checkTag := isTagRef && mode != VerifyHead
	if (mode == VerifyTag || mode == VerifyTagAndHead) && !isTagRef {
		return fmt.Errorf("verify %s: mode %q needs a tag or semver ref: %w", res.Revision, mode, ErrVerification)
	}
	if checkTag {
		if tag == nil {
			return fmt.Errorf("tag %s is a lightweight tag and carries no signature (trusted keys: %s): %w", res.name, ids, ErrVerification)
		}
		enc := &plumbing.MemoryObject{}
		if err := tag.EncodeWithoutSignature(enc); err != nil {
			return err
		}
		if err := check(keyring, ids, "tag "+res.name+" ("+tag.Hash.String()+")", tag.PGPSignature, enc); err != nil {
			return err
		}
	}
	if checkCommit {
		enc := &plumbing.MemoryObject{}
		if err := commit.EncodeWithoutSignature(enc); err != nil {
			return err
		}
		if err := check(keyring, ids, "commit "+commit.Hash.String(), commit.PGPSignature, enc); err != nil {
			return err
		}
	}
	return nil
}

// check verifies one armored detached signature over obj.
func check(keyring openpgp.EntityList, ids, what, sig string, obj *plumbing.MemoryObject) error {
	if strings.TrimSpace(sig) == "" {
		return fmt.Errorf("%s is not signed (trusted keys: %s): %w", what, ids, ErrVerification)
	}
	if !strings.Contains(sig, "BEGIN PGP SIGNATURE") {
		return fmt.Errorf("%s carries a non-OpenPGP signature (trusted keys: %s): %w", what, ids, ErrVerification)
	}
	rd, err := obj.Reader()
	if err != nil {
		return err
	}
	defer rd.Close()
	signer, err := openpgp.CheckArmoredDetachedSignature(keyring, rd, strings.NewReader(sig), nil)
	if err == nil && signer != nil {
		return nil
	}
	issuer := signatureIssuer(sig)
	if errors.Is(err, pgperrors.ErrUnknownIssuer) || issuer != "" && !strings.Contains(ids, issuer) {
		if issuer == "" {
			issuer = "an unknown key"
		} else {
			issuer = "key " + issuer
		}
		return fmt.Errorf("%s is signed by %s, which is not one of the trusted keys %s: %w", what, issuer, ids, ErrVerification)
	}
	return fmt.Errorf("%s: signature by key %s is invalid: %v: %w", what, issuer, err, ErrVerification)
}

// signatureIssuer returns the issuer key ID of an armored signature as 16
// upper-case hex digits, or "" if it cannot be read.
func signatureIssuer(sig string) string {
	block, err := armor.Decode(strings.NewReader(sig))
	if err != nil {
		return ""
	}
	pr := packet.NewReader(block.Body)
	for {
		p, err := pr.Next()
		if err != nil {
			return ""
		}
		if s, ok := p.(*packet.Signature); ok {
			if s.IssuerKeyId != nil {
				return fmt.Sprintf("%016X", *s.IssuerKeyId)
			}
			if len(s.IssuerFingerprint) >= 8 {
				return fmt.Sprintf("%X", s.IssuerFingerprint[len(s.IssuerFingerprint)-8:])
			}
			return ""
		}
	}
}

// readKeyRing parses armored keys and returns them with a printable list
// of their key IDs (primary and subkeys).
func readKeyRing(armored []string) (openpgp.EntityList, string, error) {
	const begin = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
	var blocks []string
	for _, a := range armored {
		parts := strings.Split(a, begin)
		if len(parts) == 1 {
			blocks = append(blocks, a) // let the parser explain
		}
		for _, p := range parts[1:] {
			blocks = append(blocks, begin+p)
		}
	}
	var all openpgp.EntityList
	for i, b := range blocks {
		el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader([]byte(b)))
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, "", fmt.Errorf("public key %d: %w", i+1, err)
		}
		if len(el) == 0 {
			return nil, "", fmt.Errorf("public key %d: no key found", i+1)
		}
		all = append(all, el...)
	}
	var ids []string
	for _, e := range all {
		ids = append(ids, e.PrimaryKey.KeyIdString())
		for _, s := range e.Subkeys {
			ids = append(ids, s.PublicKey.KeyIdString())
		}
	}
	return all, "[" + strings.Join(ids, ", ") + "]", nil
}
