// rclnodejs without ROS 2, for the link's and the service's tests: rclnodejs's own pure-JavaScript classes
// (Parameter, ParameterDescriptor, ranges from lib/parameter.js; QoS from lib/qos.js) and a stand-in Node that
// records what is created and published and checks parameters as rclnodejs 2.2.0's Node does (overrides replace
// declared values; descriptor type, range and read-only checks first, then the set-parameters callbacks). The
// rest of rclnodejs needs its native binding.
import type { Parameter, ParameterDescriptor } from 'rclnodejs';
import type { Rclnodejs, RosRuntime } from '../../src/links/ros2/loader.js';

type SetResult = { successful: boolean; reason: string | null };
type SetCallback = (parameters: Parameter[]) => SetResult;

export interface FakePublisher {
  type: string;
  topic: string;
  qos: unknown;
  messages: unknown[];
  publish(message: unknown): void;
}

export interface FakeSubscription {
  type: string;
  topic: string;
  qos: unknown;
  deliver(message: unknown): void;
}

export interface FakeService {
  type: string;
  name: string;
  destroyed: boolean;
  /** A call as a client makes it: resolves with the response the service sends. */
  call(request?: object): Promise<unknown>;
}

export class FakeNode {
  readonly publishers: FakePublisher[] = [];
  readonly subscriptions: FakeSubscription[] = [];
  readonly services: FakeService[] = [];
  readonly destroyedPublishers: FakePublisher[] = [];
  private readonly parameters = new Map<string, Parameter>();
  private readonly descriptors = new Map<string, ParameterDescriptor>();
  private readonly callbacks: SetCallback[] = [];
  spinning = false;
  destroyed = false;

  constructor(
    readonly nodeName: string,
    readonly namespace: string,
    private readonly ros: FakeRos,
  ) {}

  getFullyQualifiedName(): string {
    return `${this.namespace === '/' ? '' : this.namespace}/${this.nodeName}`;
  }

  createPublisher(type: string, topic: string, options?: { qos?: unknown }): FakePublisher {
    const p: FakePublisher = { type, topic, qos: options?.qos, messages: [], publish: (m) => p.messages.push(structuredClone(m)) };
    this.publishers.push(p);
    return p;
  }

  createSubscription(type: string, topic: string, options: { qos?: unknown }, callback: (msg: unknown) => void): FakeSubscription {
    const s: FakeSubscription = { type, topic, qos: options.qos, deliver: callback };
    this.subscriptions.push(s);
    return s;
  }

  createService(type: string, name: string, callback: (request: object, response: { send(answer: unknown): void }) => void): FakeService {
    const s: FakeService = {
      type,
      name,
      destroyed: false,
      call: (request = {}) => new Promise((resolve) => callback(request, { send: resolve })),
    };
    this.services.push(s);
    return s;
  }

  destroyService(s: FakeService): void {
    s.destroyed = true;
  }

  destroyPublisher(p: FakePublisher): void {
    this.destroyedPublishers.push(p);
  }

  addOnSetParametersCallback(callback: SetCallback): void {
    this.callbacks.push(callback);
  }

  declareParameter(parameter: Parameter, descriptor: ParameterDescriptor): Parameter {
    return this.declareParameters([parameter], [descriptor])[0]!;
  }

  /** As rclnodejs: an override (FakeRos.overrides, i.e. --ros-args) replaces the value; a refusal throws its reason. */
  declareParameters(parameters: Parameter[], descriptors: ParameterDescriptor[]): Parameter[] {
    const effective = parameters.map((p) => this.ros.overrides.get(p.name) ?? p);
    descriptors.forEach((d) => {
      d.validate();
      this.descriptors.set(d.name, d);
    });
    const result = this.setAtomically(effective, true);
    if (!result.successful) {
      for (const d of descriptors) this.descriptors.delete(d.name);
      throw new Error(result.reason ?? 'refused');
    }
    return effective;
  }

  setParameters(parameters: Parameter[]): SetResult[] {
    return parameters.map((p) => this.setAtomically([p], false));
  }

  setParametersAtomically(parameters: Parameter[]): SetResult {
    return this.setAtomically(parameters, false);
  }

