// An S3-compatible server for the tests: @20minutes/s3rver (which checks
// SigV4 signatures; keys S3RVER/S3RVER) on a free loopback port, behind a
// thin front that can answer as S3 does where s3rver does not:
//   --expired-token TOKEN     a request carrying this x-amz-security-token
//                             gets 400 ExpiredToken (repeatable)
//   --bucket-region B=REGION  a request for bucket B signed for another
//                             region gets 400 AuthorizationHeaderMalformed
//                             naming REGION (repeatable)
// Every request is logged to --log as one line:
//   METHOD PATH signing-region token=yes|no STATUS
// and the port is written to --port-file once it listens.
//
// Usage: node s3-server.js --dir DIR --port-file FILE [--log FILE]
//        [--expired-token T]... [--bucket-region B=R]... [BUCKET...]
'use strict'

const fs = require('node:fs')
const http = require('node:http')
const S3rver = require('@20minutes/s3rver')

function parseArgs(argv) {
  const o = { buckets: [], expired: new Set(), regions: new Map() }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`)
      return argv[++i]
    }
    if (a === '--dir') o.dir = next()
    else if (a === '--port-file') o.portFile = next()
    else if (a === '--log') o.log = next()
    else if (a === '--expired-token') o.expired.add(next())
    else if (a === '--bucket-region') {
      const [b, r] = next().split('=')
      o.regions.set(b, r)
    } else if (a.startsWith('--')) throw new Error(`unknown option ${a}`)
    else o.buckets.push(a)
  }
  if (!o.dir || !o.portFile) throw new Error('--dir and --port-file are required')
  return o
}

function xmlError(res, status, code, message, extra) {
  const fields = Object.entries(extra || {})
    .map(([k, v]) => `<${k}>${v}</${k}>`)
    .join('')
  res.writeHead(status, { 'Content-Type': 'application/xml' })
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code>` +
      `<Message>${message}</Message>${fields}</Error>`
  )
}

async function main() {
  const o = parseArgs(process.argv.slice(2))
  const s3 = new S3rver({
    directory: o.dir,
    silent: true,
    configureBuckets: o.buckets.map((name) => ({ name })),
  })
  await s3.configureBuckets()
  const inner = s3.callback()
  const log = o.log ? fs.createWriteStream(o.log, { flags: 'a' }) : null

  const server = http.createServer((req, res) => {
    const auth = req.headers.authorization || ''
    const m = /Credential=[^/]*\/[^/]*\/([^/]*)\//.exec(auth)
    const region = m ? m[1] : '-'
    const token = req.headers['x-amz-security-token']
    const bucket = decodeURIComponent(req.url.split('?')[0].split('/')[1] || '')
    res.on('finish', () => {
      if (log) {
        log.write(
          `${req.method} ${req.url} ${region} token=${token ? 'yes' : 'no'} ${res.statusCode}\n`
        )
      }
    })
    if (token && o.expired.has(token)) {
      xmlError(res, 400, 'ExpiredToken', 'The provided token has expired.')
      return
    }
    const want = o.regions.get(bucket)
    if (want && m && region !== want) {
      xmlError(
        res,
        400,
        'AuthorizationHeaderMalformed',
        `The authorization header is malformed; the region '${region}' is wrong; expecting '${want}'`,
        { Region: want }
      )
      return
    }
    inner(req, res)
  })
  server.listen(0, '127.0.0.1', () => {
    fs.writeFileSync(`${o.portFile}.tmp`, `${server.address().port}\n`)
    fs.renameSync(`${o.portFile}.tmp`, o.portFile)
  })
  const stop = () => server.close(() => process.exit(0))
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main().catch((err) => {
  console.error(`s3-server: ${err.message}`)
  process.exit(1)
})
