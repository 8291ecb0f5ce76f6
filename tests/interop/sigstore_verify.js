// sigstore_verify.js BUNDLE.json PUBKEY.pem
// Verifies a Sigstore bundle v0.3 holding a DSSE envelope with
// @sigstore/verify, trusting exactly PUBKEY (found through the bundle's
// public-key hint) and no transparency log, CT log or timestamp authority
// (thresholds 0: Arca's bundles carry no log entries yet). Prints VERIFIED,
// or REJECTED and the verifier's reason; exits 0 only when verified, 2 when
// the verifier itself cannot be loaded (so a missing install fails the test
// instead of looking like a rejection).
'use strict';
const fs = require('fs');
const crypto = require('crypto');

let bundleLib, verifyLib;
try {
  bundleLib = require('@sigstore/bundle');
  verifyLib = require('@sigstore/verify');
} catch (e) {
  console.error('sigstore_verify.js: cannot load @sigstore/verify (run scripts/setup.sh --test): ' + e.message);
  process.exit(2);
}

const [bundlePath, keyPath] = process.argv.slice(2);
const bundleJson = JSON.parse(fs.readFileSync(bundlePath, 'utf8'));
const publicKey = crypto.createPublicKey(fs.readFileSync(keyPath));
const hint = bundleJson.verificationMaterial?.publicKey?.hint;

const trustedRoot = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [],
};
// The key finder is asked for the bundle's hint; only our key answers.
const keyFinder = (asked) => {
  if (asked !== hint) throw new Error('no trusted key for hint ' + asked);
  return { publicKey, validFor: () => true };
};

try {
  const bundle = bundleLib.bundleFromJSON(bundleJson);
  const trust = verifyLib.toTrustMaterial(trustedRoot, keyFinder);
  const verifier = new verifyLib.Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  verifier.verify(verifyLib.toSignedEntity(bundle));
  console.log('VERIFIED');
} catch (e) {
  console.log('REJECTED ' + (e.code || e.name || '') + ': ' + e.message);
  process.exit(1);
}
