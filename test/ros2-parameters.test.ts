// The node's parameter declarations through rclnodejs's own Parameter, ParameterDescriptor and range classes,
// without ROS 2: rclnodejs checks every declared value, every --ros-args override and every set request against
// the descriptor before swarmguard's callback sees it, so a range rclnodejs reads differently from params.ts
// refuses values swarmguard means to accept (and a refused default aborts the run at start).
//
// The classes come from rclnodejs/lib/parameter.js, plain JavaScript: the top-level module loads rclnodejs's
// native binding (and compiles one where there is none), which needs a sourced ROS 2.
import type { Range } from 'rclnodejs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MONITOR } from '../src/monitor/monitor.js';
import { DEFAULT_SAFETY } from '../src/runtime/safety.js';
import { Ros2LinkSchema } from '../src/links/ros2/config.js';
import { ConfigError } from '../src/core/config-file.js';
import { cmdVelTypeDeclaration, cmdVelTypeFrom, parameterDeclarations, rosParameterType, type ParameterClasses } from '../src/links/ros2/declarations.js';
import { parameterSpecs, ROS_PARAMETER_TYPE, tunablesFrom, validateParameterUpdate, type ParamSpec } from '../src/links/ros2/params.js';

type DeclaredSpec = ReturnType<typeof parameterSpecs>[number];
type RclParameterModule = ParameterClasses & { ParameterType: Record<string, number> };

async function loadRclParameterClasses(): Promise<{ ok: true; rcl: RclParameterModule } | { ok: false; reason: string }> {
  // A variable specifier: the package exports lib/*.js without type declarations.
  const specifier: string = 'rclnodejs/lib/parameter.js';
  try {
    return { ok: true, rcl: (await import(specifier)) as RclParameterModule };
  } catch (err) {
    return { ok: false, reason: `rclnodejs/lib/parameter.js cannot be loaded: ${(err as Error).message}` };
  }
}

const loaded = await loadRclParameterClasses();
const title = 'ROS 2 parameter declarations checked by rclnodejs’s own classes';

/** The values a launch file without safety, monitor or telemetry settings runs with. */
const defaults = () =>
  tunablesFrom(0.1, Ros2LinkSchema.parse({ kind: 'ros2' }).telemetryRateHz, { ...DEFAULT_SAFETY }, { ...DEFAULT_MONITOR, consistency: { ...DEFAULT_MONITOR.consistency } });

