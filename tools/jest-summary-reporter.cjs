// Appends the run's totals to .test-results/summary.json so scripts/test.sh can print one closing line
// summing every test runner invocation.
const fs = require('node:fs');
const path = require('node:path');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const dir = path.join(process.cwd(), '.test-results');
    fs.mkdirSync(dir, { recursive: true });
    const line = {
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
    };
    fs.appendFileSync(path.join(dir, 'summary.jsonl'), JSON.stringify(line) + '\n');
  }
}
module.exports = SummaryReporter;
