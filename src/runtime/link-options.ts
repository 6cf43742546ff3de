// The `link` section of a launch file: one schema per link kind (each kind's options in its own module),
// discriminated by `kind`. link-factory.ts opens the link a launch file asks for.
import { z } from 'zod';
import { Ros2LinkSchema } from '../links/ros2/config.js';

export const SimLinkSchema = z
  .object({
    kind: z.literal('sim'),
    /** live: paced to the wall clock at the control period; fast: as fast as possible (batch trials). */
    mode: z.enum(['live', 'fast']).default('live'),
    seed: z.number().int().min(0).max(2 ** 31 - 1).default(1),
  })
  .strict();

export const LinkSchema = z.discriminatedUnion('kind', [SimLinkSchema, Ros2LinkSchema]);

export type LinkOptions = z.output<typeof LinkSchema>;
