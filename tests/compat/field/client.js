'use strict';
// A third-party field app written from ../shared/ARCHITECTURE.md alone (plus the JSON Schemas
// and the catalog the server publishes): npm canonicalize (RFC 8785), Node's Ed25519 and
// X25519, stock PouchDB 9 (memory adapter locally, its http adapter for the server).
//
//   node tests/compat/field/client.js <server base URL> <enrollment code>
//
// It enrolls a device, files signed cases with photos (and a supplement) on a hash chain,
// pushes them with PouchDB, pulls its channel back, verifies the server's receipts, checks
// that a tampered document is refused and that an identical re-send is a no-op. It prints one
// JSON summary line and exits 0; on any failure it prints "FAIL: ..." on stderr and exits
// non-zero (1: a check failed; 2: usage; 3: a package is missing; 4: watchdog).

const crypto = require('node:crypto');
const lib = require('./lib');

const { check } = lib;

let PouchDB;
try {
  PouchDB = require('pouchdb');
  PouchDB.plugin(require('pouchdb-adapter-memory'));
} catch (err) {
  process.stderr.write(
    `FAIL: cannot load pouchdb / pouchdb-adapter-memory (${err.message}); run \`npm ci\`\n`,
  );
  process.exit(3);
}

const WATCHDOG_MS = 60000;
const RECEIPT_WAIT_MS = 15000;

// ---------------------------------------------------------------------------------------------
// HTTP

async function http(method, url, { body, token } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
  }
  if (token) {
    headers.Authorization = `Bearer ${token}`;
  }
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, body: json, text };
}

async function getJson(url, options) {
  const res = await http('GET', url, options);
  check(res.status === 200 && res.body, `GET ${url}: ${res.status} ${lib.clip(res.text, 300)}`);
  return res.body;
}

// ---------------------------------------------------------------------------------------------
// The device

class FieldApp {
  constructor(server) {
    this.server = server;
    this.requests = [];
    this.seq = 0; // the last device_seq used
    this.prevHash = null; // sha256 hex of the previous document's signed bytes
    this.sent = new Map(); // _id -> {doc, bytes, attachments: {name: sha256}}
  }

  async loadPublic() {
    this.catalog = await getJson(`${this.server}/api/v1/catalog`);
    this.schemas = {};
    for (const type of ['case', 'supplement', 'receipt']) {
      this.schemas[type] = await getJson(`${this.server}/api/v1/schemas/${type}`);
      check(
        this.schemas[type].$schema === 'https://json-schema.org/draft/2020-12/schema',
        `schema ${type} is not JSON Schema 2020-12`,
      );
    }
    const keys = await getJson(`${this.server}/api/v1/keys`);
    check(Array.isArray(keys.keys) && keys.keys.length > 0, 'GET /api/v1/keys lists no key', keys);
    this.serverKeys = new Map();
    for (const key of keys.keys) {
      const raw = lib.fromB64url(key.public_key);
      check(
        key.key_id === lib.sha256Hex(raw).slice(0, 16),
        'key_id is not the first 16 hex digits of SHA-256 of the raw key',
        key,
      );
      this.serverKeys.set(`server:${key.key_id}`, lib.ed25519PublicKey(raw));
    }
  }

  async enroll(code, name) {
    this.key = lib.newDeviceKey();
    const body = { code, public_key: lib.b64url(this.key.publicRaw), name };
    const res = await http('POST', `${this.server}/api/v1/devices/enroll`, { body });
    check(res.status >= 200 && res.status < 300, `enroll: ${res.status} ${res.text}`);
    const reply = res.body;
    for (const field of [
      'device_id',
      'agent_id',
      'grid_id',
      'station_id',
      'token',
      'sync_url',
      'server_signing_key',
      'server_key_id',
      'hall_encryption_key',
    ]) {
      check(field in reply, `enroll reply lacks ${field}`, reply);
    }
    check(
      /^https?:\/\//.test(reply.sync_url) && !reply.sync_url.endsWith('/'),
      'sync_url must be absolute, without a trailing slash',
      reply.sync_url,
    );
    const signing = lib.fromB64url(reply.server_signing_key);
    check(
      reply.server_key_id === lib.sha256Hex(signing).slice(0, 16) &&
        this.serverKeys.has(`server:${reply.server_key_id}`),
      'enroll: server_key_id does not match server_signing_key or GET /api/v1/keys',
      reply,
    );
    this.hallKey = lib.fromB64url(reply.hall_encryption_key);
    check(this.hallKey.length === 32, 'hall_encryption_key is not 32 raw X25519 bytes');
    Object.assign(this, {
      deviceId: reply.device_id,
      agentId: reply.agent_id,
      gridId: reply.grid_id,
      stationId: reply.station_id,
      token: reply.token,
      syncUrl: reply.sync_url,
    });
    const again = await http('POST', `${this.server}/api/v1/devices/enroll`, {
      body: { ...body, public_key: lib.b64url(lib.newDeviceKey().publicRaw) },
    });
    check(
      again.status >= 400 && again.status < 500,
      `a spent enrollment code must get 4xx, got ${again.status}`,
    );
    return { spent_code_status: again.status };
  }