  private setAtomically(parameters: Parameter[], declaring: boolean): SetResult {
    for (const p of parameters) {
      const d = this.descriptors.get(p.name);
      if (!d) return { successful: false, reason: `Parameter ${p.name} has not been declared` };
      if (!declaring && d.readOnly) return { successful: false, reason: `Parameter ${p.name} is readonly` };
      try {
        d.validateParameter(p);
      } catch {
        return { successful: false, reason: `Parameter ${p.name} does not  readonly` }; // rclnodejs 2.2.0's words
      }
    }
    for (const callback of this.callbacks) {
      const r = callback(parameters);
      if (!r.successful) return r;
    }
    for (const p of parameters) this.parameters.set(p.name, p);
    return { successful: true, reason: null };
  }

  hasParameter(name: string): boolean {
    return this.parameters.has(name);
  }

  getParameter(name: string): Parameter {
    const p = this.parameters.get(name);
    if (!p) throw new Error(`parameter ${name} not declared`);
    return p;
  }

  getClock(): { now(): { nanoseconds: bigint } } {
    return { now: () => ({ nanoseconds: BigInt(Math.round(this.ros.nowMs * 1e6)) }) };
  }

  spin(): void {
    this.spinning = true;
  }

  destroy(): void {
    this.destroyed = true;
  }
}

type ParameterModule = Pick<Rclnodejs, 'Parameter' | 'ParameterDescriptor' | 'FloatingPointRange' | 'IntegerRange'> & { ParameterType: Record<string, number> };

export class FakeRos {
  readonly nodes: FakeNode[] = [];
  /** Parameter values given as --ros-args would give them (Parameter objects of lib/parameter.js). */
  readonly overrides = new Map<string, Parameter>();
  /** The nodes' clock (ROS time), ms. */
  nowMs = 1_700_000_000_000;
  acquired = 0;
  released = 0;
  readonly rcl: Rclnodejs;

  private constructor(readonly classes: ParameterModule, qos: unknown) {
    const ros = this;
    function Node(this: unknown, name: string, namespace = '/'): FakeNode {
      const node = new FakeNode(name, namespace, ros);
      ros.nodes.push(node);
      return node;
    }
    this.rcl = { ...classes, QoS: qos, Node } as unknown as Rclnodejs;
  }

  /** rclnodejs's pure-JavaScript parts, or why they cannot be loaded. */
  static async load(): Promise<{ ok: true; ros: FakeRos } | { ok: false; reason: string }> {
    // Variable specifiers: the package exports lib/*.js without type declarations.
    const parameterJs: string = 'rclnodejs/lib/parameter.js';
    const qosJs: string = 'rclnodejs/lib/qos.js';
    try {
      const classes = (await import(parameterJs)) as ParameterModule;
      const qos = ((await import(qosJs)) as { default: unknown }).default;
      return { ok: true, ros: new FakeRos(classes, qos) };
    } catch (err) {
      return { ok: false, reason: `rclnodejs's lib/parameter.js or lib/qos.js cannot be loaded: ${(err as Error).message}` };
    }
  }

  readonly runtime: RosRuntime = {
    acquire: async () => {
      this.acquired++;
      return this.rcl;
    },
    release: async () => {
      this.released++;
    },
  };

  /** Another stand-in on the same classes, with no nodes or overrides yet. */
  fresh(): FakeRos {
    return new FakeRos(this.classes, (this.rcl as unknown as { QoS: unknown }).QoS);
  }

  /** A Parameter of rclnodejs (doubles as numbers, integers as bigint). */
  parameter(name: string, type: 'double' | 'integer' | 'string', value: number | bigint | string): Parameter {
    const t = { double: 'PARAMETER_DOUBLE', integer: 'PARAMETER_INTEGER', string: 'PARAMETER_STRING' }[type];
    return new this.classes.Parameter(name, this.classes.ParameterType[t] as never, value);
  }

  /** A parameter value as `--ros-args -p name:=value` gives it: it replaces the declared value. */
  override(name: string, type: 'double' | 'integer' | 'string', value: number | bigint | string): void {
    this.overrides.set(name, this.parameter(name, type, value));
  }
}
