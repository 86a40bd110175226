'use strict';
// Building blocks of the third-party field app in client.js, written from
// ../shared/ARCHITECTURE.md ("Principals and channels", "Enrollment", "Signed documents
// (contract v1)", "Documents in /sync/field") and the JSON Schemas the server publishes —
// never from fieldhall's own code. Node built-ins only, plus npm `canonicalize` (RFC 8785).

const crypto = require('node:crypto');
const zlib = require('node:zlib');

let canonicalize;
try {
  // canonicalize 5 is an ES module: require() (Node >= 20.19) returns its namespace.
  const loaded = require('canonicalize');
  canonicalize = typeof loaded === 'function' ? loaded : loaded.default;
} catch (err) {
  process.stderr.write(`FAIL: cannot load npm canonicalize (${err.message}); run \`npm ci\`\n`);
  process.exit(3);
}

class CheckFailed extends Error {}

function check(condition, message, details) {
  if (!condition) {
    const suffix = details === undefined ? '' : `\n  details: ${clip(JSON.stringify(details))}`;
    throw new CheckFailed(message + suffix);
  }
}

function clip(value, limit = 2000) {
  const text = String(value);
  return text.length > limit ? `${text.slice(0, limit)}... (${text.length} chars)` : text;
}

// ---------------------------------------------------------------------------------------------
// Encodings

function b64url(buffer) {
  return Buffer.from(buffer).toString('base64url'); // unpadded, as ARCHITECTURE fixes it
}

function fromB64url(text) {
  check(
    typeof text === 'string' && /^[A-Za-z0-9_-]*$/.test(text),
    `not unpadded base64url: ${text}`,
  );
  return Buffer.from(text, 'base64url');
}

function sameJson(a, b) {
  return canonicalize(a) === canonicalize(b);
}

function sha256Hex(bytes) {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

function nowRfc3339() {
  return new Date().toISOString(); // UTC, "Z", milliseconds
}

// ---------------------------------------------------------------------------------------------
// Document ids: `<type>:<ULID>` (Crockford base32: 48-bit ms timestamp, 80 random bits),
// monotonic within one millisecond so ids made in a burst still sort in creation order.

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
let lastUlidTime = -1;
let lastUlidRandom = null;

function ulid(now = Date.now()) {
  let random;
  if (now === lastUlidTime) {
    random = Buffer.from(lastUlidRandom);
    for (let i = random.length - 1; i >= 0; i -= 1) {
      random[i] = (random[i] + 1) & 0xff;
      if (random[i] !== 0) {
        break;
      }
    }
  } else {
    random = crypto.randomBytes(10);
  }
  lastUlidTime = now;
  lastUlidRandom = random;
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i += 1) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let bits = 0n;
  for (const byte of random) {
    bits = (bits << 8n) | BigInt(byte);
  }
  let rand = '';
  for (let i = 0; i < 16; i += 1) {
    rand = CROCKFORD[Number(bits & 31n)] + rand;
    bits >>= 5n;
  }
  return time + rand;
}

// ---------------------------------------------------------------------------------------------
// Signed documents (contract v1): signed bytes = RFC 8785 canonical JSON of the document
// without _rev, _revisions, _attachments, _conflicts, _deleted_conflicts and signature.sig;
// the signature is plain Ed25519 over those bytes.

const UNSIGNED_MEMBERS = ['_rev', '_revisions', '_attachments', '_conflicts', '_deleted_conflicts'];

function signedBytes(doc) {
  const body = {};
  for (const [key, value] of Object.entries(doc)) {
    if (!UNSIGNED_MEMBERS.includes(key)) {
      body[key] = value;
    }
  }
  if (body.signature && typeof body.signature === 'object') {
    const { sig: _sig, ...rest } = body.signature;
    body.signature = rest;
  }
  return Buffer.from(canonicalize(body), 'utf8');
}

function newDeviceKey() {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  const raw = fromB64url(publicKey.export({ format: 'jwk' }).x);
  check(raw.length === 32, 'an Ed25519 public key is 32 raw bytes');
  return { publicKey, privateKey, publicRaw: raw };
}

function ed25519PublicKey(raw) {
  check(raw.length === 32, `an Ed25519 public key must be 32 bytes, got ${raw.length}`);
  const jwk = { kty: 'OKP', crv: 'Ed25519', x: b64url(raw) };
  return crypto.createPublicKey({ key: jwk, format: 'jwk' });
}

// Sets doc.signature (alg, kid, signed_at, then sig over the signed bytes); returns the bytes.
function sign(doc, kid, privateKey) {
  doc.signature = { alg: 'Ed25519', kid, signed_at: nowRfc3339() };
  const bytes = signedBytes(doc);
  doc.signature.sig = b64url(crypto.sign(null, bytes, privateKey));
  return bytes;
}

