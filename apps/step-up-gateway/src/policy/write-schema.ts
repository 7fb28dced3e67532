import { writeFileSync } from 'node:fs';
import { policySchemaDocument } from './policy.js';

// Writes the policy's JSON schema (for editors and CI checks of policy files) to the path given,
// by default apps/step-up-gateway/policy.schema.json. After `npm run build`:
//   node apps/step-up-gateway/dist/policy/write-schema.js
const target = process.argv[2] ?? 'apps/step-up-gateway/policy.schema.json';
writeFileSync(target, `${JSON.stringify(policySchemaDocument(), null, 2)}\n`);