describe.skipIf(!loaded.ok)(loaded.ok ? title : `${title} (skipped: ${loaded.reason})`, () => {
  const rcl = (loaded as { rcl: RclParameterModule }).rcl;

  /** rclnodejs's verdict on one value of a declared parameter: null if accepted, else its error message. */
  function rclnodejsRefusal(spec: DeclaredSpec, value: number | bigint | string): string | null {
    const { descriptors } = parameterDeclarations(rcl, [spec], defaults());
    try {
      descriptors[0]!.validate();
      descriptors[0]!.validateParameter(new rcl.Parameter(spec.name, rosParameterType(spec), value));
      return null;
    } catch (err) {
      return (err as Error).message;
    }
  }

  const typed = (spec: ParamSpec, v: number) => (spec.kind === 'integer' ? BigInt(v) : v);

  it('uses rcl_interfaces’ parameter type values', () => {
    expect(rcl.ParameterType.PARAMETER_INTEGER).toBe(ROS_PARAMETER_TYPE.integer);
    expect(rcl.ParameterType.PARAMETER_DOUBLE).toBe(ROS_PARAMETER_TYPE.double);
    expect(rcl.ParameterType.PARAMETER_STRING).toBe(ROS_PARAMETER_TYPE.string);
  });

  it('every default value is accepted when declared, in and outside trial mode', () => {
    const t = defaults();
    // The defaults that sit off a whole-number grid from their lower bound are the ones a step of 1 refuses.
    expect(t).toMatchObject({ telemetryRateHz: 5, maxPoseAgeMs: 300, lookaheadS: 0.5, wallMarginM: 0.01, flagAt: 0.75, clearAt: 0.28, injectSeconds: 10 });
    for (const trialMode of [false, true]) {
      const specs = parameterSpecs(trialMode);
      const { parameters, descriptors } = parameterDeclarations(rcl, specs, t);
      expect(parameters.map((p) => p.name)).toEqual(specs.map((s) => s.name));
      const refused = descriptors.flatMap((d, i) => {
        try {
          d.validate();
          d.validateParameter(parameters[i]!);
          return [];
        } catch (err) {
          return [`${d.name} = ${String(parameters[i]!.value)}: ${(err as Error).message}`];
        }
      });
      expect(refused).toEqual([]);
    }
  });

  it('every value within a range is accepted, its edges included; values outside are refused, as params.ts decides', () => {
    const ranged = parameterSpecs(true).filter((s) => s.range);
    expect(ranged.map((s) => s.name)).toContain('monitor.flag_at');
    for (const spec of ranged) {
      const { from, to } = spec.range!;
      const span = to - from;
      const inside = [from, to, from + span * 0.001, from + span * 0.123456, from + span / 2, from + span * 0.999, to - span * 1e-9];
      for (const raw of inside) {
        const v = spec.kind === 'integer' ? Math.round(raw) : raw;
        expect({ name: spec.name, value: v, refusal: rclnodejsRefusal(spec, typed(spec, v)) }).toEqual({ name: spec.name, value: v, refusal: null });
      }
      const outside = spec.kind === 'integer' ? [from - 1, to + 1] : [from - Math.max(span * 1e-3, 1e-3), to + Math.max(span * 1e-3, 1e-3), -1e9, 1e12];
      for (const v of outside) {
        expect({ name: spec.name, value: v, refused: rclnodejsRefusal(spec, typed(spec, v)) !== null }).toEqual({ name: spec.name, value: v, refused: true });
        // swarmguard's own check refuses the same values, with its own reason.
        expect(validateParameterUpdate(defaults(), [{ name: spec.name, value: v }], true)).toMatchObject({ ok: false, reason: expect.stringContaining(`${spec.name} must be within`) });
      }
    }
  });

  it('doubles continuous (step 0), integers every integer; describe shows the range as additional constraints', () => {
    const { descriptors } = parameterDeclarations(rcl, parameterSpecs(true), defaults());
    const byName = new Map(descriptors.map((d) => [d.name, d]));
    // The declarations name the getter rangeConstraint; rclnodejs's JavaScript calls it range.
    const range = (name: string) => (byName.get(name) as unknown as { range: Range | null }).range;
    expect(range('monitor.flag_at')).toMatchObject({ fromValue: 0, toValue: 1, step: 0 });
    expect(range('monitor.flag_ticks')).toMatchObject({ fromValue: 1n, toValue: 1_000_000n, step: 1n });
    expect(range('control_period_s')).toBe(null);
    expect(byName.get('control_period_s')!.readOnly).toBe(true);
    expect(range('inject.robot')).toBe(null);
    // What describe_parameters answers with (rclnodejs 2.2.0 leaves the range itself out of it).
    expect(byName.get('monitor.clear_at')!.toMessage()).toMatchObject({ name: 'monitor.clear_at', read_only: false, additional_constraints: 'from 0 to 1; below monitor.flag_at' });
    expect(byName.get('telemetry_rate_hz')!.toMessage()).toMatchObject({ additional_constraints: 'from 0.1 to 100' });
    expect(byName.get('inject.robot')!.toMessage()).toMatchObject({ additional_constraints: '' });
    // rclnodejs's own default step (1) is the trap: 0.5 in [0, 1] would be refused with it.
    expect(new rcl.FloatingPointRange(0, 1).inRange(0.5)).toBe(false);
  });

  it('cmd_vel_type: read-only, the launch file’s choice as its value, either message type accepted, anything else refused by name', () => {
    const { parameter, descriptor } = cmdVelTypeDeclaration(rcl, 'geometry_msgs/msg/Twist');
    expect(parameter).toMatchObject({ name: 'cmd_vel_type', value: 'geometry_msgs/msg/Twist' });
    expect(() => descriptor.validateParameter(parameter)).not.toThrow();
    expect(() => descriptor.validateParameter(new rcl.Parameter('cmd_vel_type', parameter.type, 'geometry_msgs/msg/TwistStamped'))).not.toThrow();
    expect(descriptor.toMessage()).toMatchObject({ read_only: true, additional_constraints: 'geometry_msgs/msg/Twist or geometry_msgs/msg/TwistStamped' });
    expect(cmdVelTypeFrom('geometry_msgs/msg/TwistStamped')).toBe('geometry_msgs/msg/TwistStamped');
    expect(() => cmdVelTypeFrom('TwistStamped')).toThrow(new ConfigError("ROS parameter cmd_vel_type: 'TwistStamped' is not a cmd_vel type (geometry_msgs/msg/Twist or geometry_msgs/msg/TwistStamped)"));
  });
});