function verify(doc, publicKey) {
  const sig = doc.signature && doc.signature.sig;
  if (typeof sig !== 'string') {
    return false;
  }
  return crypto.verify(null, signedBytes(doc), publicKey, fromB64url(sig));
}

// ---------------------------------------------------------------------------------------------
// Field sealing: HPKE (RFC 9180) base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
// AES-256-GCM, single-shot (sequence number 0), from node:crypto primitives.

const HPKE_KEM_ID = 0x0020;
const HPKE_KDF_ID = 0x0001;
const AEADS = {
  'aes-128-gcm': { id: 0x0001, nk: 16 },
  'aes-256-gcm': { id: 0x0002, nk: 32 },
};

function i2osp(value, length) {
  const out = Buffer.alloc(length);
  out.writeUIntBE(value, 0, length);
  return out;
}

function hkdfExtract(salt, ikm) {
  return crypto
    .createHmac('sha256', salt.length ? salt : Buffer.alloc(32))
    .update(ikm)
    .digest();
}

function hkdfExpand(prk, info, length) {
  const blocks = [];
  let previous = Buffer.alloc(0);
  for (let i = 1; Buffer.concat(blocks).length < length; i += 1) {
    previous = crypto
      .createHmac('sha256', prk)
      .update(Buffer.concat([previous, info, Buffer.from([i])]))
      .digest();
    blocks.push(previous);
  }
  return Buffer.concat(blocks).subarray(0, length);
}

function labeledExtract(suiteId, salt, label, ikm) {
  const labeled = Buffer.concat([Buffer.from('HPKE-v1'), suiteId, Buffer.from(label), ikm]);
  return hkdfExtract(salt, labeled);
}

function labeledExpand(suiteId, prk, label, info, length) {
  const labeled = Buffer.concat([
    i2osp(length, 2),
    Buffer.from('HPKE-v1'),
    suiteId,
    Buffer.from(label),
    info,
  ]);
  return hkdfExpand(prk, labeled, length);
}

const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

function x25519Private(raw) {
  return crypto.createPrivateKey({
    key: Buffer.concat([X25519_PKCS8_PREFIX, raw]),
    format: 'der',
    type: 'pkcs8',
  });
}

function x25519Public(raw) {
  check(raw.length === 32, `an X25519 public key must be 32 bytes, got ${raw.length}`);
  const jwk = { kty: 'OKP', crv: 'X25519', x: b64url(raw) };
  return crypto.createPublicKey({ key: jwk, format: 'jwk' });
}

function rawPublic(key) {
  return fromB64url(crypto.createPublicKey(key).export({ format: 'jwk' }).x);
}

// Returns {enc, ciphertext, key, baseNonce, sharedSecret}; `ephemeralRaw` only for test vectors.
function hpkeSealBase(recipientRaw, info, aad, plaintext, aead = 'aes-256-gcm', ephemeralRaw) {
  const { id: aeadId, nk } = AEADS[aead];
  const kemSuite = Buffer.concat([Buffer.from('KEM'), i2osp(HPKE_KEM_ID, 2)]);
  const hpkeSuite = Buffer.concat([
    Buffer.from('HPKE'),
    i2osp(HPKE_KEM_ID, 2),
    i2osp(HPKE_KDF_ID, 2),
    i2osp(aeadId, 2),
  ]);
  const pkR = x25519Public(recipientRaw);
  const skE = ephemeralRaw
    ? x25519Private(ephemeralRaw)
    : crypto.generateKeyPairSync('x25519').privateKey;
  const enc = rawPublic(skE);
  const dh = crypto.diffieHellman({ privateKey: skE, publicKey: pkR });
  const kemContext = Buffer.concat([enc, recipientRaw]);
  const eaePrk = labeledExtract(kemSuite, Buffer.alloc(0), 'eae_prk', dh);
  const sharedSecret = labeledExpand(kemSuite, eaePrk, 'shared_secret', kemContext, 32);
  const empty = Buffer.alloc(0);
  const pskIdHash = labeledExtract(hpkeSuite, empty, 'psk_id_hash', empty);
  const infoHash = labeledExtract(hpkeSuite, empty, 'info_hash', info);
  const context = Buffer.concat([Buffer.from([0x00]), pskIdHash, infoHash]);
  const secret = labeledExtract(hpkeSuite, sharedSecret, 'secret', empty);
  const key = labeledExpand(hpkeSuite, secret, 'key', context, nk);
  const baseNonce = labeledExpand(hpkeSuite, secret, 'base_nonce', context, 12);
  const cipher = crypto.createCipheriv(aead, key, baseNonce); // sequence 0: nonce = base_nonce
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { enc, ciphertext, key, baseNonce, sharedSecret };
}

