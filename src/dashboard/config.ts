// The launch file's `dashboard:` block and `swarmguard run --dashboard [port]`: whether the run serves the
// live dashboard, on which address and port, and the token its controls need.
import { z } from 'zod';
import { ConfigError, envName, secretFromEnv } from '../core/config-file.js';

export const DEFAULT_DASHBOARD_PORT = 8765;
const MIN_TOKEN = 16;

export const DashboardSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** The address to listen on: loopback by default (viewing is then open, controls need the token). */
    host: z.string().min(1).default('127.0.0.1'),
    /** open: watching needs no token on a loopback address (never beyond); token: it always does (behind a proxy). */
    viewing: z.enum(['open', 'token']).default('open'),
    /** 0: any free port (printed at start-up). */
    port: z.number().int().min(0).max(65535).default(DEFAULT_DASHBOARD_PORT),
    /** The environment variable holding the operator's token; left out, a random one is made and printed at start-up. */
    tokenEnv: envName.optional(),
    /** Refused: the launch file is recorded with every run (run.mcap), so a token written there would be too. */
    token: z.never({ error: 'a token never goes in the launch file (every run records it): put it in an environment variable and name that in dashboard.tokenEnv' }).optional(),
  })
  .strict();

export type DashboardBlock = z.output<typeof DashboardSchema>;

/** The dashboard's settings, its token read from the environment (undefined: a random one per run). */
export interface DashboardConfig {
  enabled: boolean;
  host: string;
  viewing: 'open' | 'token';
  port: number;
  token?: string;
}

/** The block with its token read from `tokenEnv` (`where` names the block in errors: `launch.yaml: dashboard`). */
export function resolveDashboard(block: DashboardBlock, where: string, env: NodeJS.ProcessEnv = process.env): DashboardConfig {
  const { enabled, host, viewing, port, tokenEnv } = block;
  if (tokenEnv === undefined) return { enabled, host, viewing, port };
  const token = secretFromEnv(tokenEnv, `${where}.tokenEnv`, "the dashboard's token", env);
  if (token.length < MIN_TOKEN || token.length > 256) throw new ConfigError(`${where}.tokenEnv: the token in ${tokenEnv} has ${token.length} characters; it needs ${MIN_TOKEN} to 256`);
  return { enabled, host, viewing, port, token };
}

/**
 * The dashboard a run serves: the launch file's block, overridden by `--dashboard [port]` (true: on, at the
 * file's port or the default; a number: on, at that port). null: no dashboard.
 */
export function dashboardFor(file: DashboardConfig | undefined, flag: boolean | number | undefined): DashboardConfig | null {
  const base = file ?? resolveDashboard(DashboardSchema.parse({}), 'dashboard');
  if (flag === undefined || flag === false) return file?.enabled ? file : null;
  return { ...base, enabled: true, port: typeof flag === 'number' ? flag : base.port };
}
