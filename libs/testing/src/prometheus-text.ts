/** One sample of a Prometheus text exposition: `name{label="value",…} value`. */
export interface PrometheusSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;

/**
 * The samples of a Prometheus text-format page (version 0.0.4, what prom-client's `/metrics`
 * serves); comment lines (`# HELP`, `# TYPE`) and blank lines are skipped. Throws on a line it
 * cannot read, so that a changed format fails a test loudly rather than reading as zero.
 */
export function parsePrometheusText(text: string): PrometheusSample[] {
  const samples: PrometheusSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not a Prometheus sample: ${line}`);
    const [, name, labelText, valueText] = match;
    samples.push({ name: name, labels: parseLabels(labelText ?? '', line), value: parseValue(valueText, line) });
  }
  return samples;
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const at = LABEL.lastIndex;
    const match = LABEL.exec(text);
    if (!match || match.index !== at) throw new Error(`unreadable labels in: ${line}`);
    labels[match[1]] = match[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

function parseValue(text: string, line: string): number {
  // The exposition format takes Go's float syntax, whose words are case-insensitive: prom-client
  // writes an empty event-loop histogram's mean as `Nan`.
  const word = text.toLowerCase();
  if (word === '+inf' || word === 'inf') return Infinity;
  if (word === '-inf') return -Infinity;
  if (word === 'nan') return NaN;
  const value = Number(text);
  if (Number.isNaN(value)) throw new Error(`unreadable value in: ${line}`);
  return value;
}

/** The sum of the samples named `name` whose labels include every one of `labels` (0 when none match). */
export function sumSamples(samples: readonly PrometheusSample[], name: string, labels: Readonly<Record<string, string>> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** GET `<origin>/metrics` and parse it; throws unless the answer is 200. */
export async function scrapeMetrics(origin: string): Promise<PrometheusSample[]> {
  const res = await fetch(`${origin}/metrics`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${origin}/metrics answered ${res.status}: ${text.slice(0, 200)}`);
  return parsePrometheusText(text);
}
