import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { ConfigError } from '@ciba/config';
import { temporaryFile } from '@ciba/testing';
import { loadPolicyFile, policySchemaDocument } from '../src/policy/policy.js';

const APP = join(process.cwd(), 'apps/step-up-gateway');

async function loadProblems(file: string): Promise<string[]> {
  try {
    await loadPolicyFile(file);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error('the policy was accepted');
}

describe('step-up policy files', () => {
  it('ships a JSON schema that is the policy schema written out (regenerate: node apps/step-up-gateway/dist/policy/write-schema.js)', () => {
    expect(JSON.parse(readFileSync(join(APP, 'policy.schema.json'), 'utf8'))).toEqual(policySchemaDocument());
  });

  it('loads the example YAML policy, which the JSON schema accepts too', async () => {
    const policy = await loadPolicyFile(join(APP, 'policy.example.yaml'));
    expect(policy.routes.map((r) => r.id)).toEqual(['profile.read', 'payments.create']);
    const validate = new Ajv2020({ strict: false, validateFormats: false }).compile(JSON.parse(readFileSync(join(APP, 'policy.schema.json'), 'utf8')) as object);
    expect(validate(parse(readFileSync(join(APP, 'policy.example.yaml'), 'utf8')))).toBe(true);
    expect(validate({ routes: [] })).toBe(false);
  });

  it('names the file and the problem for a policy that is not JSON, or that cannot be read', async () => {
    const file = temporaryFile('policy.json', '{"routes": [');
    try {
      expect(await loadProblems(file.path)).toEqual([expect.stringMatching(/^policy .*policy\.json: not valid JSON: /)]);
    } finally {
      file.remove();
    }
    expect(await loadProblems('/nonexistent/policy.yaml')).toEqual(['CIBA_GATEWAY_POLICY: cannot read /nonexistent/policy.yaml (ENOENT)']);
  });
});
