'use strict';
// Attachments: binary attachments of several KB, 64 KB and 1 MB, a text one, awkward names,
// an empty one and the same bytes in two documents are pushed from a local PouchDB; the
// server serves them raw byte-identical with CouchDB stubs (md5 digest, length, revpos),
// and inline as base64. A second revision adds and removes attachments; a fresh replica
// pulls everything byte-identical; a body-only edit made there (attachment kept as a stub)
// pushes back without touching the bytes. PouchDB's putAttachment/getAttachment/
// removeAttachment work directly on the server database. (That the server keeps the source's
// `revpos` across later revisions is attachment_revpos.js.)

const {
  check, checkEqual, localDb, md5Digest, pseudoRandomBytes, rawFetch, remoteDb, replicate, run,
  sha256, uniqueName,
} = require('./common');

const KB = 1024;
const BLOBS = {
  small: pseudoRandomBytes(4 * KB, 1),
  mid: pseudoRandomBytes(64 * KB, 2),
  big: pseudoRandomBytes(1024 * KB, 3),
  odd: pseudoRandomBytes(3 * KB + 7, 4),
  text: Buffer.from('Field report: pump station 7 inspected ✓\n'.repeat(200), 'utf8'),
  empty: Buffer.alloc(0),
  later: pseudoRandomBytes(10 * KB, 5),
};

function att(buffer, contentType = 'application/octet-stream') {
  return { content_type: contentType, data: buffer };
}

// doc id -> attachment name -> [blob key, content type]
const LAYOUT = {
  'photo-small': { 'small.png': ['small', 'image/png'] },
  'photo-mid': { 'mid.jpg': ['mid', 'image/jpeg'] },
  'photo-1mb': { 'big.bin': ['big', 'application/octet-stream'] },
  'note': { 'note.txt': ['text', 'text/plain'] },
  'multi/doc': {
    'scan 1.jpg': ['odd', 'image/jpeg'],
    'ünï.bin': ['small', 'application/octet-stream'],
    'empty.bin': ['empty', 'application/octet-stream'],
  },
  'shared-a': { 'same.bin': ['mid', 'application/octet-stream'] },
  'shared-b': { 'same.bin': ['mid', 'application/octet-stream'] },
};

function encodePath(id, name) {
  const docPart = id.startsWith('_design/') ? id : encodeURIComponent(id);
  return `${docPart}/${name.split('/').map(encodeURIComponent).join('/')}`;
}

async function rawAttachment(url, dbName, id, name, rev) {
  const query = rev ? `?rev=${encodeURIComponent(rev)}` : '';
  const response = await rawFetch(url, `/${dbName}/${encodePath(id, name)}${query}`);
  const bytes = Buffer.from(await response.arrayBuffer());
  return { status: response.status, type: response.headers.get('content-type'), bytes };
}

// Every attachment of `layout` on `db` is byte-identical to its blob, with a matching stub.
async function checkAttachments(db, layout, who) {
  for (const [id, atts] of Object.entries(layout)) {
    const doc = await db.get(id);
    checkEqual(Object.keys(doc._attachments || {}).sort(), Object.keys(atts).sort(),
      `${who}: attachment names of ${id}`);
    for (const [name, [key, type]] of Object.entries(atts)) {
      const expected = BLOBS[key];
      const stub = doc._attachments[name];
      check(stub.stub === true, `${who}: ${id}/${name} is a stub`, stub);
      checkEqual(stub.length, expected.length, `${who}: ${id}/${name} length`);
      checkEqual(stub.content_type, type, `${who}: ${id}/${name} content_type`);
      if (key !== 'text') {
        // Text may legitimately be stored compressed with the digest of the compressed bytes.
        checkEqual(stub.digest, md5Digest(expected), `${who}: ${id}/${name} digest`);
      }
      const data = await db.getAttachment(id, name);
      checkEqual(sha256(data), sha256(expected), `${who}: ${id}/${name} bytes (sha256)`);
      check(Buffer.compare(data, expected) === 0, `${who}: ${id}/${name} bytes differ`);
    }
  }
}

function stubsOf(doc) {
  const out = {};
  for (const [name, a] of Object.entries(doc._attachments || {})) {
    out[name] = { digest: a.digest, length: a.length, revpos: a.revpos, type: a.content_type };
  }
  return out;
}

