// The manifest of a trained adversary's folder (adversary.onnx + manifest.json): which team it was trained
// against, what it observes, how it was trained and how much it hurts that team.
import { z } from 'zod';
import { MetricsSchema, ModelFileSchema, ObservationRecordSchema, TrainingRecordSchema } from './policy-manifest.js';

export const ADVERSARY_FORMAT = 'swarmguard-adversary/1';

export const AdversaryManifestSchema = z
  .object({
    format: z.literal(ADVERSARY_FORMAT),
    name: z.string().min(1),
    /** How it was made: 'posthoc' = PPO against a frozen team (the team's weights never change). */
    kind: z.literal('posthoc'),
    /** The frozen team: its folder name and the sha256 of its actor. */
    target: z.object({ policy: z.string().min(1), actorSha256: z.string().regex(/^[0-9a-f]{64}$/) }).strict(),
    /** It drives one robot from that robot's own observation (the observation spec and its parameters below). */
    observation: ObservationRecordSchema,
    action: z.object({ kind: z.literal('normalised-wheel-commands'), deployed: z.literal('mean'), logStd: z.array(z.number()).length(2) }).strict(),
    files: z.object({ 'adversary.onnx': ModelFileSchema }).strict(),
    training: TrainingRecordSchema,
    /** The target team's held-out episodes without and with this adversary (victim = robot e mod N). */
    evaluation: z.object({ benign: MetricsSchema, attacked: MetricsSchema }).strict(),
  })
  .strict();

export type AdversaryManifest = z.output<typeof AdversaryManifestSchema>;
