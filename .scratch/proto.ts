import { generate } from 'selfsigned';
import * as samlify from 'samlify';
import * as validator from '@authenio/samlify-xmllint-wasm';
import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import zlib from 'node:zlib';

samlify.setSchemaValidator(validator);
const t0 = Date.now();
const pems = await generate([{ name: 'commonName', value: 'Mock IdP' }], { keySize: 2048, days: 3650, algorithm: 'sha256' } as any);
console.log('cert ms', Date.now() - t0, Object.keys(pems));
const idp = samlify.IdentityProvider({
  entityID: 'http://idp.test/saml', privateKey: pems.private, signingCert: pems.cert,
  singleSignOnService: [{ Binding: samlify.Constants.namespace.binding.redirect, Location: 'http://idp.test/saml/sso' }],
  nameIDFormat: ['urn:oasis:names:tc:SAML:2.0:nameid-format:persistent'],
});
const ids = new Map<string, string>();
const saml = new SAML({
  idpCert: pems.cert, issuer: 'http://sp.test/meta', callbackUrl: 'http://sp.test/acs', entryPoint: 'http://idp.test/saml/sso',
  audience: 'http://sp.test/meta', wantAssertionsSigned: true, wantAuthnResponseSigned: false, identifierFormat: null,
  validateInResponseTo: ValidateInResponseTo.always, acceptedClockSkewMs: 60000,
  cacheProvider: { saveAsync: async (k, v) => { ids.set(k, v); return { value: v, createdAt: Date.now() }; }, getAsync: async (k) => ids.get(k) ?? null, removeAsync: async (k) => { return null; } },
});
const url = await saml.getAuthorizeUrlAsync('', undefined, {});
console.log(url.slice(0, 120));
const spMeta = saml.generateServiceProviderMetadata(null, null);
console.log(spMeta);
const sp = samlify.ServiceProvider({ metadata: spMeta });
const q = Object.fromEntries(new URL(url).searchParams);
const parsed = await idp.parseLoginRequest(sp, 'redirect', { query: q });
console.log('request id', parsed.extract.request.id, [...ids.keys()]);
const res = await idp.createLoginResponse(sp, parsed, 'post', { email: 'alice@x.test' });
console.log(Object.keys(res), res.entityEndpoint);
const xml = Buffer.from(res.context, 'base64').toString();
console.log(xml.slice(0, 3000));
const out = await saml.validatePostResponseAsync({ SAMLResponse: res.context });
console.log(out.profile);