// RFC 9180 A.1.1 (the same KEM and KDF; AES-128-GCM is the only X25519/SHA-256 AES vector
// in the RFC): proves the key schedule before anything is sealed with AES-256-GCM.
function hpkeSelfTest() {
  const hex = (s) => Buffer.from(s, 'hex');
  const out = hpkeSealBase(
    hex('3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d'),
    hex('4f6465206f6e2061204772656369616e2055726e'),
    hex('436f756e742d30'),
    hex('4265617574792069732074727574682c20747275746820626561757479'),
    'aes-128-gcm',
    hex('52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736'),
  );
  const expected = {
    enc: '37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431',
    sharedSecret: 'fe0e18c9f024ce43799ae393c7e8fe8fce9d218875e8227b0187c04e7d2ea1fc',
    key: '4531685d41d65f03dc48f6b8302c05b0',
    baseNonce: '56d890e5accaaf011cff4b7d',
    ciphertext:
      'f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a',
  };
  for (const [name, value] of Object.entries(expected)) {
    check(out[name].toString('hex') === value, `HPKE self-test (RFC 9180 A.1.1): ${name} differs`);
  }
}

const SEAL_INFO = Buffer.from('fieldhall/v1/seal');
const SEAL_ALG = 'HPKE-X25519-SHA256-A256GCM';

// Seals one string field of a document: aad = `<_id>#<JSON pointer of the field>`; the
// plaintext is the field's string value in UTF-8 (ARCHITECTURE does not say; see the report).
function sealField(hallKeyRaw, docId, pointer, value) {
  const aad = Buffer.from(`${docId}#${pointer}`, 'utf8');
  const { enc, ciphertext } = hpkeSealBase(hallKeyRaw, SEAL_INFO, aad, Buffer.from(value, 'utf8'));
  return { sealed: b64url(ciphertext), enc: b64url(enc), alg: SEAL_ALG };
}

// ---------------------------------------------------------------------------------------------
// Images: a tiny JPEG (made once with an ordinary encoder, 16x16 baseline) made unique per
// file by a COM segment, and PNGs drawn here (a signature stroke, zlib + CRC-32 by hand).

const JPEG_16x16 = Buffer.from(
  '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAoHBwgHBgoICAgLCgoLDhgQDg0NDh0VFhEYIx8lJCIfIiEmKzcvJik0KSEi' +
    'MEExNDk7Pj4+JS5ESUM8SDc9Pjv/2wBDAQoLCw4NDhwQEBw7KCIoOzs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7' +
    'Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozv/wAARCAAQABADASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAABQD/xAAeEAAA' +
    'BAcAAAAAAAAAAAAAAAAxdLPiMjQ1cXKxsv/EABUBAQEAAAAAAAAAAAAAAAAAAAUG/8QAHBEAAQMFAAAAAAAAAAAAAAAA' +
    'MXKx8AAycaHh/9oADAMBAAIRAxEAPwBKonF39ZRFThdVu7DThdVu7CrUTi7+sop21TdbIfKZqCv/2Q==',
  'base64',
);

