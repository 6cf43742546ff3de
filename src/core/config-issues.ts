// Zod's issues as lines a person can act on: the key's path, what the key expects and the value it got
// ("robots: expected a number or a list, received "ten" (a string)"), rather than zod's bare "Invalid input".
// Every config schema (launch, sim, robots, training, matrix files, policy manifests) reports through here.
import type { z } from 'zod';

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

const TYPE_NAMES: Record<string, string> = {
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
  null: 'null',
  undefined: 'nothing',
};

function expectedType(name: string): string {
  return TYPE_NAMES[name] ?? name;
}

function truncate(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/** A value as it was given, with its kind: `"ten" (a string)`, `1.5`, `a list [1, 2]`, `null (an empty value)`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null (an empty value)';
  if (typeof value === 'string') return `${JSON.stringify(value)} (a string)`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  let json: string;
  try {
    json = JSON.stringify(value) ?? String(value);
  } catch {
    json = String(value);
  }
  return `${Array.isArray(value) ? 'a list' : 'a mapping'} ${truncate(json)}`;
}

function keyOf(path: Path): string {
  return path.length > 0 ? path.map(String).join('.') : '(root)';
}

function hasInput(issue: Issue): boolean {
  return 'input' in issue;
}

/** What a union branch that failed on the value's type wanted ('a number', '"live"'), or null if it failed deeper. */
function branchExpectation(issues: readonly Issue[]): string[] | null {
  const atRoot = issues.filter((i) => i.path.length === 0);
  if (atRoot.length !== issues.length) return null;
  const wanted: string[] = [];
  for (const i of atRoot) {
    if (i.code === 'invalid_type') wanted.push(expectedType(i.expected));
    else if (i.code === 'invalid_value') wanted.push(...i.values.map((v) => JSON.stringify(v)));
    else return null;
  }
  return wanted;
}

function unionLines(issue: Extract<Issue, { code: 'invalid_union' }>, path: Path): string[] {
  if (issue.discriminator !== undefined && issue.errors.length === 0) {
    const given = issue.input && typeof issue.input === 'object' ? (issue.input as Record<string, unknown>)[issue.discriminator] : undefined;
    const options = 'options' in issue && issue.options ? issue.options.map((o) => JSON.stringify(o)).join(', ') : issue.message;
    return [`${keyOf(path)}: expected one of ${options}, ${given === undefined ? 'but the key is missing' : `received ${describeValue(given)}`}`];
  }
  // A schema's own message for the union ("true, false or { compression: zstd | none }") says it best.
  if (issue.message !== 'Invalid input') return [`${keyOf(path)}: ${issue.message}${hasInput(issue) && issue.input !== undefined ? `, received ${describeValue(issue.input)}` : ''}`];
  const expectations = issue.errors.map(branchExpectation);
  // A branch whose type fitted and failed inside (a list with a bad element): its issues say what is wrong.
  const deeper = issue.errors.find((_, k) => expectations[k] === null);
  if (deeper) return deeper.flatMap((i) => issueLines(i, [...path, ...i.path]));
  const wanted = [...new Set(expectations.flatMap((e) => e ?? []))];
  if (wanted.length === 0) return [`${keyOf(path)}: ${issue.message}${hasInput(issue) ? `, received ${describeValue(issue.input)}` : ''}`];
  const received = issue.input === undefined && hasInput(issue) ? 'but the key is missing' : hasInput(issue) ? `received ${describeValue(issue.input)}` : '';
  return [`${keyOf(path)}: expected ${wanted.join(' or ')}${received ? `, ${received}` : ''}`];
}

/** One issue as lines "path: what was expected, what was received" (`path` is the issue's full path). */
function issueLines(issue: Issue, path: Path): string[] {
  const key = keyOf(path);
  switch (issue.code) {
    case 'invalid_union':
      return unionLines(issue, path);
    case 'invalid_type': {
      // zod's own wording ("Invalid input: expected number, received string") is replaced; a schema's own message is kept.
      const own = issue.message.startsWith('Invalid input') ? `expected ${expectedType(issue.expected)}` : issue.message;
      if (!hasInput(issue)) return [`${key}: ${own}`];
      return [`${key}: ${own}, ${issue.input === undefined ? 'but the key is missing' : `received ${describeValue(issue.input)}`}`];
    }
    case 'unrecognized_keys':
      // The message names the keys; the input is the whole mapping.
      return [`${key}: ${issue.message}`];
    default: {
      const message = issue.message
        .replace(/^Invalid (input|option): /, '')
        // zod's "Too small: expected number to be >=2" / "Too big: expected array to have <=3 items"
        .replace(/^Too (?:small|big): expected (\w+) to (be|have) (.*)$/, (_, type: string, verb: string, bound: string) => `expected ${expectedType(type)} ${verb === 'have' ? 'with ' : ''}${bound}`);
      return [`${key}: ${message}${hasInput(issue) && issue.input !== undefined ? `, received ${describeValue(issue.input)}` : ''}`];
    }
  }
}

/** Formats zod issues as "source: path.to.key: expected ..., received ..." lines. */
export function describeIssues(source: string, error: z.ZodError): string {
  return error.issues.flatMap((issue) => issueLines(issue, issue.path)).map((line) => `${source}: ${line}`).join('\n');
}
