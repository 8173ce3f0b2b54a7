// Uploads one file to the test S3 server with a SigV4-signed PUT, signed
// here independently of the product's signer (node's crypto), so that
// the tests' objects do not depend on the code under test.
//
// Usage: node s3-put.js ENDPOINT BUCKET KEY FILE
// The key is taken byte for byte; keys S3RVER/S3RVER, region us-east-1
// unless S3_PUT_REGION is set.
'use strict'

const crypto = require('node:crypto')
const fs = require('node:fs')
const http = require('node:http')

const [endpoint, bucket, key, file] = process.argv.slice(2)
if (!file) {
  console.error('usage: node s3-put.js ENDPOINT BUCKET KEY FILE')
  process.exit(2)
}
const region = process.env.S3_PUT_REGION || 'us-east-1'
const access = 'S3RVER'
const secret = 'S3RVER'

const rfc3986 = (s) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
const sha256 = (data) => crypto.createHash('sha256').update(data).digest('hex')
const hmac = (k, data) => crypto.createHmac('sha256', k).update(data).digest()

const body = fs.readFileSync(file)
const url = new URL(endpoint)
const path = `/${rfc3986(bucket)}/${key.split('/').map(rfc3986).join('/')}`
const now = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '')
const day = now.slice(0, 8)
const headers = {
  host: url.host,
  'x-amz-content-sha256': sha256(body),
  'x-amz-date': now,
}
const names = Object.keys(headers).sort()
const canonical = [
  'PUT',
  path,
  '',
  ...names.map((n) => `${n}:${headers[n]}`),
  '',
  names.join(';'),
  headers['x-amz-content-sha256'],
].join('\n')
const scope = `${day}/${region}/s3/aws4_request`
const toSign = ['AWS4-HMAC-SHA256', now, scope, sha256(canonical)].join('\n')
let k = hmac(`AWS4${secret}`, day)
for (const part of [region, 's3', 'aws4_request']) k = hmac(k, part)
const signature = crypto.createHmac('sha256', k).update(toSign).digest('hex')
headers.authorization =
  `AWS4-HMAC-SHA256 Credential=${access}/${scope}, ` +
  `SignedHeaders=${names.join(';')}, Signature=${signature}`
headers['content-length'] = body.length

const req = http.request(
  { host: url.hostname, port: url.port, method: 'PUT', path, headers },
  (res) => {
    let text = ''
    res.on('data', (d) => {
      text += d
    })
    res.on('end', () => {
      if (res.statusCode !== 200) {
        console.error(`s3-put: ${bucket}/${key}: HTTP ${res.statusCode} ${text}`)
        process.exit(1)
      }
    })
  }
)
req.on('error', (err) => {
  console.error(`s3-put: ${err.message}`)
  process.exit(1)
})
req.end(body)