function jpeg(label) {
  check(JPEG_16x16[0] === 0xff && JPEG_16x16[1] === 0xd8, 'embedded JPEG starts with SOI');
  const text = Buffer.from(`fieldhall compat ${label}`, 'utf8');
  const comment = Buffer.concat([Buffer.from([0xff, 0xfe]), i2osp(text.length + 2, 2), text]);
  return Buffer.concat([JPEG_16x16.subarray(0, 2), comment, JPEG_16x16.subarray(2)]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) {
    c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const byte of bytes) {
    c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type, data) {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  return Buffer.concat([i2osp(data.length, 4), body, i2osp(crc32(body), 4)]);
}

// An 80x30 8-bit greyscale PNG: white, with a wavy black stroke that depends on `seed`.
function png(seed) {
  const width = 80;
  const height = 30;
  const rows = [];
  for (let y = 0; y < height; y += 1) {
    const row = Buffer.alloc(width + 1, 0xff);
    row[0] = 0; // filter: none
    rows.push(row);
  }
  for (let x = 5; x < width - 5; x += 1) {
    const y = 15 + Math.round(8 * Math.sin((x + seed * 7) / 6));
    rows[y][x + 1] = 0;
    rows[Math.min(height - 1, y + 1)][x + 1] = 0;
  }
  const header = Buffer.concat([i2osp(width, 4), i2osp(height, 4), Buffer.from([8, 0, 0, 0, 0])]);
  return Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    pngChunk('IHDR', header),
    pngChunk('IDAT', zlib.deflateSync(Buffer.concat(rows))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

// ---------------------------------------------------------------------------------------------
// A JSON Schema 2020-12 validator for what the published schemas use: the portable form
// subset of ARCHITECTURE plus anyOf/allOf/oneOf/if-then-else, propertyNames and minItems.
// Returns a list of "<JSON pointer>: <problem>" strings (empty when valid).

const FORMATS = {
  date: /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/,
  'date-time': /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i,
};

function typeOf(value) {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return 'array';
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) ? 'integer' : 'number';
  }
  return typeof value;
}

function resolveRef(root, ref) {
  check(ref.startsWith('#/'), `only local $ref is expected in a published schema, got ${ref}`);
  let node = root;
  for (const part of ref.slice(2).split('/')) {
    node = node[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    check(node !== undefined, `unresolvable $ref ${ref}`);
  }
  return node;
}

function validate(schema, value, root = schema, path = '') {
  const errors = [];
  const here = path || '/';
  if (schema === true || schema === undefined) {
    return errors;
  }
  if (schema === false) {
    return [`${here}: not allowed`];
  }
  if (schema.$ref) {
    errors.push(...validate(resolveRef(root, schema.$ref), value, root, path));
  }
  const actual = typeOf(value);
  if (schema.type !== undefined) {
    const allowed = [].concat(schema.type);
    const ok = allowed.includes(actual) || (actual === 'integer' && allowed.includes('number'));
    if (!ok) {
      return [...errors, `${here}: is ${actual}, expected ${allowed.join('|')}`];
    }
  }
  if (schema.const !== undefined && canonicalize(schema.const) !== canonicalize(value)) {
    errors.push(`${here}: must be ${JSON.stringify(schema.const)}`);
  }
  if (schema.enum && !schema.enum.some((e) => canonicalize(e) === canonicalize(value))) {
    errors.push(`${here}: not one of ${JSON.stringify(schema.enum)}`);
  }
  if (actual === 'string') {
    const length = [...value].length;
    if (schema.minLength !== undefined && length < schema.minLength) {
      errors.push(`${here}: shorter than ${schema.minLength}`);
    }
    if (schema.maxLength !== undefined && length > schema.maxLength) {
      errors.push(`${here}: longer than ${schema.maxLength}`);
    }
    if (schema.pattern && !new RegExp(schema.pattern, 'u').test(value)) {
      errors.push(`${here}: does not match ${schema.pattern}`);
    }
    if (schema.format && FORMATS[schema.format] && !FORMATS[schema.format].test(value)) {
      errors.push(`${here}: not a ${schema.format}`);
    }
  }
  if (actual === 'integer' || actual === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) {
      errors.push(`${here}: below ${schema.minimum}`);
    }
    if (schema.maximum !== undefined && value > schema.maximum) {
      errors.push(`${here}: above ${schema.maximum}`);
    }
  }
  if (actual === 'array') {
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      errors.push(`${here}: fewer than ${schema.minItems} items`);
    }
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      errors.push(`${here}: more than ${schema.maxItems} items`);
    }
    if (schema.items) {
      value.forEach((item, i) => {
        errors.push(...validate(schema.items, item, root, `${path}/${i}`));
      });
    }
  }
  if (actual === 'object') {
    for (const name of schema.required || []) {
      if (!(name in value)) {
        errors.push(`${here}: missing required ${name}`);
      }
    }
    const properties = schema.properties || {};
    for (const [name, member] of Object.entries(value)) {
      const where = `${path}/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      if (schema.propertyNames) {
        errors.push(...validate(schema.propertyNames, name, root, `${where}(name)`));
      }
      if (name in properties) {
        errors.push(...validate(properties[name], member, root, where));
      } else if (schema.additionalProperties !== undefined) {
        errors.push(...validate(schema.additionalProperties, member, root, where));
      }
    }
  }
  for (const sub of schema.allOf || []) {
    errors.push(...validate(sub, value, root, path));
  }
  if (schema.anyOf && !schema.anyOf.some((sub) => validate(sub, value, root, path).length === 0)) {
    errors.push(`${here}: matches none of anyOf`);
  }
  if (schema.oneOf) {
    const matching = schema.oneOf.filter((sub) => validate(sub, value, root, path).length === 0);
    if (matching.length !== 1) {
      errors.push(`${here}: matches ${matching.length} of oneOf`);
    }
  }
  if (schema.if !== undefined) {
    const branch = validate(schema.if, value, root, path).length === 0 ? schema.then : schema.else;
    errors.push(...validate(branch, value, root, path));
  }
  return errors;
}

module.exports = {
  CheckFailed,
  b64url,
  check,
  clip,
  ed25519PublicKey,
  fromB64url,
  hpkeSelfTest,
  jpeg,
  newDeviceKey,
  nowRfc3339,
  png,
  sameJson,
  sealField,
  sha256Hex,
  sign,
  signedBytes,
  ulid,
  validate,
  verify,
};