  remote() {
    return new PouchDB(this.syncUrl, {
      fetch: (url, opts) => {
        opts.headers.set('Authorization', `Bearer ${this.token}`);
        const parsed = new URL(url);
        this.requests.push(`${opts.method || 'GET'} ${parsed.pathname}`);
        return PouchDB.fetch(url, opts);
      },
    });
  }

  // Chains, signs and returns a device document; `files` are [{name, bytes, content_type,
  // material_id}] and become its `materials` manifest and its `_attachments`.
  file(doc, files, { location = null } = {}) {
    const capturedAt = lib.nowRfc3339();
    if (files.length || doc.type === 'case' || doc.type === 'supplement') {
      doc.materials = files.map((f) => ({
        name: f.name,
        material_id: f.material_id,
        sha256: lib.sha256Hex(f.bytes),
        length: f.bytes.length,
        content_type: f.content_type,
        captured_at: capturedAt,
        location,
      }));
    }
    doc.agent_id = this.agentId;
    doc.device_id = this.deviceId;
    doc.created_at = lib.nowRfc3339();
    doc.device_seq = this.seq + 1;
    doc.prev_hash = this.prevHash;
    const bytes = lib.sign(doc, this.deviceId, this.key.privateKey);
    this.seq += 1;
    this.prevHash = lib.sha256Hex(bytes);
    const attachments = {};
    const stored = {};
    for (const f of files) {
      attachments[f.name] = { content_type: f.content_type, data: f.bytes.toString('base64') };
      stored[f.name] = lib.sha256Hex(f.bytes);
    }
    const schema = this.schemas[doc.type];
    if (schema) {
      const problems = lib.validate(schema, doc);
      check(problems.length === 0, `${doc._id} does not match the published schema`, problems);
    }
    this.sent.set(doc._id, { doc: structuredClone(doc), bytes, attachments: stored });
    return { ...doc, _attachments: attachments };
  }

  matter(id) {
    const matter = this.catalog.matters.find((m) => m.id === id);
    check(matter, `matter ${id} is not in catalog ${this.catalog.version}`);
    return matter;
  }

