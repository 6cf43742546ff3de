// Loading YAML configuration files against a zod schema, with errors that name the file and the key.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { describeIssues } from './config-issues.js';
import { UserError } from './user-error.js';

export { describeIssues };

/** A key naming an environment variable (passwords and tokens never sit in a launch file, which runs record). */
export const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');

/**
 * A secret (password, token) from the environment variable a config key names; refused naming the key and
 * what the variable holds when it is unset or empty.
 */
export function secretFromEnv(name: string, key: string, holds: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') throw new ConfigError(`${key}: the environment variable ${name} is not set (it holds ${holds})`);
  return value;
}

/** A configuration that cannot be used: the message names the source and the offending key. */
export class ConfigError extends UserError {
  override readonly name: string = 'ConfigError';
}

/** Validates an already-parsed value; throws ConfigError naming every bad key. */
export function parseWithSchema<S extends z.ZodType>(source: string, schema: S, value: unknown): z.output<S> {
  // reportInput: every issue carries the value it refused, so the message can show it.
  const result = schema.safeParse(value, { reportInput: true });
  if (!result.success) throw new ConfigError(describeIssues(source, result.error));
  return result.data;
}

/** Reads a YAML file and validates it; a missing file or bad YAML is a ConfigError too. */
export function loadYamlFile<S extends z.ZodType>(path: string, schema: S): z.output<S> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${path}: cannot read file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${path}: invalid YAML: ${(err as Error).message}`);
  }
  return parseWithSchema(path, schema, value ?? {});
}
