// A standards-compliant OpenID Connect provider for the interop test:
// panva's oidc-provider with the device authorization grant (RFC 8628), a
// public and a confidential client. The test plays the person at the
// browser through /test/approve, which does what the provider's own
// interaction pages would: a grant for the user, recorded on the device
// code. Prints "issuer URL" on stdout once it listens.
import http from 'node:http';
import Provider from 'oidc-provider';

const grantTypes = ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'];
const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [
      { client_id: 'deskphone-public', token_endpoint_auth_method: 'none', grant_types: grantTypes, response_types: [], redirect_uris: [] },
      { client_id: 'deskphone-confidential', client_secret: 'interop-secret', token_endpoint_auth_method: 'client_secret_basic', grant_types: grantTypes, response_types: [], redirect_uris: [] },
    ],
    features: { deviceFlow: { enabled: true }, devInteractions: { enabled: false } },
    scopes: ['openid', 'offline_access'],
    findAccount: async (ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    ttl: { AccessToken: 3600, DeviceCode: 600, RefreshToken: 86400 },
  });
  const callback = provider.callback();
  server.on('request', async (req, res) => {
    const u = new URL(req.url, issuer);
    if (u.pathname !== '/test/approve') {
      callback(req, res);
      return;
    }
    try {
      const userCode = u.searchParams.get('user_code');
      const account = u.searchParams.get('account');
      let dc = await provider.DeviceCode.findByUserCode(userCode);
      if (!dc) dc = await provider.DeviceCode.findByUserCode(userCode.replace('-', ''));
      if (!dc) throw new Error(`no device code for ${userCode}`);
      const grant = new provider.Grant({ accountId: account, clientId: dc.clientId });
      const scope = dc.scope || (dc.params && dc.params.scope) || 'openid';
      grant.addOIDCScope(scope);
      dc.scope = scope;
      dc.grantId = await grant.save();
      dc.accountId = account;
      dc.authTime = Math.floor(Date.now() / 1000);
      await dc.save();
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('approved\n');
    } catch (e) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`${e.message}\n`);
    }
  });
  console.log(`issuer ${issuer}`);
});
