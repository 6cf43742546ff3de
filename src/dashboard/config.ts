// The launch file's `dashboard:` block and `swarmguard run --dashboard [port]`: whether the run serves the
// live dashboard, on which address and port, and the token its controls need.
import { z } from 'zod';

export const DEFAULT_DASHBOARD_PORT = 8765;

export const DashboardSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** The address to listen on: loopback by default (viewing is then open, controls need the token). */
    host: z.string().min(1).default('127.0.0.1'),
    /** 0: any free port (printed at start-up). */
    port: z.number().int().min(0).max(65535).default(DEFAULT_DASHBOARD_PORT),
    /** The operator's token; left out, a random one is made and printed at start-up. */
    token: z.string().min(16, 'at least 16 characters').max(256).optional(),
  })
  .strict();

export type DashboardConfig = z.output<typeof DashboardSchema>;

/**
 * The dashboard a run serves: the launch file's block, overridden by `--dashboard [port]` (true: on, at the
 * file's port or the default; a number: on, at that port). null: no dashboard.
 */
export function dashboardFor(file: DashboardConfig | undefined, flag: boolean | number | undefined): DashboardConfig | null {
  const base = file ?? DashboardSchema.parse({});
  if (flag === undefined || flag === false) return file?.enabled ? file : null;
  return { ...base, enabled: true, port: typeof flag === 'number' ? flag : base.port };
}
