// Uploads one file with the stock tus-js-client (Node) and prints {"url": …} on success.
//   node tus_node_upload.js <endpoint> <bearer token> <file> [chunk size] [with-creation-data]
// Exits non-zero with "FAIL: …" on stderr when the upload fails for good.
'use strict'

const fs = require('fs')
const tus = require('tus-js-client')

const [endpoint, token, file, chunk, creationData] = process.argv.slice(2)
const data = fs.readFileSync(file)
const watchdog = setTimeout(() => {
  process.stderr.write('FAIL: the upload did not finish in 120 s\n')
  process.exit(3)
}, 120000)

const upload = new tus.Upload(data, {
  endpoint,
  headers: { Authorization: `Bearer ${token}` },
  chunkSize: chunk ? Number(chunk) : Infinity,
  uploadDataDuringCreation: creationData === 'with-creation-data',
  // The proxy cuts connections on purpose: retry many times, quickly.
  retryDelays: Array(300).fill(20),
  metadata: { filename: 'id_front.jpg', filetype: 'image/jpeg' },
  onError(error) {
    clearTimeout(watchdog)
    process.stderr.write(`FAIL: ${error}\n`)
    process.exit(1)
  },
  onSuccess() {
    clearTimeout(watchdog)
    process.stdout.write(JSON.stringify({ url: upload.url }) + '\n')
  },
})
upload.start()
