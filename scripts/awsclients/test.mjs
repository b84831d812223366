// AWS's Node SDK for Secrets Manager (@aws-sdk/client-secrets-manager) and the AWS CLI v2
// (COFFER_TEST_AWS_CLI, else `aws`; Debian's: apt-get install awscli) against the Coffer emulator, unmodified but for their
// endpoint, on the embedded store and on the Redis scripts/test starts. It builds and starts the emulator itself on a free loopback
// port, with its own data folder, and stops it at the end. scripts/test runs it; `npm test` here
// runs it alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulators, backends } from '../lib/emulator.mjs';
import { execFileSync } from 'node:child_process';
import {
  SecretsManagerClient, CreateSecretCommand, GetSecretValueCommand, PutSecretValueCommand,
  ListSecretsCommand, DescribeSecretCommand, DeleteSecretCommand, ResourceNotFoundException,
  ResourceExistsException, BatchGetSecretValueCommand, ValidateResourcePolicyCommand,
} from '@aws-sdk/client-secrets-manager';

const keyId = 'AWSNODECLIENT01';
const keySecret = 'aws-node-client-secret-0123456789';

// Every emulator listens before the first test is declared: node:test starts running the
// declared tests at the first await.
const stores = backends();
const hosts = await startEmulators(stores.map((backend) => ({ keyId, keySecret, prefix: 'coffer-aws-node-', env: backend.env })));
for (const [i, backend] of stores.entries()) {
  const host = hosts[i];
  const client = new SecretsManagerClient({
    region: 'eu-west-1', endpoint: `http://${host}`, maxAttempts: 1,
    credentials: { accessKeyId: keyId, secretAccessKey: keySecret },
  });

  test(`create, get, put, list, describe and delete with the Node SDK (${backend.name})`, async () => {
    const created = await client.send(new CreateSecretCommand({ Name: 'node/db', SecretString: 'first' }));
    assert.match(created.ARN, /^arn:aws:secretsmanager:eu-west-1:\d{12}:secret:node\/db-[A-Za-z0-9]{6}$/);
    const got = await client.send(new GetSecretValueCommand({ SecretId: created.ARN }));
    assert.equal(got.SecretString, 'first');
    assert.deepEqual(got.VersionStages, ['AWSCURRENT']);
    const put = await client.send(new PutSecretValueCommand({ SecretId: 'node/db', SecretString: 'second' }));
    assert.deepEqual(put.VersionStages, ['AWSCURRENT']);
    const prev = await client.send(new GetSecretValueCommand({ SecretId: 'node/db', VersionStage: 'AWSPREVIOUS' }));
    assert.equal(prev.SecretString, 'first');
    const list = await client.send(new ListSecretsCommand({}));
    assert.deepEqual(list.SecretList.map((s) => s.Name), ['node/db']);
    const desc = await client.send(new DescribeSecretCommand({ SecretId: 'node/db' }));
    assert.deepEqual(desc.VersionIdsToStages[put.VersionId], ['AWSCURRENT']);
    assert.ok(desc.CreatedDate instanceof Date);
    await client.send(new DeleteSecretCommand({ SecretId: 'node/db', ForceDeleteWithoutRecovery: true }));
    await assert.rejects(client.send(new GetSecretValueCommand({ SecretId: 'node/db' })), ResourceNotFoundException);
  });

  test(`a repeated token, a filtered batch and policy validation with the Node SDK (${backend.name})`, async () => {
    const create = { Name: 'node/tok', SecretString: 'v', ClientRequestToken: 'node-token-00000000000000000000001' };
    const first = await client.send(new CreateSecretCommand(create));
    const again = await client.send(new CreateSecretCommand(create));
    assert.deepEqual([again.ARN, again.VersionId], [first.ARN, create.ClientRequestToken]);
    await assert.rejects(client.send(new CreateSecretCommand({ ...create, SecretString: 'other' })), ResourceExistsException);
    await client.send(new CreateSecretCommand({ Name: 'node/tok2', SecretString: 'w' }));
    const page = await client.send(new BatchGetSecretValueCommand({ Filters: [{ Key: 'name', Values: ['node/tok'] }], MaxResults: 1 }));
    assert.deepEqual(page.SecretValues.map((v) => v.SecretString), ['v']);
    const rest = await client.send(new BatchGetSecretValueCommand({ Filters: [{ Key: 'name', Values: ['node/tok'] }], MaxResults: 1, NextToken: page.NextToken }));
    assert.deepEqual([rest.SecretValues.map((v) => v.SecretString), rest.NextToken], [['w'], undefined]);
    const passed = await client.send(new ValidateResourcePolicyCommand({ SecretId: 'node/tok', ResourcePolicy: '{"Version":"1","Statement":[]}' }));
    assert.deepEqual([passed.PolicyValidationPassed, passed.ValidationErrors], [true, []]);
    const failed = await client.send(new ValidateResourcePolicyCommand({ ResourcePolicy: '{"Version":"1","Statement":[{"Effect":"Maybe"}]}' }));
    assert.equal(failed.PolicyValidationPassed, false);
    assert.equal(failed.ValidationErrors[0].CheckName, 'POLICY_GRAMMAR');
  });

  test(`create, get, put, list, describe and delete with the AWS CLI (${backend.name})`, () => {
    const aws = (...args) => JSON.parse(execFileSync(process.env.COFFER_TEST_AWS_CLI || 'aws', ['--endpoint-url', `http://${host}`, '--output', 'json', 'secretsmanager', ...args], {
      env: { ...process.env, AWS_ACCESS_KEY_ID: keyId, AWS_SECRET_ACCESS_KEY: keySecret, AWS_DEFAULT_REGION: 'eu-west-1', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' },
    }).toString() || '{}');
    const created = aws('create-secret', '--name', 'cli/db', '--secret-string', 'one');
    assert.equal(created.Name, 'cli/db');
    assert.equal(aws('get-secret-value', '--secret-id', 'cli/db').SecretString, 'one');
    const put = aws('put-secret-value', '--secret-id', created.ARN, '--secret-string', 'two');
    assert.equal(aws('get-secret-value', '--secret-id', 'cli/db').SecretString, 'two');
    assert.ok(aws('list-secrets').SecretList.some((s) => s.Name === 'cli/db'));
    assert.deepEqual(aws('describe-secret', '--secret-id', 'cli/db').VersionIdsToStages[put.VersionId], ['AWSCURRENT']);
    const deleted = aws('delete-secret', '--secret-id', 'cli/db', '--recovery-window-in-days', '7');
    assert.ok(Date.parse(deleted.DeletionDate) > Date.now()); // v2 prints an ISO 8601 time
    assert.throws(() => aws('get-secret-value', '--secret-id', 'cli/db'), /InvalidRequestException/);
    aws('create-secret', '--name', 'cli/other', '--secret-string', 'three');
    const valid = aws('validate-resource-policy', '--secret-id', 'cli/other', '--resource-policy', '{"Version":"1","Statement":[]}');
    assert.equal(valid.PolicyValidationPassed, true);
  });
}