  // A case for `matterId`: the form is checked against the matter's form schema and each
  // file's material against the matter's materials (accepted types, max count).
  newCase({ id, matterId, applicant, form, files, consentFile, seal, location }) {
    const matter = this.matter(matterId);
    const problems = lib.validate(matter.form_schema, form);
    check(problems.length === 0, `form for ${matterId} does not match its form_schema`, problems);
    const all = [...files, consentFile];
    for (const material of matter.materials) {
      const mine = all.filter((f) => f.material_id === material.id);
      check(mine.length <= material.max_count, `${matterId}: too many ${material.id} files`);
      for (const f of mine) {
        check(material.accept.includes(f.content_type), `${matterId}: ${f.name} type refused`);
      }
      check(
        !material.required || material.deferrable || mine.length > 0,
        `${matterId}: required material ${material.id} missing`,
      );
    }
    check(matter.channels.includes('home_visit'), `${matterId} is not a home_visit matter`);
    const docId = id || `case:${lib.ulid()}`;
    const sealed = { ...applicant };
    if (seal) {
      for (const field of ['id_number', 'phone']) {
        sealed[field] = lib.sealField(this.hallKey, docId, `/applicant/${field}`, applicant[field]);
      }
    }
    const where = location || { lat: 32.68, lon: 109.03, accuracy_m: 15 };
    return this.file(
      {
        _id: docId,
        type: 'case',
        contract: 1,
        matter: { id: matterId, catalog_version: this.catalog.version },
        channel: 'home_visit',
        grid_id: this.gridId,
        station_id: this.stationId,
        request_id: null,
        applicant: sealed,
        form,
        consent: { attachment: consentFile.name, signed_at: lib.nowRfc3339() },
        location: where,
      },
      all,
      { location: where },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Replication helpers

function replicationSummary(result) {
  return {
    ok: result.ok,
    status: result.status,
    docs_read: result.docs_read,
    docs_written: result.docs_written,
    doc_write_failures: result.doc_write_failures,
    errors: (result.errors || []).map((e) => ({
      id: e.id,
      error: e.error || e.name,
      reason: e.reason,
    })),
  };
}

async function push(local, remote, expected) {
  const result = await PouchDB.replicate(local, remote);
  const summary = replicationSummary(result);
  check(
    result.status === 'complete' &&
      result.doc_write_failures === 0 &&
      result.docs_written === expected,
    `push: expected ${expected} documents written and no failure`,
    summary,
  );
  return summary;
}

async function pull(remote, local) {
  const result = await PouchDB.replicate(remote, local);
  check(
    result.status === 'complete' && result.doc_write_failures === 0,
    'pull did not complete cleanly',
    replicationSummary(result),
  );
  return result;
}

async function allDocs(db) {
  const res = await db.allDocs({ include_docs: true });
  return res.rows.map((row) => row.doc);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Pulls until a receipt for every id in `ids` is in `local` (bounded); returns them by id.
async function receiptsFor(app, remote, local, ids) {
  const deadline = Date.now() + RECEIPT_WAIT_MS;
  for (let attempt = 0; attempt < 100; attempt += 1) {
    await pull(remote, local);
    const found = new Map();
    for (const doc of await allDocs(local)) {
      if (doc.type === 'receipt' && doc.for && ids.includes(doc.for.id)) {
        check(!found.has(doc.for.id), `two receipts for ${doc.for.id}`);
        found.set(doc.for.id, doc);
      }
    }
    if (found.size === ids.length) {
      return found;
    }
    check(Date.now() < deadline, `no receipt within ${RECEIPT_WAIT_MS} ms for some of ${ids}`, [
      ...found.keys(),
    ]);
    await sleep(200);
  }
  throw new lib.CheckFailed('receipt wait loop exhausted');
}

// A receipt: the published shape, a valid server signature, and exactly what we sent.
function verifyReceipt(app, receipt, rev) {
  const problems = lib.validate(app.schemas.receipt, receipt);
  check(problems.length === 0, `${receipt._id} does not match the receipt schema`, problems);
  const kid = receipt.signature && receipt.signature.kid;
  const key = app.serverKeys.get(kid);
  check(key, `receipt ${receipt._id} is signed by unknown key ${kid}`);
  check(lib.verify(receipt, key), `receipt ${receipt._id}: server signature does not verify`);
  const sent = app.sent.get(receipt.for.id);
  check(receipt.for.rev === rev, `receipt for ${receipt.for.id} names rev ${receipt.for.rev}`, rev);
  check(
    receipt.for.sha256 === lib.sha256Hex(sent.bytes),
    `receipt for ${receipt.for.id}: sha256 is not that of the signed bytes we sent`,
    { receipt: receipt.for.sha256, ours: lib.sha256Hex(sent.bytes) },
  );
  check(
    lib.sameJson(receipt.attachments, sent.attachments),
    `receipt for ${receipt.for.id}: attachments differ from ours`,
    { receipt: receipt.attachments, ours: sent.attachments },
  );
  check(
    receipt.agent_id === app.agentId && receipt.device_id === app.deviceId,
    `receipt ${receipt._id} names another agent or device`,
  );
  const caseId = sent.doc.type === 'case' ? sent.doc._id : sent.doc.case_id;
  check(receipt.case_id === caseId, `receipt ${receipt._id}: case_id ${receipt.case_id}`, caseId);
}

// ---------------------------------------------------------------------------------------------
// The scenario

const APPLICANTS = [
  {
    name: '张桂兰',
    id_number: '610902194501010023',
    phone: '13800000000',
    address: '汉滨区新城街道南环社区3号楼',
  },
  {
    name: '李德福',
    id_number: '61090219380315003X',
    phone: '0915-3212345',
    address: '汉滨区江北街道滨江社区12号',
  },
  {
    // A CJK Extension B character (outside the BMP), as in some real names.
    name: '陈𠇔',
    id_number: '610902196101020017',
    phone: '15912345678',
    address: '汉滨区老城街道西城社区7号',
  },
];

function jpegFile(name, materialId, label) {
  return { name, bytes: lib.jpeg(label), content_type: 'image/jpeg', material_id: materialId };
}

function pngFile(name, materialId, seed) {
  return { name, bytes: lib.png(seed), content_type: 'image/png', material_id: materialId };
}

// A UUIDv7 (RFC 9562): 48-bit ms timestamp, version 7, variant 10, random bits.
function uuidv7() {
  const bytes = crypto.randomBytes(16);
  bytes.writeUIntBE(Date.now(), 0, 6);
  bytes[6] = (bytes[6] & 0x0f) | 0x70;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// The three cases of the chain (device_seq 1, 2, 3).
function fileCases(app) {
  const case1 = app.newCase({
    matterId: 'senior_citizen_card',
    applicant: APPLICANTS[0],
    form: {
      birth_date: '1945-01-01',
      household_type: '本地户籍',
      residence_address: '汉滨区新城街道南环社区3号楼2单元',
      emergency_contact: { name: '王建国', relation: '子女', phone: '13900000001' },
      photo_on_site: true,
    },
    files: [
      jpegFile('id_front.jpg', 'id_card', 'case 1 id front'),
      pngFile('id_back.png', 'id_card', 1),
      jpegFile('portrait.jpg', 'photo', 'case 1 portrait'),
    ],
    consentFile: pngFile('consent.png', 'consent_signature', 2),
    seal: true,
  });
  // 容缺: the household register (deferrable) will follow later.
  const case2 = app.newCase({
    matterId: 'old_age_allowance',
    applicant: APPLICANTS[1],
    form: {
      birth_date: '1938-03-15',
      age: 88,
      household_address: '汉滨区江北街道滨江社区12号',
      bank_name: '安康农商银行',
      bank_account: '6230000012345678901',
      account_holder: '李德福',
      receives_other_allowance: false,
    },
    files: [
      jpegFile('id_front.jpg', 'id_card', 'case 2 id front'),
      jpegFile('bank_card.jpg', 'bank_card', 'case 2 bank card'),
    ],
    consentFile: pngFile('signature.png', 'consent_signature', 5),
    seal: false,
  });
  // A UUIDv7 id, a float that needs ECMAScript number formatting, non-ASCII attachment
  // names whose RFC 8785 order (UTF-16 code units) differs from code point order.
  const case3 = app.newCase({
    id: `case:${uuidv7()}`,
    matterId: 'senior_bus_card',
    applicant: APPLICANTS[2],
    form: {
      card_type: '爱心卡（65周岁及以上）',
      birth_date: '1961-01-02',
      pickup_station: '老城公交站',
    },
    files: [
      jpegFile('身份证😀.jpg', 'id_card', 'case 3 id front'),
      pngFile('身份证ﬀ.png', 'id_card', 7),
      jpegFile('照片.jpg', 'photo', 'case 3 portrait'),
    ],
    consentFile: pngFile('签名.png', 'consent_signature', 8),
    location: { lat: 32.684999999999995, lon: 109.03000000000001, accuracy_m: 4.5 },
    seal: true,
  });
  return [case1, case2, case3];
}

async function scenario(server, code) {
  lib.hpkeSelfTest();
  const app = new FieldApp(server);
  await app.loadPublic();
  const enrollment = await app.enroll(code, 'compat-node-field-app');
  const summary = {
    device_id: app.deviceId,
    agent_id: app.agentId,
    catalog_version: app.catalog.version,
    spent_code_status: enrollment.spent_code_status,
  };

  const anonymous = await http('GET', app.syncUrl);
  check(
    anonymous.status === 401 && anonymous.body && anonymous.body.error === 'unauthorized',
    `GET sync_url without a token must be 401 unauthorized, got ${anonymous.status}`,
    anonymous.text,
  );
  summary.no_token_status = anonymous.status;

  const remote = app.remote();
  const local = new PouchDB(`field-app-${crypto.randomUUID()}`, { adapter: 'memory' });

  // 1. Three signed cases with photos on the device chain, pushed by PouchDB.
  const cases = fileCases(app);
  const revs = new Map();
  for (const doc of cases) {
    revs.set(doc._id, (await local.put(doc)).rev);
  }
  summary.chain = cases.map((doc) => [doc._id, doc.device_seq, doc.prev_hash]);
  summary.sealed_fields = cases.filter((d) => typeof d.applicant.id_number === 'object').length * 2;
  summary.push = await push(local, remote, cases.length);

  // 2. Pull the device's channel back: a server-signed receipt for each document.
  const ids = cases.map((doc) => doc._id);
  const receipts = await receiptsFor(app, remote, local, ids);
  for (const [id, receipt] of receipts) {
    verifyReceipt(app, receipt, revs.get(id));
  }
  summary.receipts_verified = receipts.size;
  summary.receipt_kids = [...new Set([...receipts.values()].map((r) => r.signature.kid))];

  // The server keeps what was signed: same signed bytes, same attachment bytes.
  let attachmentsChecked = 0;
  for (const id of ids) {
    const sent = app.sent.get(id);
    const docUrl = `${app.syncUrl}/${encodeURIComponent(id)}`;
    const stored = await http('GET', docUrl, { token: app.token });
    check(stored.status === 200, `GET ${id}: ${stored.status}`, stored.text);
    check(
      lib.signedBytes(stored.body).equals(sent.bytes) && stored.body._rev === revs.get(id),
      `the server's ${id} is not the document we signed`,
    );
    for (const [name, digest] of Object.entries(sent.attachments)) {
      const url = `${app.syncUrl}/${encodeURIComponent(id)}/${encodeURIComponent(name)}`;
      const response = await fetch(url, { headers: { Authorization: `Bearer ${app.token}` } });
      const bytes = Buffer.from(await response.arrayBuffer());
      check(
        response.status === 200 && lib.sha256Hex(bytes) === digest,
        `attachment ${id}/${name} differs on the server (${response.status})`,
      );
      attachmentsChecked += 1;
    }
  }
  summary.attachments_verified = attachmentsChecked;
  const types = {};
  for (const doc of await allDocs(local)) {
    types[doc.type] = (types[doc.type] || 0) + 1;
  }
  summary.channel_types = types;

  // 3. A tampered document (signed, then a field changed) is refused as `forbidden`, and
  // nothing of it is stored. It is the last of the chain (device_seq 4 stays a gap).
  const tampered = app.newCase({
    matterId: 'senior_citizen_card',
    applicant: { name: '赵六', id_number: '610902195002020016' },
    form: {
      birth_date: '1950-02-02',
      household_type: '本地户籍',
      residence_address: '汉滨区老城街道1号',
    },
    files: [
      jpegFile('id_front.jpg', 'id_card', 'tampered id'),
      jpegFile('portrait.jpg', 'photo', 'tampered portrait'),
    ],
    consentFile: pngFile('consent.png', 'consent_signature', 9),
  });
  tampered.applicant.name = '赵七';
  await local.put(tampered);
  const denied = [];
  const replication = PouchDB.replicate(local, remote);
  replication.on('denied', (err) => denied.push(err));
  const refused = replicationSummary(await replication);
  check(
    refused.docs_written === 0 &&
      refused.doc_write_failures === 1 &&
      refused.errors.length === 1 &&
      refused.errors[0].id === tampered._id &&
      refused.errors[0].error === 'forbidden' &&
      /^bad_signature: /.test(refused.errors[0].reason || '') &&
      denied.length === 1,
    'a tampered document must be refused with forbidden / bad_signature',
    { refused, denied: denied.length },
  );
  const ghost = await http('GET', `${app.syncUrl}/${encodeURIComponent(tampered._id)}`, {
    token: app.token,
  });
  check(ghost.status === 404, `refused ${tampered._id} must not be stored (GET ${ghost.status})`);
  summary.tampered = { ...refused.errors[0], get_status: ghost.status };

  // 4. An identical re-send is a successful no-op: a reinstalled app (random rev ids)
  // replicates the same signed case and attachments again.
  const first = cases[0];
  const reinstall = new PouchDB(`field-app-${crypto.randomUUID()}`, {
    adapter: 'memory',
    deterministic_revs: false,
  });
  const { _rev: firstRev, ...firstBody } = await local.get(first._id, { attachments: true });
  const resentRev = (await reinstall.put(firstBody)).rev;
  check(resentRev !== firstRev, 'the re-sent copy must carry a new rev id to test the server');
  const resend = await push(reinstall, remote, 1);
  const leaves = await http(
    'GET',
    `${app.syncUrl}/${encodeURIComponent(first._id)}?open_revs=all`,
    { token: app.token },
  );
  check(leaves.status === 200 && Array.isArray(leaves.body), `open_revs=all: ${leaves.status}`);
  const leafRevs = leaves.body.map((leaf) => (leaf.ok ? leaf.ok._rev : leaf.missing));
  check(
    leafRevs.length === 1 && leafRevs[0] === firstRev,
    'an identical re-send must not create a second revision',
    leafRevs,
  );
  // A plain PUT of the same signed body (a retry without a rev) also succeeds as a no-op.
  const attachments = {};
  for (const [name, att] of Object.entries(firstBody._attachments)) {
    attachments[name] = { content_type: att.content_type, data: att.data };
  }
  const put = await http('PUT', `${app.syncUrl}/${encodeURIComponent(first._id)}`, {
    token: app.token,
    body: { ...app.sent.get(first._id).doc, _attachments: attachments },
  });
  check(
    put.status >= 200 && put.status < 300 && put.body && put.body.rev === firstRev,
    'a PUT re-sending identical signed bytes must succeed without a new revision',
    put.text,
  );
  const afterResend = await receiptsFor(app, remote, local, ids);
  const receiptCount = (await allDocs(local)).filter(
    (doc) => doc.type === 'receipt' && doc.for.id === first._id,
  ).length;
  check(receiptCount === 1, `re-sends must not add receipts for ${first._id}`, receiptCount);
  check(afterResend.get(first._id)._id === receipts.get(first._id)._id, 'the receipt changed');
  const pulled = replicationSummary(await PouchDB.replicate(remote, reinstall));
  const mine = await reinstall.get(first._id, { conflicts: true });
  summary.resend = {
    docs_written: resend.docs_written,
    doc_write_failures: resend.doc_write_failures,
    server_leaves: leafRevs.length,
    put_status: put.status,
    receipts_for_doc: receiptCount,
    // What a stock replicator ends up with locally: its own rev was never stored.
    reinstall_pull_docs: pulled.docs_written,
    reinstall_local_conflicts: (mine._conflicts || []).length,
  };
  summary.requests = app.requests.length;
  return summary;
}

function describe(err) {
  if (err instanceof lib.CheckFailed) {
    return err.message;
  }
  const fields = {};
  for (const key of ['status', 'name', 'error', 'reason', 'message', 'id']) {
    if (err && err[key] !== undefined) {
      fields[key] = err[key];
    }
  }
  return `unexpected error: ${JSON.stringify(fields)}\n${err && err.stack ? err.stack : err}`;
}

function main() {
  const [server, code] = process.argv.slice(2);
  if (!server || !code) {
    process.stderr.write('FAIL: usage: node client.js <server base URL> <enrollment code>\n');
    process.exit(2);
  }
  const watchdog = setTimeout(() => {
    process.stderr.write(`FAIL: field client: watchdog expired after ${WATCHDOG_MS} ms\n`);
    process.exit(4);
  }, WATCHDOG_MS);
  scenario(server.replace(/\/+$/, ''), code).then(
    (summary) => {
      clearTimeout(watchdog);
      const line = JSON.stringify({ scenario: 'field-client', ok: true, ...summary });
      process.stdout.write(`${line}\n`);
      process.exit(0);
    },
    (err) => {
      clearTimeout(watchdog);
      process.stderr.write(`FAIL: field client: ${describe(err)}\n`);
      process.exit(1);
    },
  );
}

if (require.main === module) {
  main();
} else {
  module.exports = { FieldApp, PouchDB, http, push, pull, receiptsFor, replicationSummary };
}
