// Alibaba's Node clients against the Coffer emulator, as users call it: @alicloud/kms20160120
// (RPC, signature v1), @alicloud/pop-core (GET and POST) and @alicloud/openapi-client (ACS3
// through callApi). It builds and starts the emulator itself on a free loopback port, with its own
// data folder, and stops it at the end. scripts/test runs it; `npm test` here runs it alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator } from '../lib/emulator.mjs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Kms = require('@alicloud/kms20160120');
const { Config: RpcConfig } = require('@alicloud/rpc-client');
const PopCore = require('@alicloud/pop-core');
const OpenApi = require('@alicloud/openapi-client');
const TeaUtil = require('@alicloud/tea-util');

const keyId = 'NODECLIENTS01';
const keySecret = 'node-clients-secret-0123456789';

const host = await startEmulator({ keyId, keySecret, prefix: 'coffer-node-' });

// Each client goes through the same steps on its own secret and reports the not-found code.
async function lifecycle(name, c) {
  const created = await c.call('CreateSecret', { SecretName: name, VersionId: 'v1', SecretData: 'first' });
  assert.equal(created.SecretName, name);
  const arn = created.Arn;
  assert.match(arn, new RegExp(`^acs:kms:.*:secret/${name}$`));
  await c.call('PutSecretValue', { SecretName: name, VersionId: 'v2', SecretData: 'second' });
  assert.equal((await c.call('GetSecretValue', { SecretName: name })).SecretData, 'second');
  assert.equal((await c.call('GetSecretValue', { SecretName: name, VersionStage: 'ACSPrevious' })).SecretData, 'first');
  const byArn = await c.call('GetSecretValue', { SecretName: arn });
  assert.equal(byArn.SecretData, 'second');
  assert.equal(byArn.VersionId, 'v2');
  const listed = await c.call('ListSecrets', { Filters: JSON.stringify([{ Key: 'SecretName', Values: [name] }]) });
  assert.deepEqual(listed.SecretList.Secret.map((s) => s.SecretName), [name]);
  assert.equal(listed.TotalCount, 1);
  const described = await c.call('DescribeSecret', { SecretName: name });
  assert.equal(described.Arn, arn);
  await c.call('DeleteSecret', { SecretName: name, ForceDeleteWithoutRecovery: 'true' });
  await assert.rejects(c.call('GetSecretValue', { SecretName: name }), (err) => {
    assert.equal(c.code(err), 'Forbidden.ResourceNotFound');
    return true;
  });
  await assert.rejects(c.call('DescribeKey', { KeyId: 'key-nope' }), (err) => {
    assert.equal(c.code(err), 'Forbidden.KeyNotFound');
    return true;
  });
}

// @alicloud/kms20160120 1.2.0: one typed method per action, RPC signature v1.
const lower = (s) => s[0].toLowerCase() + s.slice(1);
const kms = new Kms.default(new RpcConfig({
  accessKeyId: keyId, accessKeySecret: keySecret, endpoint: host, protocol: 'http', regionId: 'cn-hangzhou',
}));
test('@alicloud/kms20160120 (RPC v1)', async () => {
  // The typed client answers its own models; toMap gives them back in the wire's field names.
  await lifecycle('node/kms', {
    async call(action, params) {
      const req = new Kms[`${action}Request`](Object.fromEntries(Object.entries(params).map(([k, v]) => [lower(k), v])));
      return (await kms[lower(action)](req)).toMap();
    },
    // This client appends "Error" to the code it raises; the body's Code is the server's.
    code: (err) => err.data.Code,
  });
});

// @alicloud/pop-core 1.8.0: the generic RPC client, by GET (the default) and by POST.
for (const method of ['GET', 'POST']) {
  test(`@alicloud/pop-core (${method})`, async () => {
    const pop = new PopCore({ accessKeyId: keyId, accessKeySecret: keySecret, endpoint: `http://${host}`, apiVersion: '2016-01-20' });
    await lifecycle(`node/pop-${method.toLowerCase()}`, {
      call: (action, params) => pop.request(action, params, { method, formatParams: false }),
      code: (err) => err.code,
    });
  });
}

// @alicloud/openapi-client 0.4.15: callApi with the ACS3-HMAC-SHA256 signature.
test('@alicloud/openapi-client (ACS3 through callApi)', async () => {
  const client = new OpenApi.default(new OpenApi.Config({
    accessKeyId: keyId, accessKeySecret: keySecret, endpoint: host, protocol: 'HTTP', regionId: 'cn-hangzhou',
  }));
  await lifecycle('node/openapi', {
    async call(action, params) {
      const res = await client.callApi(new OpenApi.Params({
        action, version: '2016-01-20', protocol: 'HTTP', pathname: '/', method: 'POST', authType: 'AK',
        style: 'RPC', reqBodyType: 'formData', bodyType: 'json',
      }), new OpenApi.OpenApiRequest({ query: params }), new TeaUtil.RuntimeOptions({}));
      return res.body;
    },
    code: (err) => err.code,
  });
});

