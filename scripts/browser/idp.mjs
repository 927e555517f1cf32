// A small OpenID Connect provider for the browser tests, on a loopback port, with nothing but
// Node's own modules: discovery, an authorize endpoint that signs in one configured test user
// without asking (as a provider with an existing session would), a token endpoint that checks
// the client, the redirect URI and the PKCE verifier (S256) and takes each code once, the JWKS
// (a fresh RSA key per run; ID tokens signed RS256 with node:crypto), and an end-session
// endpoint (RP-Initiated Logout) that sends the browser back to the registered
// post_logout_redirect_uri. Everything it refuses is counted in `refusals`, so the run can
// check nothing was refused.
import { createServer } from 'node:http'
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto'

const b64url = (data) => Buffer.from(data).toString('base64url')

export async function startIdp ({ clientId, clientSecret, redirectUri, postLogoutRedirectUri, subject }) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const kid = `browser-tests-${b64url(randomBytes(6))}`
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' }
  const codes = new Map()
  const stats = { authorized: 0, tokens: 0, logouts: 0, refusals: [] }
  let issuer

  const idToken = (claims) => {
    const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }))
    const payload = b64url(JSON.stringify(claims))
    const signature = sign('sha256', Buffer.from(`${header}.${payload}`), privateKey)
    return `${header}.${payload}.${b64url(signature)}`
  }

  const send = (res, status, body, headers = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers })
    res.end(typeof body === 'string' ? body : JSON.stringify(body))
  }
  const refuse = (res, why, status = 400) => {
    stats.refusals.push(why)
    send(res, status, { error: 'invalid_request', error_description: why })
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url, issuer)
    const q = url.searchParams
    if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration') {
      return send(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/keys`,
        end_session_endpoint: `${issuer}/logout`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_post']
      })
    }
    if (req.method === 'GET' && url.pathname === '/keys') return send(res, 200, { keys: [jwk] })
    if (req.method === 'GET' && url.pathname === '/authorize') {
      if (q.get('client_id') !== clientId) return refuse(res, 'authorize: unknown client')
      if (q.get('redirect_uri') !== redirectUri) return refuse(res, 'authorize: unregistered redirect_uri')
      if (q.get('response_type') !== 'code' || !(q.get('scope') ?? '').split(' ').includes('openid')) return refuse(res, 'authorize: not an OIDC code request')
      if (q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) return refuse(res, 'authorize: no S256 code challenge')
      if (!q.get('state') || !q.get('nonce')) return refuse(res, 'authorize: no state or nonce')
      const code = b64url(randomBytes(24))
      codes.set(code, { challenge: q.get('code_challenge'), nonce: q.get('nonce'), redirectUri: q.get('redirect_uri'), expires: Date.now() + 60_000 })
      stats.authorized++
      const back = new URL(redirectUri)
      back.searchParams.set('code', code)
      back.searchParams.set('state', q.get('state'))
      res.writeHead(302, { location: back.toString(), 'cache-control': 'no-store' })
      return res.end()
    }
    if (req.method === 'POST' && url.pathname === '/token') {
      let body = ''
      req.on('data', (chunk) => { body += chunk })
      req.on('end', () => {
        const form = new URLSearchParams(body)
        if (form.get('grant_type') !== 'authorization_code') return refuse(res, 'token: wrong grant type')
        if (form.get('client_id') !== clientId) return refuse(res, 'token: unknown client', 401)
        if (clientSecret && form.get('client_secret') !== clientSecret) return refuse(res, 'token: wrong client secret', 401)
        const code = form.get('code')
        const grant = codes.get(code)
        codes.delete(code) // each code once, whatever happens next
        if (!grant || grant.expires < Date.now()) return refuse(res, 'token: unknown, used or expired code')
        if (form.get('redirect_uri') !== grant.redirectUri) return refuse(res, 'token: redirect_uri differs')
        const verifier = form.get('code_verifier') ?? ''
        if (b64url(createHash('sha256').update(verifier).digest()) !== grant.challenge) return refuse(res, 'token: PKCE verifier does not match')
        stats.tokens++
        const now = Math.floor(Date.now() / 1000)
        send(res, 200, {
          access_token: b64url(randomBytes(24)),
          token_type: 'Bearer',
          expires_in: 600,
          id_token: idToken({ iss: issuer, aud: clientId, sub: subject, nonce: grant.nonce, iat: now, exp: now + 600 })
        })
      })
      return
    }
    if (req.method === 'GET' && url.pathname === '/logout') {
      if (q.get('client_id') !== clientId) return refuse(res, 'logout: unknown client')
      if (q.get('post_logout_redirect_uri') !== postLogoutRedirectUri) return refuse(res, 'logout: unregistered post_logout_redirect_uri')
      if (q.has('id_token_hint')) stats.refusals.push('logout: an ID token was put in the URL')
      stats.logouts++
      res.writeHead(302, { location: postLogoutRedirectUri, 'cache-control': 'no-store' })
      return res.end()
    }
    send(res, 404, { error: 'not_found' })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  issuer = `http://127.0.0.1:${server.address().port}`
  return { issuer, stats, close: () => new Promise((resolve) => server.close(resolve)) }
}