run('attachments', async (url) => {
  const dbName = uniqueName('attachments');
  const server = remoteDb(url, dbName);
  const local = localDb('attachments');
  for (const [id, atts] of Object.entries(LAYOUT)) {
    const doc = { _id: id, kind: 'attachment-test', _attachments: {} };
    for (const [name, [key, type]] of Object.entries(atts)) {
      doc._attachments[name] = att(BLOBS[key], type);
    }
    await local.put(doc);
  }

  const push = await replicate(local, server);
  checkEqual(push.docs_written, Object.keys(LAYOUT).length, 'first push docs_written');
  await checkAttachments(server, LAYOUT, 'server');

  // The server's raw bytes, with and without ?rev=, and its stubs equal the local ones.
  for (const [id, atts] of Object.entries(LAYOUT)) {
    const localDoc = await local.get(id);
    const serverDoc = await server.get(id);
    checkEqual(serverDoc._rev, localDoc._rev, `rev of ${id}`);
    const localStubs = stubsOf(localDoc);
    const serverStubs = stubsOf(serverDoc);
    for (const [name, [key, type]] of Object.entries(atts)) {
      if (key !== 'text') {
        checkEqual(serverStubs[name], localStubs[name], `stub of ${id}/${name}`);
      }
      for (const rev of [undefined, serverDoc._rev]) {
        const raw = await rawAttachment(url, dbName, id, name, rev);
        checkEqual(raw.status, 200, `raw GET ${id}/${name} rev=${rev}`);
        check(raw.type && raw.type.startsWith(type), `raw content-type of ${id}/${name}`, raw.type);
        check(Buffer.compare(raw.bytes, BLOBS[key]) === 0,
          `raw bytes of ${id}/${name} (rev=${rev}) differ`, { got: raw.bytes.length });
      }
    }
  }
  const inline = await server.get('photo-mid', { attachments: true });
  checkEqual(sha256(Buffer.from(inline._attachments['mid.jpg'].data, 'base64')),
    sha256(BLOBS.mid), 'inline base64 of photo-mid');

  // Second revision of multi/doc: add one attachment, remove another, edit the body.
  const multi = await local.get('multi/doc');
  delete multi._attachments['empty.bin'];
  multi._attachments['later.bin'] = att(BLOBS.later);
  multi.edited = true;
  const multiV2 = await local.put(multi);
  const layout2 = { ...LAYOUT, 'multi/doc': { ...LAYOUT['multi/doc'] } };
  delete layout2['multi/doc']['empty.bin'];
  layout2['multi/doc']['later.bin'] = ['later', 'application/octet-stream'];
  await replicate(local, server);
  await checkAttachments(server, layout2, 'server after v2');
  const multiOnServer = await server.get('multi/doc');
  checkEqual(multiOnServer._rev, multiV2.rev, 'multi/doc v2 rev on server');
  checkEqual(multiOnServer._attachments['later.bin'].revpos, 2, 'added attachment revpos');
  const removed = await rawAttachment(url, dbName, 'multi/doc', 'empty.bin');
  checkEqual(removed.status, 404, 'removed attachment is 404 on the current rev');

  // A fresh replica pulls everything byte-identical.
  const fresh = localDb('attachments-fresh');
  const pull = await replicate(server, fresh);
  checkEqual(pull.docs_written, Object.keys(LAYOUT).length, 'pull docs_written');
  await checkAttachments(fresh, layout2, 'fresh replica');

  // Body-only edit on the fresh replica: the 1 MB attachment travels back as a stub.
  const big = await fresh.get('photo-1mb');
  const bigV2 = await fresh.put({ ...big, caption: 'pump 7' });
  const back = await replicate(fresh, server);
  checkEqual(back.docs_written, 1, 'body-only edit push docs_written');
  const bigOnServer = await server.get('photo-1mb');
  checkEqual(bigOnServer._rev, bigV2.rev, 'body-only edit rev on server');
  checkEqual(bigOnServer.caption, 'pump 7', 'body-only edit content on server');
  const rawBig = await rawAttachment(url, dbName, 'photo-1mb', 'big.bin');
  checkEqual(sha256(rawBig.bytes), sha256(BLOBS.big), '1 MB attachment after body-only edit');

  // PouchDB's own attachment API on the server database (raw PUT/GET/DELETE of
  // /db/doc/name with ?rev=), binary in and out.
  const direct = await server.put({ _id: 'direct' });
  const putAtt = await server.putAttachment('direct', 'raw 1.bin', direct.rev, BLOBS.odd,
    'application/octet-stream');
  const gotAtt = await server.getAttachment('direct', 'raw 1.bin');
  check(Buffer.compare(gotAtt, BLOBS.odd) === 0, 'putAttachment/getAttachment on the server');
  const gotAtRev = await server.getAttachment('direct', 'raw 1.bin', { rev: putAtt.rev });
  check(Buffer.compare(gotAtRev, BLOBS.odd) === 0, 'getAttachment with rev on the server');
  const removedAtt = await server.removeAttachment('direct', 'raw 1.bin', putAtt.rev);
  checkEqual(removedAtt.rev.split('-')[0], '3', 'removeAttachment makes generation 3');
  checkEqual((await server.get('direct'))._attachments, undefined, 'attachment removed');

  return {
    docs: Object.keys(LAYOUT).length,
    attachments: Object.values(layout2).reduce((n, atts) => n + Object.keys(atts).length, 0),
    big_digest: bigOnServer._attachments['big.bin'].digest,
    big_length: bigOnServer._attachments['big.bin'].length,
  };
});
