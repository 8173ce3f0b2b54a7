// Stand-ins for the AWS credential services, on a free loopback port:
//   --mode container   the ECS container credentials endpoint: a GET
//                      whose Authorization header must equal --token;
//                      answers the JSON with AccessKeyId,
//                      SecretAccessKey, Token and Expiration
//   --mode sts         STS AssumeRoleWithWebIdentity: a POST whose form
//                      must carry WebIdentityToken = --token and
//                      RoleArn = --role-arn; answers the XML
// The keys handed out are S3RVER/S3RVER, which the test S3 server
// accepts; the session token is "stand-in-token-N", N counting the
// answers from 1.  The expiry is now + the seconds read from
// --expires-file at each request (default 3600; negative for credentials
// already expired), so a test can change it while the server runs.
// Each request is logged to --log as "METHOD PATH STATUS".
//
// Usage: node aws-stand-in.js --mode container|sts --port-file FILE
//        --token TOKEN [--role-arn ARN] [--expires-file FILE] [--log FILE]
'use strict'

const fs = require('node:fs')
const http = require('node:http')

const o = {}
const argv = process.argv.slice(2)
for (let i = 0; i < argv.length; i += 2) {
  const name = argv[i].replace(/^--/, '')
  if (i + 1 >= argv.length) {
    console.error(`aws-stand-in: ${argv[i]} needs a value`)
    process.exit(2)
  }
  o[name] = argv[i + 1]
}
if (!['container', 'sts'].includes(o.mode) || !o['port-file'] || !o.token) {
  console.error('aws-stand-in: --mode container|sts, --port-file and --token are required')
  process.exit(2)
}
const log = o.log ? fs.createWriteStream(o.log, { flags: 'a' }) : null
let served = 0

function expiry() {
  let secs = 3600
  if (o['expires-file']) {
    try {
      secs = Number(fs.readFileSync(o['expires-file'], 'utf8').trim())
    } catch {
      secs = 3600
    }
  }
  return new Date(Date.now() + secs * 1000).toISOString().replace(/\.\d+Z$/, 'Z')
}

function answer(res, status, type, body) {
  res.writeHead(status, { 'Content-Type': type })
  res.end(body)
}

function container(req, res) {
  if (req.method !== 'GET') return answer(res, 405, 'text/plain', 'GET only')
  if (req.headers.authorization !== o.token) {
    return answer(res, 401, 'application/json', '{"message":"bad authorization token"}')
  }
  served++
  answer(
    res,
    200,
    'application/json',
    JSON.stringify({
      AccessKeyId: 'S3RVER',
      SecretAccessKey: 'S3RVER',
      Token: `stand-in-token-${served}`,
      Expiration: expiry(),
      RoleArn: 'arn:aws:iam::123456789012:role/stand-in',
    })
  )
}

function stsError(res, status, code, message) {
  answer(
    res,
    status,
    'text/xml',
    `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>` +
      `<Type>Sender</Type><Code>${code}</Code><Message>${message}</Message>` +
      `</Error><RequestId>stand-in</RequestId></ErrorResponse>`
  )
}

function sts(req, res, body) {
  if (req.method !== 'POST') return stsError(res, 405, 'InvalidAction', 'POST only')
  const form = new URLSearchParams(body)
  if (form.get('Action') !== 'AssumeRoleWithWebIdentity' || form.get('Version') !== '2011-06-15') {
    return stsError(res, 400, 'InvalidAction', 'Could not find operation')
  }
  if (form.get('WebIdentityToken') !== o.token) {
    return stsError(res, 400, 'InvalidIdentityToken', 'The web identity token is not valid')
  }
  if (o['role-arn'] && form.get('RoleArn') !== o['role-arn']) {
    return stsError(res, 403, 'AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity')
  }
  if (!form.get('RoleSessionName')) {
    return stsError(res, 400, 'ValidationError', 'RoleSessionName is required')
  }
  served++
  answer(
    res,
    200,
    'text/xml',
    `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">` +
      `<AssumeRoleWithWebIdentityResult><Credentials>` +
      `<SessionToken>stand-in-token-${served}</SessionToken>` +
      `<SecretAccessKey>S3RVER</SecretAccessKey>` +
      `<Expiration>${expiry()}</Expiration>` +
      `<AccessKeyId>S3RVER</AccessKeyId>` +
      `</Credentials><AssumedRoleUser><Arn>${o['role-arn'] || ''}</Arn>` +
      `<AssumedRoleId>AROA:stand-in</AssumedRoleId></AssumedRoleUser>` +
      `</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`
  )
}

const server = http.createServer((req, res) => {
  let body = ''
  req.on('data', (d) => {
    body += d
    if (body.length > 65536) req.destroy()
  })
  req.on('end', () => {
    res.on('finish', () => {
      if (log) log.write(`${req.method} ${req.url.split('?')[0]} ${res.statusCode}\n`)
    })
    if (o.mode === 'container') container(req, res)
    else sts(req, res, body)
  })
})
server.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(`${o['port-file']}.tmp`, `${server.address().port}\n`)
  fs.renameSync(`${o['port-file']}.tmp`, o['port-file'])
})
const stop = () => server.close(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
