import { resolveSimConfig, type SimConfig, type SimSettings } from '../sim/config.js';

/** Twin settings for tests: exact kinematics (noise off) unless a test asks otherwise. */
export function settings(overrides: Partial<Record<keyof SimConfig, unknown>> = {}): SimSettings {
  return resolveSimConfig({ noise: 'off', ...overrides }, 'test config');
}
