// The node's parameters as rclnodejs objects: per spec (params.ts) a Parameter holding its current value and a
// ParameterDescriptor (type, description, read-only, range), which is what `ros2 param describe` shows; and the
// read-only cmd_vel_type parameter, declared before the robots' cmd_vel publishers are created.
//
// rclnodejs checks every value against the descriptor's range before swarmguard's own callback sees it, at
// declaration (with any --ros-args override) and on every set request, so the range has to admit every value
// params.ts accepts. A FloatingPointRange's step defaults to 1 in rclnodejs, which admits only from, from + 1,
// ... (0.5 in [0, 1] is refused); step 0 means continuous in rcl_interfaces/msg/FloatingPointRange and in
// rclnodejs's check, so floating-point ranges are declared with step 0. Integers take every value (step 1).
//
// rclnodejs 2.2.0 enforces a descriptor's range but leaves it out of the descriptor it answers
// describe_parameters with (its toMessage reads a field the range setter never sets), so the range is also
// written into additional_constraints, which `ros2 param describe` prints.
import type { Parameter, ParameterDescriptor, ParameterType, Range } from 'rclnodejs';
import { ConfigError } from '../../core/config-file.js';
import { CMD_VEL_TYPES, isCmdVelType, type CmdVelType } from './config.js';
import type { Rclnodejs } from './loader.js';
import { parameterValue, ROS_PARAMETER_TYPE, type ParamSpec, type Tunables } from './params.js';

/** The rclnodejs classes a declaration is made of (the loaded module, or its lib/parameter.js in tests). */
export type ParameterClasses = Pick<Rclnodejs, 'Parameter' | 'ParameterDescriptor' | 'FloatingPointRange' | 'IntegerRange'>;

/** Continuous: every double between the bounds (rcl_interfaces: step 0 = no step). */
export const FLOATING_POINT_STEP = 0;

// rclnodejs declares ParameterType as an ambient const enum, which isolated modules cannot read at runtime;
// its values are fixed by rcl_interfaces/msg/ParameterType (ROS_PARAMETER_TYPE).
export const rosParameterType = (s: ParamSpec) => ROS_PARAMETER_TYPE[s.kind] as ParameterType;

/** The descriptor's range of a spec, or undefined (strings, read-only values). */
export function parameterRange(rcl: ParameterClasses, s: ParamSpec): Range | undefined {
  if (!s.range) return undefined;
  if (s.kind === 'integer') return new rcl.IntegerRange(BigInt(s.range.from), BigInt(s.range.to), 1n);
  return new rcl.FloatingPointRange(s.range.from, s.range.to, FLOATING_POINT_STEP);
}

/** What `ros2 param describe` shows as the constraints: the range and any constraint beyond it. */
export function constraintText(s: ParamSpec): string {
  const parts = [s.range ? `from ${s.range.from} to ${s.range.to}` : null, s.constraint ?? null].filter((p) => p !== null);
  return parts.join('; ');
}

function descriptor(rcl: ParameterClasses, s: ParamSpec): ParameterDescriptor {
  const d = new rcl.ParameterDescriptor(s.name, rosParameterType(s), s.description, s.readOnly ?? false, parameterRange(rcl, s));
  d.additionalConstraints = constraintText(s);
  return d;
}

/** The parameters and their descriptors, one for one, as Node.declareParameters takes them. */
export function parameterDeclarations(
  rcl: ParameterClasses,
  specs: readonly (ParamSpec & { key: keyof Tunables })[],
  t: Tunables,
): { parameters: Parameter[]; descriptors: ParameterDescriptor[] } {
  return {
    parameters: specs.map((s) => new rcl.Parameter(s.name, rosParameterType(s), parameterValue(s, t))),
    descriptors: specs.map((s) => descriptor(rcl, s)),
  };
}

export const CMD_VEL_TYPE_PARAMETER = 'cmd_vel_type';

const CMD_VEL_TYPE_SPEC: ParamSpec = {
  name: CMD_VEL_TYPE_PARAMETER,
  kind: 'string',
  readOnly: true,
  constraint: CMD_VEL_TYPES.join(' or '),
  description: "message type of every robot's cmd_vel without a cmdVelType of its own in the launch file (fixed at start)",
};

/** The cmd_vel_type parameter with the launch file's link.cmdVelType as its value (an override replaces it). */
export function cmdVelTypeDeclaration(rcl: ParameterClasses, linkDefault: CmdVelType): { parameter: Parameter; descriptor: ParameterDescriptor } {
  return { parameter: new rcl.Parameter(CMD_VEL_TYPE_SPEC.name, rosParameterType(CMD_VEL_TYPE_SPEC), linkDefault), descriptor: descriptor(rcl, CMD_VEL_TYPE_SPEC) };
}

/** The declared cmd_vel_type as a message type, or a ConfigError naming the value and the choices. */
export function cmdVelTypeFrom(value: unknown): CmdVelType {
  if (isCmdVelType(value)) return value;
  throw new ConfigError(`ROS parameter ${CMD_VEL_TYPE_PARAMETER}: '${String(value)}' is not a cmd_vel type (${CMD_VEL_TYPES.join(' or ')})`);
}
