#pragma once
// Signing DER that pki/ assembles itself (CRLs, OCSP responses): the
// signature value, and the AlgorithmIdentifier that names it, both from the
// key's provider, so RSA and ECDSA keys of any digest come out right.
// Private to pki/.
#include <string>

#include "core/result.h"
#include "pki/key.h"

namespace revoca::pki {

struct Signature {
  std::string algorithmDer;  // AlgorithmIdentifier, e.g. ecdsa-with-SHA256
  std::string value;         // the signature bytes (a BIT STRING's content, without the unused-bits octet)
};

// `what` names the document in the error ("signing the CRL").
Result<Signature> signDer(const std::string& data, const PrivateKey& key, Digest digest, const std::string& what);

}  // namespace revoca::pki
